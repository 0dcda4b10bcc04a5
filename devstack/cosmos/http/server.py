"""The aiohttp application: one catch-all route that authenticates, dispatches by path and maps core errors."""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from devstack.cosmos.core.account import Account
from devstack.cosmos.core.documents import MAX_ITEM_BYTES
from devstack.cosmos.core.errors import BadRequest, CosmosError, TooLarge
from devstack.cosmos.http import items, resources
from devstack.cosmos.http.auth import MasterKeyAuth, Unauthorized
from devstack.cosmos.http.context import RequestContext
from devstack.cosmos.http.errors import error_response, from_core_error
from devstack.cosmos.http.paths import ResourcePath

log = logging.getLogger(__name__)

Handler = Callable[[RequestContext], web.Response]

# Keyed by (resource kinds along the path, whether the path ends in a feed).
_ROUTES: dict[tuple[tuple[str, ...], bool], Handler] = {
    ((), False): resources.read_account,
    (("dbs",), True): resources.databases_feed,
    (("dbs",), False): resources.database,
    (("dbs", "colls"), True): resources.containers_feed,
    (("dbs", "colls"), False): resources.container,
    (("dbs", "colls", "pkranges"), True): resources.partition_key_ranges,
    (("dbs", "colls", "docs"), True): items.documents_feed,
    (("dbs", "colls", "docs"), False): items.document,
    (("dbs", "colls", "operations"), False): items.delete_partition,
}

#: Read bodies a little past the item limit so an oversized item gets Cosmos DB's 413, not aiohttp's.
_CLIENT_MAX_SIZE = MAX_ITEM_BYTES + 1024 * 1024


def create_app(account: Account, auth: MasterKeyAuth) -> web.Application:
    """The REST application over ``account``."""
    app = web.Application(client_max_size=_CLIENT_MAX_SIZE, middlewares=[_activity_id])
    app["account"], app["auth"] = account, auth
    app.router.add_route("*", "/{tail:.*}", _dispatch)
    return app


@web.middleware
async def _activity_id(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                       ) -> web.StreamResponse:
    """Echo the client's activity id and report a nominal request charge on every reply."""
    response = await handler(request)
    response.headers["x-ms-activity-id"] = request.headers.get("x-ms-activity-id", "")
    response.headers.setdefault("x-ms-request-charge", "1")
    return response


async def _dispatch(request: web.Request) -> web.StreamResponse:
    account: Account = request.app["account"]
    try:
        path = ResourcePath.parse(request.raw_path)
        handler = _route(path)  # an unsupported path is a 400 naming it, not a puzzling 401
        request.app["auth"].verify(request.method, path, request.headers, account.clock.now())
        body = await _read_body(request)
        log.debug("%s %s", request.method, request.raw_path)
        return handler(RequestContext(account, request.method, path, request.headers, body, _base_url(request)))
    except Unauthorized as exc:
        return error_response(401, "Unauthorized", str(exc))
    except CosmosError as exc:
        return from_core_error(exc)
    except Exception:  # never a crash for a request: log it and answer 500 with the reason
        log.exception("unexpected error handling %s %s", request.method, request.path)
        return error_response(500, "InternalServerError", "unexpected emulator error; see the server log")


def _route(path: ResourcePath) -> Handler:
    handler = _ROUTES.get((path.kinds(), path.is_feed))
    if handler is None:
        raise BadRequest(f"unsupported resource path /{'/'.join(path.segments)}")
    return handler


async def _read_body(request: web.Request) -> bytes:
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise TooLarge(f"the request is larger than the {MAX_ITEM_BYTES}-byte item limit") from None
    if len(body) > MAX_ITEM_BYTES + 64 * 1024:  # room for a batch's envelope around a 2 MB item
        raise TooLarge(f"the request is larger than the {MAX_ITEM_BYTES}-byte item limit")
    return body


def _base_url(request: web.Request) -> str:
    # Advertise the address the client used, so the SDK keeps talking to this very server.
    return f"{request.scheme}://{request.host}/"
