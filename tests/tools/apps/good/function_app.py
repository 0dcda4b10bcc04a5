"""Sample app the real indexer accepts: the binding shapes this project uses, registered from a Blueprint."""
from __future__ import annotations

import azure.functions as func
from blueprint import bp

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
app.register_functions(bp)
