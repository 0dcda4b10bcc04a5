"""Handlers under ``/dbs/{db}/colls/{coll}/docs``: items, queries, query plans, batches, change feed."""
from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from devstack.cosmos.core.batch import BatchOutcome
from devstack.cosmos.core.errors import BadRequest, CrossPartitionQueryNotServable
from devstack.cosmos.core.items import ItemResult
from devstack.cosmos.core.partition_keys import parse_header
from devstack.cosmos.core.queries import QueryRequest, check_query, parse_query_body
from devstack.cosmos.core.query_plan import query_plan
from devstack.cosmos.core.records import ContainerRecord, Scope
from devstack.cosmos.http.context import RequestContext, feed_body, json_response
from devstack.cosmos.http.errors import status_of
from devstack.cosmos.http.resources import FULL_RANGE, resolve_container

PK_HEADER = "x-ms-documentdb-partitionkey"
_SUCCESS = {"create": 201, "upsert": 200, "read": 200, "replace": 200, "delete": 204, "patch": 200}


def documents_feed(ctx: RequestContext) -> web.Response:
    """``POST .../docs`` (create, upsert, query, query plan, batch) and ``GET .../docs`` (read feed, change feed)."""
    if ctx.method == "GET":
        if ctx.header("a-im"):
            return _change_feed(ctx)
        return _query(ctx, read_feed=True)
    if ctx.method != "POST":
        raise BadRequest(f"{ctx.method} is not supported on a documents feed")
    if ctx.flag("x-ms-cosmos-is-query-plan-request"):
        return _query_plan(ctx)
    if ctx.flag("x-ms-documentdb-isquery"):
        return _query(ctx, read_feed=False)
    if ctx.flag("x-ms-cosmos-is-batch-request"):
        return _batch(ctx)
    container = resolve_container(ctx)
    items = ctx.account.items
    if ctx.flag("x-ms-documentdb-is-upsert"):
        result = items.upsert(container, ctx.json(), ctx.header(PK_HEADER), ctx.header("if-match"),
                              ctx.header("if-none-match"))
        return _item_response(result, 201 if result.created else 200)
    return _item_response(items.create(container, ctx.json(), ctx.header(PK_HEADER)), 201)


def document(ctx: RequestContext) -> web.Response:
    """``.../docs/{id}``: read (GET), replace (PUT), patch (PATCH), delete (DELETE)."""
    container = resolve_container(ctx)
    item_id = ctx.account.item_id(container, ctx.path.segments[5], ctx.by_rid)
    items, pk, if_match = ctx.account.items, ctx.header(PK_HEADER), ctx.header("if-match")
    if ctx.method == "GET":
        result = items.read(container, item_id, pk)
        if ctx.header("if-none-match") == result.etag:
            return web.Response(status=304, headers={"etag": result.etag})
        return _item_response(result, 200)
    if ctx.method == "PUT":
        return _item_response(items.replace(container, item_id, ctx.json(), pk, if_match), 200)
    if ctx.method == "PATCH":
        return _item_response(items.patch(container, item_id, ctx.json(), pk, if_match), 200)
    if ctx.method == "DELETE":
        items.delete(container, item_id, pk, if_match)
        return web.Response(status=204)
    raise BadRequest(f"{ctx.method} is not supported on an item")


def delete_partition(ctx: RequestContext) -> web.Response:
    """``POST .../operations/partitionkeydelete``: delete every item with the partition key in the header."""
    if ctx.method != "POST":
        raise BadRequest(f"{ctx.method} is not supported on partitionkeydelete")
    container = resolve_container(ctx)
    ctx.account.items.delete_partition(container, ctx.header(PK_HEADER))
    return web.Response(status=200)


def _item_response(result: ItemResult, status: int) -> web.Response:
    return json_response(result.body, status=status, headers={"etag": result.etag})


def _query(ctx: RequestContext, read_feed: bool) -> web.Response:
    """A query (or a read feed, i.e. every item) over one partition or the whole container."""
    container = resolve_container(ctx)
    pk_header = ctx.header(PK_HEADER)
    whole_container = (ctx.flag("x-ms-documentdb-query-enablecrosspartition")
                       or ctx.header("x-ms-documentdb-partitionkeyrangeid") is not None)
    parameters: dict[str, Any]
    if read_feed:
        text, parameters = None, {}
    else:
        text, parameters = parse_query_body(ctx.json())
        check_query(text)
        if pk_header is None and not whole_container and not ctx.header("x-ms-continuation"):
            # Without a partition key and without the cross-partition flag the service answers 1004;
            # the SDK then fetches the query plan and the key ranges and re-sends the query per range.
            raise CrossPartitionQueryNotServable("the query spans partitions; enable cross-partition query")
    request = QueryRequest(text=text, parameters=parameters, scope=_scope(ctx, container),
                           max_items=ctx.int_header("x-ms-max-item-count"),
                           continuation=ctx.header("x-ms-continuation"))
    page = ctx.account.queries.page(container, request)
    headers = {"x-ms-item-count": str(len(page.documents))}
    if page.continuation:
        headers["x-ms-continuation"] = page.continuation
    return json_response(feed_body(container.rid, "Documents", page.documents), headers=headers)


def _query_plan(ctx: RequestContext) -> web.Response:
    """The query plan the SDK fetches before a query without partition key or cross-partition flag."""
    resolve_container(ctx)
    text, _ = parse_query_body(ctx.json())
    check_query(text)
    return json_response(query_plan(text, FULL_RANGE))


def _batch(ctx: RequestContext) -> web.Response:
    """Transactional batch: 200 with every result, or 207 with the failure and 424 for the rest."""
    container = resolve_container(ctx)
    outcomes = ctx.account.batch(container, ctx.header(PK_HEADER), ctx.json())
    failed = any(o.error is not None for o in outcomes)
    return json_response([_batch_result(o) for o in outcomes], status=207 if failed else 200)


def _batch_result(outcome: BatchOutcome) -> dict:
    if outcome.skipped:
        return {"statusCode": 424, "requestCharge": 0.0}
    if outcome.error is not None:
        return {"statusCode": status_of(outcome.error), "requestCharge": 0.0, "message": outcome.error.message}
    status = _SUCCESS.get(outcome.operation, 200)
    result: dict[str, Any] = {"statusCode": status, "requestCharge": 1.0}
    if outcome.operation == "upsert" and outcome.result and outcome.result.created:
        result["statusCode"] = 201
    if outcome.result is not None:
        result["eTag"] = outcome.result.etag
        result["resourceBody"] = json.loads(outcome.result.body)
    return result


def _change_feed(ctx: RequestContext) -> web.Response:
    """Change feed page: 200 with changed items and the continuation etag, 304 when nothing changed."""
    container = resolve_container(ctx)
    page = ctx.account.changes(container, ctx.header("if-none-match"), ctx.header("if-modified-since"),
                               _scope(ctx, container), ctx.int_header("x-ms-max-item-count"))
    if not page.documents:
        return web.Response(status=304, headers={"etag": page.etag})
    headers = {"etag": page.etag, "x-ms-item-count": str(len(page.documents))}
    return json_response(feed_body(container.rid, "Documents", page.documents), headers=headers)


def _scope(ctx: RequestContext, container: ContainerRecord) -> Scope:
    """The items a feed request covers: the partition key header and/or an EPK sub-range.

    The SDK narrows change feeds by partition key, and feed-range queries, with x-ms-start-epk /
    x-ms-end-epk (azure/cosmos/_change_feed/change_feed_state.py set_pk_range_id_request_headers).
    """
    pk_header = ctx.header(PK_HEADER)
    start, end = ctx.header("x-ms-start-epk"), ctx.header("x-ms-end-epk")
    epk_range = (start.upper(), end.upper() or "FF") if start is not None and end is not None else None
    return Scope(parse_header(pk_header, container.partition_key) if pk_header else None, epk_range)
