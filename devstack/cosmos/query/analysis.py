"""Checks a parsed query the way Cosmos DB does before running it.

Every identifier must be the FROM alias; aggregates may appear only in the projection; with GROUP
BY (or an aggregate) the projection may use the alias only inside an aggregate or inside an
expression that is grouped on (https://learn.microsoft.com/azure/cosmos-db/nosql/query/group-by).
A constant LIKE pattern that cannot be compiled (like.py) is reported here too.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import TypeGuard

from devstack.cosmos.query.errors import QueryError, unsupported
from devstack.cosmos.query.functions import AGGREGATES
from devstack.cosmos.query.like import LikePatternError, compile_like
from devstack.cosmos.query.nodes import Call, Expr, Ident, Like, Literal, Member, Query, SelectItem, children, walk


def check_query(query: Query) -> None:
    """Raise QueryError for the first semantic problem in ``query``."""
    if query.select_star and query.source is None:
        raise QueryError("'SELECT *' is not valid if FROM clause is omitted", query.select_pos)
    _check_scope(query)
    _check_like_patterns(query)
    _check_aggregate_placement(query)
    if is_grouped(query):
        _check_grouping(query)
    output_names(query.items)


def is_grouped(query: Query) -> bool:
    """True when rows are folded into groups: GROUP BY, or an aggregate in the projection."""
    projected = [item.expr for item in query.items] + ([query.select_value] if query.select_value else [])
    return bool(query.group_by) or any(_aggregates_in(expr) for expr in projected)


def output_names(items: Iterable[SelectItem]) -> list[str]:
    """Property names of a select list: the alias, else the last property name, else $1, $2, ...

    Cosmos DB names an unaliased projection after the property it reads (``c.a.b`` gives ``b``)
    and numbers the rest; two items with one name are an error.
    """
    names: list[str] = []
    unnamed = 0
    for item in items:
        if item.alias is not None:
            name = item.alias
        elif isinstance(item.expr, (Member, Ident)):
            name = item.expr.name
        else:
            unnamed += 1
            name = f"${unnamed}"
        if name in names:
            raise QueryError(f"duplicate property name '{name}' in the select list", item.pos)
        names.append(name)
    return names


def _check_scope(query: Query) -> None:
    alias = query.from_alias
    for expr in query.expressions():
        for node in walk(expr):
            if isinstance(node, Ident) and node.name != alias:
                raise QueryError(f"identifier '{node.name}' could not be resolved", node.pos)


def _check_like_patterns(query: Query) -> None:
    """A constant LIKE pattern that cannot be compiled is reported before any document is read."""
    for expr in query.expressions():
        for node in walk(expr):
            if not isinstance(node, Like) or not _is_string(node.pattern):
                continue
            if node.escape is not None and not (_is_string(node.escape) and len(node.escape.value) == 1):
                continue  # an escape known only per row, or one that makes LIKE undefined
            escape = node.escape.value if node.escape is not None else None
            try:
                compile_like(node.pattern.value, escape)
            except LikePatternError as error:
                raise QueryError(str(error), node.pattern.pos) from None


def _is_string(expr: Expr | None) -> TypeGuard[Literal]:
    return isinstance(expr, Literal) and isinstance(expr.value, str)


def _aggregates_in(expr: Expr) -> list[Call]:
    return [node for node in walk(expr) if isinstance(node, Call) and node.name in AGGREGATES]


def _check_aggregate_placement(query: Query) -> None:
    elsewhere = [query.where, query.top, query.offset, query.limit, *query.group_by]
    elsewhere += [key.expr for key in query.order_by]
    for expr in elsewhere:
        if expr is not None and _aggregates_in(expr):
            call = _aggregates_in(expr)[0]
            raise QueryError(f"aggregate {call.name} is only allowed in the select list", call.pos)
    for expr in [item.expr for item in query.items] + ([query.select_value] if query.select_value else []):
        for call in _aggregates_in(expr):
            nested = [inner for arg in call.args for inner in _aggregates_in(arg)]
            if nested:
                inner = nested[0]
                raise QueryError(f"aggregate {inner.name} cannot be nested in another aggregate", inner.pos)


def _check_grouping(query: Query) -> None:
    if query.select_star:
        raise QueryError("'SELECT *' is not valid with GROUP BY or aggregates", query.select_pos)
    if query.order_by:
        raise unsupported("ORDER BY with GROUP BY or aggregates", query.order_by[0].expr.pos)
    projected = [item.expr for item in query.items] + ([query.select_value] if query.select_value else [])
    for expr in projected:
        _check_grouped_expr(expr, query.group_by)


def _check_grouped_expr(expr: Expr, keys: tuple[Expr, ...]) -> None:
    if expr in keys or (isinstance(expr, Call) and expr.name in AGGREGATES):
        return
    if isinstance(expr, Ident):
        raise QueryError(
            f"'{expr.name}' in the select list must be in an aggregate or in the GROUP BY clause", expr.pos
        )
    for child in children(expr):
        _check_grouped_expr(child, keys)
