"""Running SQL queries over a container and paging the results.

Paging scheme: the whole query is evaluated once, at the first page, over a consistent view of the
container (the server handles one request at a time). The rest of the result list stays server-side,
keyed by an opaque continuation token, until it is drained or idle longer than ``cursor_ttl`` seconds;
so pages neither skip nor repeat items however others write meanwhile. Tokens do not survive a
restart: continuing with an unknown token is a 400 telling the client to restart the query.
"""
from __future__ import annotations

import json
import secrets
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from devstack.cosmos.core.clock import Clock
from devstack.cosmos.core.errors import BadRequest
from devstack.cosmos.core.ports import Store
from devstack.cosmos.core.records import ContainerRecord, Scope
from devstack.cosmos.query import QueryError, execute_query, parse_query

#: Documented default page size when the client does not send x-ms-max-item-count.
DEFAULT_PAGE = 100
#: Documented response limit: a page stops growing at 4 MB.
MAX_PAGE_BYTES = 4 * 1024 * 1024
_TOKEN_PREFIX = "devstack-query:"


@dataclass
class _Cursor:
    container_rid: str
    query: str | None
    results: list[str]
    position: int
    expires_at: float


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
    """Executes queries and keeps the unread remainder of each result list for its continuation token."""

    def __init__(self, store: Store, clock: Clock, cursor_ttl: float = 300.0, max_cursors: int = 1000) -> None:
        self._store = store
        self._clock = clock
        self._cursor_ttl = cursor_ttl
        self._max_cursors = max_cursors
        self._cursors: OrderedDict[str, _Cursor] = OrderedDict()

    def page(self, container: ContainerRecord, request: QueryRequest) -> QueryPage:
        """The next page of ``request``'s results."""
        self._expire()
        if request.continuation:
            token = request.continuation
            cursor = self._cursors.pop(token, None)
            if cursor is None or cursor.container_rid != container.rid or cursor.query != request.text:
                raise BadRequest("the continuation token is unknown or has expired; run the query again")
        else:
            token = _TOKEN_PREFIX + secrets.token_hex(16)
            cursor = _Cursor(container.rid, request.text, self._evaluate(container, request), 0, 0.0)
        documents = _take(cursor, request.max_items)
        if cursor.position >= len(cursor.results):
            return QueryPage(documents, None)
        cursor.expires_at = self._clock.now() + self._cursor_ttl
        self._cursors[token] = cursor
        while len(self._cursors) > self._max_cursors:
            self._cursors.popitem(last=False)
        return QueryPage(documents, token)

    def _evaluate(self, container: ContainerRecord, request: QueryRequest) -> list[str]:
        if request.text is None:  # a read feed: every item, as stored
            return list(self._store.scan_items(container.rid, request.scope, self._clock.now()))
        try:
            query = parse_query(request.text)
            documents = (json.loads(text) for text in
                         self._store.scan_items(container.rid, request.scope, self._clock.now()))
            results = execute_query(query, documents, request.parameters)
        except QueryError as exc:
            raise BadRequest(f"query not supported or invalid: {exc}") from None
        except RecursionError:
            raise BadRequest("query is nested too deeply") from None
        # ASCII escapes: results may echo parameter strings, which need not be encodable text.
        return [json.dumps(r, separators=(",", ":")) for r in results]

    def _expire(self) -> None:
        now = self._clock.now()
        for token in [t for t, c in self._cursors.items() if c.expires_at <= now]:
            del self._cursors[token]


def _take(cursor: _Cursor, max_items: int | None) -> list[str]:
    limit = max_items if max_items and max_items > 0 else (DEFAULT_PAGE if max_items is None else len(cursor.results))
    taken: list[str] = []
    size = 0
    while cursor.position < len(cursor.results) and len(taken) < limit:
        text = cursor.results[cursor.position]
        if taken and size + len(text) > MAX_PAGE_BYTES:
            break
        taken.append(text)
        size += len(text)
        cursor.position += 1
    return taken
