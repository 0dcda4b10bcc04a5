"""JSON values as Cosmos DB's query engine sees them: undefined, type order, equality, ordering.

Semantics from https://learn.microsoft.com/azure/cosmos-db/nosql/query/equality-comparison-operators
and .../order-by: a missing property is *undefined* (distinct from null); equality is defined only
between values of the same JSON type (deep for arrays and objects); ``<``-style comparisons only
between two nulls, booleans, numbers or strings; anything else yields undefined. ORDER BY, in
contrast, orders every value by type first: undefined < null < booleans < numbers < strings <
arrays < objects.
"""
from __future__ import annotations

import json
import math
from typing import Any

from devstack.cosmos.query.limits import check_value_size


class _Undefined:
    """The single ``undefined`` value; never appears in a query result."""

    _instance: _Undefined | None = None

    def __new__(cls) -> _Undefined:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "undefined"

    def __bool__(self) -> bool:
        return False


UNDEFINED: Any = _Undefined()

# Type ranks used by ORDER BY (and by MIN/MAX over mixed types).
RANK_UNDEFINED, RANK_NULL, RANK_BOOL, RANK_NUMBER, RANK_STRING, RANK_ARRAY, RANK_OBJECT = range(7)


def is_number(value: Any) -> bool:
    """True for JSON numbers (Python bools are ints, but not JSON numbers)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def type_rank(value: Any) -> int:
    """Position of the value's type in the documented cross-type order."""
    if value is UNDEFINED:
        return RANK_UNDEFINED
    if value is None:
        return RANK_NULL
    if isinstance(value, bool):
        return RANK_BOOL
    if is_number(value):
        return RANK_NUMBER
    if isinstance(value, str):
        return RANK_STRING
    if isinstance(value, list):
        return RANK_ARRAY
    return RANK_OBJECT


def same_json(left: Any, right: Any) -> bool:
    """Deep JSON equality that, unlike Python's ==, keeps true and 1 apart.

    Iterative, and each pair of arrays or objects is compared once: values a query builds share
    sub-values (``[c.a, c.a, ...]``), and comparing them as trees could take exponential time.
    """
    compared: set[tuple[int, int]] = set()
    pending = [(left, right)]
    while pending:
        a, b = pending.pop()
        if type_rank(a) != type_rank(b):
            return False
        if isinstance(a, (list, dict)):
            if a is b or (id(a), id(b)) in compared:
                continue
            # Marked before its parts are compared: should they differ, the whole answer is False anyway.
            compared.add((id(a), id(b)))
            if isinstance(a, list):
                if len(a) != len(b):
                    return False
                pending.extend(zip(a, b, strict=True))
            else:
                if a.keys() != b.keys():
                    return False
                pending.extend((a[key], b[key]) for key in a)
        elif a != b:
            return False
    return True


def equals(left: Any, right: Any) -> Any:
    """``left = right``: true/false for two values of one type, otherwise undefined."""
    if left is UNDEFINED or right is UNDEFINED or type_rank(left) != type_rank(right):
        return UNDEFINED
    return same_json(left, right)


def compare(left: Any, right: Any) -> int | None:
    """-1/0/1 for two comparable values (null, bool, number or string of one type), else None."""
    rank = type_rank(left)
    if rank != type_rank(right) or rank not in (RANK_NULL, RANK_BOOL, RANK_NUMBER, RANK_STRING):
        return None
    if rank == RANK_NULL:
        return 0
    return (left > right) - (left < right)


def canonical(value: Any) -> str:
    """A string that is equal for two values exactly when they are the same JSON value.

    Used to group and de-duplicate; numbers are normalised so 1 and 1.0 coincide, as they do in
    Cosmos DB where every number is a double.
    """
    if value is UNDEFINED:
        return "U"
    check_value_size(value, "a grouped, sorted or DISTINCT value")
    return json.dumps(_normalise(value), sort_keys=True, separators=(",", ":"))


def _normalise(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_normalise(item) for item in value]
    if isinstance(value, dict):
        return {key: _normalise(item) for key, item in value.items()}
    return value


def sort_key(value: Any) -> tuple[int, Any]:
    """Key that orders any two values as ORDER BY does (type order first, then value)."""
    rank = type_rank(value)
    if rank in (RANK_BOOL, RANK_NUMBER, RANK_STRING):
        return (rank, value)
    if rank in (RANK_ARRAY, RANK_OBJECT):
        # Cosmos DB documents only that arrays sort before objects; within one of them the order
        # is an implementation detail, so a stable canonical form keeps results deterministic.
        return (rank, canonical(value))
    return (rank, 0)


def number_result(value: int | float) -> Any:
    """An arithmetic result as a JSON number: integral doubles as ints, NaN/infinity undefined."""
    if isinstance(value, float):
        if not math.isfinite(value):
            return UNDEFINED
        if value.is_integer() and abs(value) < 2**53:
            return int(value)
        return value
    if abs(value) >= 2**53:
        # Beyond 2^53 a double loses integer precision; keep Cosmos DB's double semantics.
        try:
            return number_result(float(value))
        except OverflowError:
            return UNDEFINED
    return value
