"""Handlers for the account, databases, containers and partition key ranges."""
from __future__ import annotations

import json

from aiohttp import web

from devstack.cosmos.core.errors import BadRequest
from devstack.cosmos.core.queries import parse_query_body
from devstack.cosmos.core.records import ContainerRecord
from devstack.cosmos.http.context import RequestContext, feed_body, json_response
from devstack.cosmos.query import QueryError, execute_query, parse_query

# The whole key space as one partition key range: the SDK then sends every cross-partition query
# once, to range "0", and this server runs it completely (azure/cosmos/_routing/).
FULL_RANGE = {"min": "", "max": "FF", "isMinInclusive": True, "isMaxInclusive": False}
_PKRANGES_ETAG = '"pkranges-1"'


def read_account(ctx: RequestContext) -> web.Response:
    """``GET /``: the account, advertising this server's own URL as its only (read and write) region."""
    if ctx.method != "GET":
        return _not_allowed(ctx)
    location = [{"name": "devstack", "databaseAccountEndpoint": ctx.base_url}]
    return json_response({
        "_self": "", "id": "devstack", "_rid": "devstack", "media": "//media/", "addresses": "//addresses/",
        "_dbs": "//dbs/", "writableLocations": location, "readableLocations": location,
        "enableMultipleWriteLocations": False,
        "userReplicationPolicy": {"asyncReplication": False, "minReplicaSetSize": 1, "maxReplicasetSize": 1},
        "userConsistencyPolicy": {"defaultConsistencyLevel": "Session"},
        "systemReplicationPolicy": {"minReplicaSetSize": 1, "maxReplicasetSize": 1},
        "readPolicy": {"primaryReadCoefficient": 1, "secondaryReadCoefficient": 1},
    })


def databases_feed(ctx: RequestContext) -> web.Response:
    """``/dbs``: list (GET), query or create (POST)."""
    catalog = ctx.account.catalog
    if ctx.method == "GET":
        return json_response(_feed("", "Databases", [d.to_json() for d in catalog.list_databases()]))
    if ctx.method == "POST" and ctx.flag("x-ms-documentdb-isquery"):
        return json_response(_feed("", "Databases", _query([d.to_json() for d in catalog.list_databases()], ctx)))
    if ctx.method == "POST":
        return json_response(catalog.create_database(ctx.json()).to_json(), status=201)
    return _not_allowed(ctx)


def database(ctx: RequestContext) -> web.Response:
    """``/dbs/{db}``: read (GET) or delete (DELETE)."""
    database_id = ctx.account.database_id(ctx.path.segments[1], ctx.by_rid)
    if ctx.method == "GET":
        return json_response(ctx.account.catalog.database(database_id).to_json())
    if ctx.method == "DELETE":
        ctx.account.catalog.delete_database(database_id)
        return web.Response(status=204)
    return _not_allowed(ctx)


def containers_feed(ctx: RequestContext) -> web.Response:
    """``/dbs/{db}/colls``: list (GET), query or create (POST)."""
    catalog = ctx.account.catalog
    database_id = ctx.account.database_id(ctx.path.segments[1], ctx.by_rid)
    rid = catalog.database(database_id).rid
    if ctx.method == "GET":
        return json_response(_feed(rid, "DocumentCollections",
                                   [c.to_json() for c in catalog.list_containers(database_id)]))
    if ctx.method == "POST" and ctx.flag("x-ms-documentdb-isquery"):
        found = _query([c.to_json() for c in catalog.list_containers(database_id)], ctx)
        return json_response(_feed(rid, "DocumentCollections", found))
    if ctx.method == "POST":
        return json_response(catalog.create_container(database_id, ctx.json()).to_json(), status=201)
    return _not_allowed(ctx)


def container(ctx: RequestContext) -> web.Response:
    """``/dbs/{db}/colls/{coll}``: read (GET), replace (PUT) or delete (DELETE)."""
    record = resolve_container(ctx)
    if ctx.method == "GET":
        return json_response(record.to_json())
    if ctx.method == "PUT":
        return json_response(ctx.account.catalog.replace_container(record.database_id, record.id,
                                                                   ctx.json()).to_json())
    if ctx.method == "DELETE":
        ctx.account.catalog.delete_container(record.database_id, record.id)
        return web.Response(status=204)
    return _not_allowed(ctx)


def partition_key_ranges(ctx: RequestContext) -> web.Response:
    """``/dbs/{db}/colls/{coll}/pkranges``: one range covering every key.

    The SDK reads this as an incremental feed and repeats the request with If-None-Match until it gets a
    literal 304, which ends its loop; it must not see x-ms-continuation here (it would keep paging).
    """
    record = resolve_container(ctx)
    if ctx.method != "GET":
        return _not_allowed(ctx)
    if ctx.header("if-none-match"):
        return web.Response(status=304, headers={"etag": _PKRANGES_ETAG})
    pk_range = {"id": "0", "_rid": record.rid, "_self": f"{record.self_link}pkranges/0/", "_etag": _PKRANGES_ETAG,
                "minInclusive": "", "maxExclusive": "FF", "ridPrefix": 0, "throughputFraction": 1.0,
                "status": "online", "parents": [], "_ts": record.ts, "_lsn": 1}
    body = feed_body(record.rid, "PartitionKeyRanges", [json.dumps(pk_range)])
    return json_response(body, headers={"etag": _PKRANGES_ETAG, "x-ms-item-count": "1"})


def resolve_container(ctx: RequestContext) -> ContainerRecord:
    """The container named by segments 1 and 3 of the path."""
    database_id = ctx.account.database_id(ctx.path.segments[1], ctx.by_rid)
    return ctx.account.container(database_id, ctx.path.segments[3], ctx.by_rid)


def _feed(rid: str, key: str, resources: list[dict]) -> str:
    return feed_body(rid, key, [json.dumps(r, ensure_ascii=False) for r in resources])


def _query(resources: list[dict], ctx: RequestContext) -> list[dict]:
    text, parameters = parse_query_body(ctx.json())
    try:
        return execute_query(parse_query(text), resources, parameters)
    except QueryError as exc:
        raise BadRequest(f"query not supported or invalid: {exc}") from None


def _not_allowed(ctx: RequestContext) -> web.Response:
    raise BadRequest(f"{ctx.method} is not supported on /{'/'.join(ctx.path.segments)}")
