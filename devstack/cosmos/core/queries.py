"""Running SQL queries over a container and paging the results.

Paging scheme: the whole query is evaluated once, at the first page, over a consistent view of the
container (the server handles one request at a time). The result list stays server-side, immutable, as a
*cursor* bound to the container, query text, parameters and partition scope; a continuation token names a
position in it (``devstack-query:<cursor-id>:<offset>``, opaque to clients). So pages neither skip nor
repeat items however others write meanwhile, and a token is replayable: the same token always gives the
same page (an SDK retry, or a client resuming from a saved token). A cursor lives until it is idle
longer than ``cursor_ttl`` seconds or evicted by the caps on open cursors and on the bytes they hold
together (least recently used first). Bounds: a page stops before it would pass the documented 4 MB
response limit; one result must fit in a page; one cursor holds at most MAX_CURSOR_BYTES.
Tokens do not survive a restart: continuing with an unknown token is a 400 telling the client to restart
the query; a token used with another query, other parameters or another partition is a 400 too.
"""
from __future__ import annotations

import json
import re
import secrets
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from devstack.cosmos.core.documents import PAGE_CONTENT_BYTES
from devstack.cosmos.core.errors import BadRequest
from devstack.cosmos.core.ports import Clock, Store
from devstack.cosmos.core.records import ContainerRecord, Scope
from devstack.cosmos.query import QueryError, iterate_query, parse_query

#: Documented default page size when the client does not send x-ms-max-item-count.
DEFAULT_PAGE = 100
#: What one cursor may hold (the emulator's own bound: Azure streams results instead of keeping them);
#: a query whose results are larger is a 400 that says so.
MAX_CURSOR_BYTES = 32 * 1024 * 1024
#: What all open cursors may hold together; past it the least recently used are dropped.
MAX_HELD_BYTES = 128 * 1024 * 1024
_TOKEN_PREFIX = "devstack-query:"
#: A position in a cursor: ASCII digits only (str.isdigit also accepts '²', which int() refuses) and
#: few enough that int() never meets its 4,300-digit limit.
_OFFSET = re.compile(r"[0-9]{1,18}")


@dataclass
class _Cursor:
    """An evaluated result list and what it was evaluated for; only ``expires_at`` changes once stored."""

    container_rid: str
    query: str | None
    parameters: dict[str, Any]
    scope: Scope
    results: tuple[str, ...]
    sizes: tuple[int, ...]  # UTF-8 bytes of each result
    expires_at: float

    @property
    def held(self) -> int:
        """Bytes of results this cursor keeps."""
        return sum(self.sizes)


@dataclass(frozen=True)
class QueryPage:
    """One page: each result serialised as JSON text, and the token for the next page (None at the end)."""

    documents: list[str]
    continuation: str | None


@dataclass(frozen=True)
class QueryRequest:
    """A query as the client sent it, with its paging headers."""

    text: str | None  # None for a read feed (all items)
    parameters: dict[str, Any]
    scope: Scope
    max_items: int | None
    continuation: str | None


def parse_query_body(body: Any) -> tuple[str, dict[str, Any]]:
    """The query text and ``{"@name": value}`` parameters from ``{"query", "parameters"}``."""
    if isinstance(body, str):
        return body, {}
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        raise BadRequest("a query body must be a JSON object with a 'query' string")
    parameters: dict[str, Any] = {}
    if not isinstance(body.get("parameters") or [], list):
        raise BadRequest("query 'parameters' must be a list of {\"name\", \"value\"} objects")
    for parameter in body.get("parameters") or []:
        if not isinstance(parameter, dict) or not isinstance(parameter.get("name"), str):
            raise BadRequest("each query parameter must be an object with a 'name' and a 'value'")
        if not parameter["name"].startswith("@"):
            raise BadRequest(f"query parameter name {parameter['name']!r} must start with '@'")
        parameters[parameter["name"]] = parameter.get("value")
    return body["query"], parameters


def check_query(text: str) -> None:
    """Parse a query only to report syntax errors and unsupported features as a 400."""
    try:
        parse_query(text)
    except QueryError as exc:
        raise BadRequest(f"query not supported or invalid: {exc}") from None
    except RecursionError:
        raise BadRequest("query is nested too deeply") from None


class Queries:
    """Executes queries and keeps each result list as a cursor that its continuation tokens point into."""

    def __init__(self, store: Store, clock: Clock, cursor_ttl: float = 300.0, max_cursors: int = 1000,
                 max_cursor_bytes: int = MAX_CURSOR_BYTES, max_held_bytes: int = MAX_HELD_BYTES) -> None:
        self._store = store
        self._clock = clock
        self._cursor_ttl = cursor_ttl
        self._max_cursors = max_cursors
        self._max_cursor_bytes = max_cursor_bytes
        self._max_held_bytes = max_held_bytes
        self._cursors: OrderedDict[str, _Cursor] = OrderedDict()
        self._held = 0

    def page(self, container: ContainerRecord, request: QueryRequest) -> QueryPage:
        """The page of ``request``'s results at its continuation token (the first page without one)."""
        self._expire()
        if request.continuation:
            cursor_id, offset = _parse_token(request.continuation)
            cursor = self._cursor(cursor_id, container, request)
            if not 0 < offset < len(cursor.results):
                raise BadRequest("the continuation token is malformed; run the query again")
        else:
            cursor_id, offset = secrets.token_hex(16), 0
            results, sizes = self._evaluate(container, request)
            cursor = _Cursor(container.rid, request.text, request.parameters, request.scope, results, sizes, 0.0)
        documents = _take(cursor, offset, request.max_items)
        end = offset + len(documents)
        if end >= len(cursor.results):
            return QueryPage(documents, None)
        # Keep the cursor after its last page too: replaying any of its tokens must give the same page.
        cursor.expires_at = self._clock.now() + self._cursor_ttl
        self._keep(cursor_id, cursor)
        return QueryPage(documents, f"{_TOKEN_PREFIX}{cursor_id}:{end}")

    def _keep(self, cursor_id: str, cursor: _Cursor) -> None:
        if cursor_id not in self._cursors:
            self._held += cursor.held
        self._cursors[cursor_id] = cursor
        self._cursors.move_to_end(cursor_id)
        while len(self._cursors) > 1 and (len(self._cursors) > self._max_cursors
                                          or self._held > self._max_held_bytes):
            self._drop(next(iter(self._cursors)))

    def _drop(self, cursor_id: str) -> None:
        self._held -= self._cursors.pop(cursor_id).held

    def _cursor(self, cursor_id: str, container: ContainerRecord, request: QueryRequest) -> _Cursor:
        """The stored cursor a token names, checked against the request it is used with."""
        cursor = self._cursors.get(cursor_id)
        if cursor is None or cursor.container_rid != container.rid:
            raise BadRequest("the continuation token is unknown or has expired; run the query again")
        if cursor.query != request.text or cursor.parameters != request.parameters:
            raise BadRequest("the continuation token belongs to a different query or different query parameters")
        if cursor.scope != request.scope:
            raise BadRequest("the continuation token belongs to a different partition key or feed range "
                             "than this request's")
        return cursor

    def _evaluate(self, container: ContainerRecord, request: QueryRequest) -> tuple[tuple[str, ...], tuple[int, ...]]:
        """Every result as JSON text with its size in bytes, within the cursor and page limits."""
        stored = self._store.scan_items(container.rid, request.scope, self._clock.now())
        if request.text is None:  # a read feed: every item, as stored
            return self._collect((text, len(text.encode("utf-8"))) for text in stored)
        try:
            query = parse_query(request.text)
            results = iterate_query(query, (json.loads(text) for text in stored), request.parameters)
            # ASCII escapes: results may echo parameter strings, which need not be encodable text;
            # the text is then also its own size in bytes.
            return self._collect((text, len(text)) for text in map(_serialise, results))
        except QueryError as exc:
            raise BadRequest(f"query not supported or invalid: {exc}") from None
        except RecursionError:
            raise BadRequest("query is nested too deeply") from None

    def _collect(self, results: Iterator[tuple[str, int]]) -> tuple[tuple[str, ...], tuple[int, ...]]:
        texts: list[str] = []
        sizes: list[int] = []
        held = 0
        for text, size in results:
            if size + 1 > PAGE_CONTENT_BYTES:
                raise BadRequest(f"a query result of {size:,} bytes cannot fit in a 4 MB response page")
            held += size
            if held > self._max_cursor_bytes:
                raise BadRequest(f"the query's results are larger than the {self._max_cursor_bytes:,} bytes the "
                                 "emulator keeps for one query; narrow it with WHERE, TOP or OFFSET ... LIMIT")
            texts.append(text)
            sizes.append(size)
        return tuple(texts), tuple(sizes)

    def _expire(self) -> None:
        now = self._clock.now()
        for cursor_id in [t for t, c in self._cursors.items() if c.expires_at <= now]:
            self._drop(cursor_id)


def _serialise(result: Any) -> str:
    try:
        return json.dumps(result, separators=(",", ":"), allow_nan=False)
    except ValueError:
        raise BadRequest("a query result contains NaN or Infinity, which JSON cannot represent") from None


def _parse_token(token: str) -> tuple[str, int]:
    """Split ``devstack-query:<cursor-id>:<offset>``; anything else is unknown to this server."""
    cursor_id, _, offset = token.removeprefix(_TOKEN_PREFIX).rpartition(":")
    if not token.startswith(_TOKEN_PREFIX) or not cursor_id or not _OFFSET.fullmatch(offset):
        raise BadRequest("the continuation token is unknown or has expired; run the query again")
    return cursor_id, int(offset)


def _take(cursor: _Cursor, offset: int, max_items: int | None) -> list[str]:
    """Results from ``offset`` up to the page size and the 4 MB response limit (at least one)."""
    count = len(cursor.results)
    limit = max_items if max_items and max_items > 0 else (DEFAULT_PAGE if max_items is None else count)
    taken: list[str] = []
    size = 0
    for index in range(offset, min(offset + limit, count)):
        cost = cursor.sizes[index] + 1  # with its comma
        if taken and size + cost > PAGE_CONTENT_BYTES:
            break  # the page stops before it would pass 4 MB; the continuation carries on from here
        taken.append(cursor.results[index])
        size += cost
    return taken
