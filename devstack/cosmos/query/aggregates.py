"""Aggregate functions over the values one expression takes across a group of rows.

https://learn.microsoft.com/azure/cosmos-db/nosql/query/aggregate-functions: undefined values are
ignored; COUNT counts the defined ones; SUM and AVG need numbers (any other defined value makes the
result undefined); MIN and MAX compare across null, booleans, numbers and strings by the ORDER BY
type order and are undefined over arrays or objects; over no values SUM and COUNT are 0, the others
undefined (so the row or property disappears from the result).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from devstack.cosmos.query.values import RANK_ARRAY, UNDEFINED, is_number, number_result, sort_key, type_rank


def aggregate(name: str, values: Sequence[Any]) -> Any:
    """The value of aggregate ``name`` (COUNT, SUM, AVG, MIN or MAX) over ``values``."""
    defined = [value for value in values if value is not UNDEFINED]
    if name == "COUNT":
        return len(defined)
    if name in ("SUM", "AVG"):
        return _sum_or_average(name, defined)
    if not defined or any(type_rank(value) >= RANK_ARRAY for value in defined):
        return UNDEFINED
    pick = min if name == "MIN" else max
    return pick(defined, key=sort_key)


def _sum_or_average(name: str, values: list[Any]) -> Any:
    if not all(is_number(value) for value in values):
        return UNDEFINED
    if name == "SUM":
        return number_result(sum(values))
    if not values:
        return UNDEFINED
    return number_result(sum(values) / len(values))
