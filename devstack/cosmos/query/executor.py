"""Runs a parsed query over documents: FROM, WHERE, GROUP BY, ORDER BY, projection, DISTINCT,
OFFSET/LIMIT and TOP, in the logical order Cosmos DB documents for them
(https://learn.microsoft.com/azure/cosmos-db/nosql/query/select).
"""
from __future__ import annotations

import itertools
import math
import sys
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from devstack.cosmos.query.analysis import is_grouped, output_names
from devstack.cosmos.query.errors import QueryError
from devstack.cosmos.query.evaluator import Evaluator, Group, Row, Scope
from devstack.cosmos.query.limits import Budget, check_value_size
from devstack.cosmos.query.nodes import Expr, FromClause, Ident, Literal, Param, Query, walk
from devstack.cosmos.query.values import RANK_ARRAY, UNDEFINED, canonical, is_number, sort_key


def execute_query(query: Query, documents: Iterable[dict], parameters: Mapping[str, Any]) -> list[Any]:
    """Evaluate the whole query over ``documents`` and return every result, in order.

    ``parameters`` maps names including the '@' to JSON values; a parameter the query uses but
    that is not given raises QueryError (before any document is read).
    """
    return list(iterate_query(query, documents, parameters))


def iterate_query(query: Query, documents: Iterable[dict], parameters: Mapping[str, Any],
                  budget: Budget | None = None) -> Iterator[Any]:
    """The results of ``execute_query`` one at a time: each is projected only when it is asked for,
    so a caller that stops early (a full cursor) never builds the rest. Limits: limits.py."""
    _check_parameters(query, parameters)
    evaluator = Evaluator(parameters, budget)
    try:
        yield from _run(query, evaluator, documents)
    except (ArithmeticError, RecursionError) as error:
        # Only reachable with pathological documents (numbers beyond doubles, nesting near
        # Python's recursion limit); report it as a query failure rather than crash the server.
        raise QueryError(f"query evaluation failed: {error}") from error


def _run(query: Query, evaluator: Evaluator, documents: Iterable[dict]) -> Iterator[Any]:
    rows = [row for row in _rows(query.source, documents) if _keep(query, evaluator, row)]
    if is_grouped(query):
        scopes: list[Scope] = list(_groups(query, evaluator, rows))
    else:
        scopes = list(_sorted(query, evaluator, rows))
    results = _project(query, evaluator, scopes)
    if query.distinct:
        results = _distinct(results, evaluator)
    return _page(query, evaluator, results)


def _check_parameters(query: Query, parameters: Mapping[str, Any]) -> None:
    for expr in query.expressions():
        for node in walk(expr):
            if isinstance(node, Param) and node.name not in parameters:
                raise QueryError(f"parameter {node.name} is not defined", node.pos)


def _rows(source: FromClause | None, documents: Iterable[dict]) -> Iterator[Row]:
    """One row per document, per value at the FROM path, or per array element for ``IN``."""
    if source is None:
        # Without FROM the query is evaluated once (https://learn.microsoft.com/azure/cosmos-db/nosql/query/from).
        yield Row({})
        return
    for document in documents:
        value = _follow(document, source.path)
        if value is UNDEFINED:
            continue
        if not source.iterate:
            yield Row({source.alias: value})
        elif isinstance(value, list):
            yield from (Row({source.alias: element}) for element in value)


def _follow(value: Any, path: tuple[str | int, ...]) -> Any:
    for step in path:
        match value, step:
            case dict(), str() if step in value:
                value = value[step]
            case list(), int() if 0 <= step < len(value):
                value = value[step]
            case _:
                return UNDEFINED
    return value


def _keep(query: Query, evaluator: Evaluator, row: Row) -> bool:
    # Only rows whose filter is exactly true survive; false, undefined and non-booleans do not.
    return query.where is None or evaluator.eval(query.where, row) is True


def _groups(query: Query, evaluator: Evaluator, rows: list[Row]) -> Iterator[Group]:
    """Groups in order of first appearance; aggregates without GROUP BY make one group of all rows."""
    if not query.group_by:
        yield Group((), (), rows)
        return
    groups: dict[tuple[str, ...], Group] = {}
    for row in rows:
        values = tuple(evaluator.eval(key, row) for key in query.group_by)
        identity = tuple(canonical(value) for value in values)
        evaluator.budget.charge(sum(len(text) for text in identity))
        groups.setdefault(identity, Group(query.group_by, values, [])).rows.append(row)
    yield from groups.values()


def _sorted(query: Query, evaluator: Evaluator, rows: list[Row]) -> list[Row]:
    """Rows in ORDER BY order: values of different types order by type, none is dropped."""
    if not query.order_by:
        return rows
    keyed = [([_charged(sort_key(evaluator.eval(key.expr, row)), evaluator) for key in query.order_by], row)
             for row in rows]
    # Stable sorts from the last key to the first give a multi-key sort with mixed directions.
    for position in reversed(range(len(query.order_by))):
        keyed.sort(key=lambda pair: pair[0][position], reverse=query.order_by[position].descending)
    return [row for _, row in keyed]


def _charged(key: tuple[int, Any], evaluator: Evaluator) -> tuple[int, Any]:
    """A sort key; an array's or object's key is its canonical text, which counts as built."""
    if isinstance(key[1], str) and key[0] >= RANK_ARRAY:
        evaluator.budget.charge(len(key[1]))
    return key


def _project(query: Query, evaluator: Evaluator, scopes: list[Scope]) -> Iterator[Any]:
    if query.select_star:
        # Rows are stored documents, which are within the item limit already.
        yield from (next(iter(scope.bindings.values())) for scope in scopes if isinstance(scope, Row))
        return
    if query.select_value is not None:
        trusted = isinstance(query.select_value, Ident)  # SELECT VALUE c: a stored document as well
        for scope in scopes:
            value = evaluator.eval(query.select_value, scope)
            if value is not UNDEFINED:
                yield value if trusted else _checked(value)
        return
    names = output_names(query.items)
    for scope in scopes:
        built = {name: evaluator.eval(item.expr, scope) for name, item in zip(names, query.items, strict=True)}
        # A projected undefined value leaves the property out; the row itself stays.
        yield _checked({name: value for name, value in built.items() if value is not UNDEFINED})


def _checked(value: Any) -> Any:
    check_value_size(value, "a query result")
    return value


def _distinct(results: Iterable[Any], evaluator: Evaluator) -> Iterator[Any]:
    seen: set[str] = set()
    for value in results:
        identity = canonical(value)
        if identity not in seen:
            evaluator.budget.charge(len(identity))
            seen.add(identity)
            yield value


def _page(query: Query, evaluator: Evaluator, results: Iterator[Any]) -> Iterator[Any]:
    # islice takes counts up to sys.maxsize; a larger one (1e300 is a valid count) means "all".
    if query.offset is not None and query.limit is not None:
        start = min(_count(query.offset, "OFFSET", evaluator), sys.maxsize)
        stop = min(start + _count(query.limit, "LIMIT", evaluator), sys.maxsize)
        results = itertools.islice(results, start, stop)
    if query.top is not None:
        results = itertools.islice(results, min(_count(query.top, "TOP", evaluator), sys.maxsize))
    return results


def _count(expr: Expr, clause: str, evaluator: Evaluator) -> int:
    value = expr.value if isinstance(expr, Literal) else evaluator.eval(expr, Row({}))
    if not is_number(value) or not math.isfinite(value) or value < 0 or value != int(value):
        raise QueryError(f"{clause} must be a non-negative integer, got {value!r}", expr.pos)
    return int(value)
