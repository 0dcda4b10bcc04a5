"""The Functions edge of HTTP: a handler's ``HttpResult`` as a ``func.HttpResponse``."""
from __future__ import annotations

import json

import azure.functions as func

from core.http import HttpResult


def to_response(result: HttpResult) -> func.HttpResponse:
    """The ``func.HttpResponse`` for a result."""
    body = json.dumps(result.body) if result.body is not None else None
    return func.HttpResponse(body=body, status_code=result.status, headers=result.headers,
                             mimetype=result.content_type, charset="utf-8")
