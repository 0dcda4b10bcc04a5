"""`python -m devstack status <deliveryId>`."""
from __future__ import annotations

from devstack.demo.cli import status_main as main

__all__ = ["main"]
