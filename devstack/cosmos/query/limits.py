"""Bounds on what one query may build, so that no query text can make the server run out of memory.

A query is small, but functions and constructors can amplify it: 27 nested ``REPLACE(x, 'a', 'aa')``
double a string 27 times (268 million characters), and ``[c, c, c, ...]`` repeats a 2 MB document
once per ``c``. Azure bounds the same things by request units and its documented limits
(https://learn.microsoft.com/azure/cosmos-db/concepts-limits: 2 MB per item, 4 MB per response);
the emulator has no request units, so it refuses, with a QueryError (HTTP 400) naming the limit:

* a string result of a string function or ``||`` longer than MAX_STRING_LENGTH characters (the
  2 MB item limit: such a string could never have been stored), checked before it is built;
* an array built by ARRAY_CONCAT longer than MAX_ARRAY_LENGTH elements (each element takes at
  least two bytes of JSON, so a longer array cannot fit in one response page);
* a projected value, group key or sort key whose JSON is over MAX_VALUE_BYTES (it could not be
  sent in one 4 MB response page);
* more than MAX_BUILT_CHARACTERS of strings, array elements and comparison keys built by one
  query evaluation in all (so a query over many documents cannot hold each row's 2 MB string).
"""
from __future__ import annotations

from typing import Any

from devstack.cosmos.query.errors import QueryError

MAX_STRING_LENGTH = 2 * 1024 * 1024
MAX_VALUE_BYTES = 4 * 1024 * 1024
MAX_ARRAY_LENGTH = MAX_VALUE_BYTES // 2
MAX_BUILT_CHARACTERS = 32 * 1024 * 1024


def check_string_length(length: int, what: str) -> None:
    """Refuse a string of ``length`` characters before ``what`` builds it."""
    if length > MAX_STRING_LENGTH:
        raise QueryError(f"{what} would build a string of {length:,} characters; a string is limited to "
                         f"{MAX_STRING_LENGTH:,} characters (the 2 MB item limit)")


def check_array_length(length: int, what: str) -> None:
    """Refuse an array of ``length`` elements before ``what`` builds it."""
    if length > MAX_ARRAY_LENGTH:
        raise QueryError(f"{what} would build an array of {length:,} elements; an array built by a query is "
                         f"limited to {MAX_ARRAY_LENGTH:,} elements")


def check_value_size(value: Any, what: str) -> None:
    """Refuse a value whose JSON text would be over MAX_VALUE_BYTES."""
    if json_size(value, MAX_VALUE_BYTES) > MAX_VALUE_BYTES:
        raise QueryError(f"{what} is larger than {MAX_VALUE_BYTES:,} bytes of JSON, the 4 MB limit of a "
                         "response page")


class Budget:
    """What one query evaluation may still build, in characters (or array elements)."""

    def __init__(self, limit: int = MAX_BUILT_CHARACTERS) -> None:
        self.limit = limit
        self.used = 0

    def charge(self, amount: int) -> None:
        """Count ``amount`` more built characters; past the limit the query fails."""
        self.used += amount
        if self.used > self.limit:
            raise QueryError(f"the query builds more than {self.limit:,} characters of strings and keys; "
                             "narrow it with WHERE, TOP or OFFSET ... LIMIT")


def json_size(value: Any, limit: int) -> int:
    """A lower bound on the length of ``value``'s JSON text, computed only up to ``limit`` (then limit+1).

    Values built by a query share sub-values (``[c, c]`` holds one document twice), so the text can
    be exponentially larger than the memory it takes; each distinct array or object is measured
    once (sizes are remembered by identity), which keeps the cost linear in the memory, not the text.
    """
    sizes: dict[int, int] = {}
    stack: list[tuple[Any, bool]] = [(value, False)]
    while stack:
        node, measured_children = stack.pop()
        if not isinstance(node, (dict, list)) or id(node) in sizes:
            continue
        children = list(node.values()) if isinstance(node, dict) else node
        if not measured_children:
            stack.append((node, True))
            stack.extend((child, False) for child in children if isinstance(child, (dict, list)))
            continue
        size = 2 + max(len(children) - 1, 0)  # brackets and commas
        if isinstance(node, dict):
            size += sum(len(key) + 3 for key in node)  # "key":
        size += sum(sizes[id(child)] if isinstance(child, (dict, list)) else _scalar_size(child)
                    for child in children)
        if size > limit:
            return limit + 1
        sizes[id(node)] = size
    return sizes[id(value)] if isinstance(value, (dict, list)) else _scalar_size(value)


def _scalar_size(value: Any) -> int:
    if isinstance(value, str):
        return len(value) + 2
    if value is None or value is True:
        return 4
    if value is False:
        return 5
    return 1  # a number: at least one digit
