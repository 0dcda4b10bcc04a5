"""Rejected: the HTTP function's return annotation is dict, which the http output binding cannot send."""
from __future__ import annotations

import azure.functions as func

app = func.FunctionApp()


@app.route(route="deliveries/{id}", methods=["GET"])
def get_delivery(req: func.HttpRequest) -> dict:
    """Return a delivery as a dict (the worker cannot convert it)."""
    return {"id": req.route_params["id"]}
