"""Map core errors to Cosmos DB REST error responses (status, x-ms-substatus, ``{"code", "message"}`` body).

None of these statuses is one the SDK retries (429, 449, 410, 503...), so a bad request fails fast.
"""
from __future__ import annotations

import json

from aiohttp import web

from devstack.cosmos.core.errors import (
    BadRequest,
    Conflict,
    CosmosError,
    CrossPartitionQueryNotServable,
    NotFound,
    PreconditionFailed,
    TooLarge,
)

_STATUS: dict[type[CosmosError], int] = {
    BadRequest: 400, CrossPartitionQueryNotServable: 400, NotFound: 404, Conflict: 409,
    PreconditionFailed: 412, TooLarge: 413,
}

#: x-ms-substatus 1004: "cross-partition query not servable"; the SDK then fetches a query plan
#: (azure/cosmos/http_constants.py SubStatusCodes.CROSS_PARTITION_QUERY_NOT_SERVABLE).
_SUBSTATUS: dict[type[CosmosError], int] = {CrossPartitionQueryNotServable: 1004}


def status_of(error: CosmosError) -> int:
    """The HTTP status a core error maps to."""
    return _STATUS.get(type(error), 500)


def error_response(status: int, code: str, message: str, substatus: int | None = None) -> web.Response:
    """A JSON error body the SDK turns into CosmosHttpResponseError."""
    headers = {"x-ms-substatus": str(substatus)} if substatus is not None else {}
    body = json.dumps({"code": code, "message": message})
    return web.Response(status=status, text=body, content_type="application/json", headers=headers)


def from_core_error(error: CosmosError) -> web.Response:
    """The response for a core error."""
    return error_response(status_of(error), error.code, error.message, _SUBSTATUS.get(type(error)))
