"""Rejected at import: the app imports a module that is not installed (not in requirements.txt)."""
from __future__ import annotations

import azure.functions as func
import drone_telemetry_sdk  # noqa: F401 - deliberately missing

app = func.FunctionApp()
