"""Built-in scalar functions of the Cosmos DB NoSQL query language.

Each follows its page under https://learn.microsoft.com/azure/cosmos-db/nosql/query/ (e.g.
``startswith``, ``array-contains``, ``round``). The shared rule of those pages: an argument of the
wrong type makes the function return undefined rather than fail the query.
"""
from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from devstack.cosmos.query.errors import QueryError
from devstack.cosmos.query.limits import MAX_STRING_LENGTH, check_array_length, check_string_length, json_size
from devstack.cosmos.query.values import RANK_OBJECT, UNDEFINED, is_number, number_result, same_json, type_rank

#: Functions whose result is a new string or array, bounded by limits.py and charged to the query's budget.
BUILDERS = frozenset({"LOWER", "UPPER", "CONCAT", "REPLACE", "TOSTRING", "ARRAY_CONCAT"})


@dataclass(frozen=True)
class Function:
    """A built-in: how many arguments it takes and what it computes."""

    min_args: int
    max_args: int
    impl: Callable[..., Any]


def _strings(*values: Any) -> bool:
    return all(isinstance(value, str) for value in values)


def _flag(value: Any) -> bool | None:
    """An optional boolean argument: absent means false; a non-boolean makes the call undefined."""
    if value is UNDEFINED:
        return False
    return value if isinstance(value, bool) else None


def _string_test(test: Callable[[str, str], bool]) -> Callable[..., Any]:
    """STARTSWITH/ENDSWITH/CONTAINS: (string, string[, ignoreCase]) -> bool."""

    def run(text: Any, other: Any, ignore_case: Any = UNDEFINED) -> Any:
        flag = _flag(ignore_case)
        if not _strings(text, other) or flag is None:
            return UNDEFINED
        if flag:
            text, other = text.casefold(), other.casefold()
        return test(text, other)

    return run


def _string_map(transform: Callable[[str], Any]) -> Callable[[Any], Any]:
    return lambda text: transform(text) if isinstance(text, str) else UNDEFINED


def _change_case(name: str, transform: Callable[[str], str]) -> Callable[[Any], Any]:
    """LOWER/UPPER: a case mapping can lengthen a string (up to 3 times: 'ﬃ' -> 'FFI'), so check after."""

    def run(text: Any) -> Any:
        if not isinstance(text, str):
            return UNDEFINED
        result = transform(text)
        check_string_length(len(result), name)
        return result

    return run


def _concat(*parts: Any) -> Any:
    if not _strings(*parts):
        return UNDEFINED
    check_string_length(sum(len(part) for part in parts), "CONCAT")
    return "".join(parts)


def _integer(value: Any) -> int | None:
    """A numeric argument used as a count or offset (Cosmos DB truncates toward zero)."""
    if not is_number(value) or not math.isfinite(value):
        return None
    return int(value)


def _substring(text: Any, start: Any, length: Any) -> Any:
    begin, count = _integer(start), _integer(length)
    if not isinstance(text, str) or begin is None or count is None:
        return UNDEFINED
    begin = max(begin, 0)
    return text[begin:begin + max(count, 0)]


def _index_of(text: Any, sub: Any, start: Any = 0) -> Any:
    begin = _integer(start)
    if not _strings(text, sub) or begin is None:
        return UNDEFINED
    return text.find(sub, max(begin, 0))


def _left(text: Any, length: Any) -> Any:
    count = _integer(length)
    return text[:max(count, 0)] if isinstance(text, str) and count is not None else UNDEFINED


def _right(text: Any, length: Any) -> Any:
    count = _integer(length)
    if not isinstance(text, str) or count is None:
        return UNDEFINED
    return text[len(text) - min(max(count, 0), len(text)):]


def _replace(text: Any, old: Any, new: Any) -> Any:
    if not _strings(text, old, new):
        return UNDEFINED
    if not old:
        return text
    # Known before building it: every occurrence of ``old`` grows the text by len(new) - len(old).
    check_string_length(len(text) + text.count(old) * (len(new) - len(old)), "REPLACE")
    return text.replace(old, new)


def _to_string(value: Any) -> Any:
    """ToString: strings unchanged, everything else in its JSON text (numbers as Cosmos prints them)."""
    if value is UNDEFINED:
        return UNDEFINED
    if isinstance(value, str):
        return value
    shown = number_result(value) if is_number(value) else value
    if shown is UNDEFINED:  # NaN or infinity: not a JSON number
        return UNDEFINED
    # Measured first: a value that shares sub-values ([c, c, ...]) can have a far larger text.
    if json_size(shown, MAX_STRING_LENGTH) > MAX_STRING_LENGTH:
        raise QueryError(f"TOSTRING would build a string of more than {MAX_STRING_LENGTH:,} characters; a string "
                         "is limited to that (the 2 MB item limit)")
    text = json.dumps(shown, separators=(",", ":"), ensure_ascii=False)
    check_string_length(len(text), "TOSTRING")  # escapes may have lengthened it
    return text


def _array_contains(array: Any, item: Any, partial: Any = UNDEFINED) -> Any:
    flag = _flag(partial)
    if not isinstance(array, list) or item is UNDEFINED or flag is None:
        return UNDEFINED
    if flag and isinstance(item, dict):
        # Partial match: an element object that has every property of ``item`` with equal values.
        return any(
            isinstance(element, dict) and all(key in element and same_json(element[key], value)
                                              for key, value in item.items())
            for element in array
        )
    return any(same_json(element, item) for element in array)


def _array_slice(array: Any, start: Any, length: Any = UNDEFINED) -> Any:
    begin = _integer(start)
    if not isinstance(array, list) or begin is None:
        return UNDEFINED
    if begin < 0:
        begin = max(len(array) + begin, 0)
    if length is UNDEFINED:
        return array[begin:]
    count = _integer(length)
    return UNDEFINED if count is None else array[begin:begin + max(count, 0)]


def _array_concat(*arrays: Any) -> Any:
    if not all(isinstance(array, list) for array in arrays):
        return UNDEFINED
    check_array_length(sum(len(array) for array in arrays), "ARRAY_CONCAT")
    return [item for array in arrays for item in array]


def _math(transform: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda value: number_result(transform(value)) if is_number(value) else UNDEFINED


def _round(value: Any) -> Any:
    """ROUND: to the nearest integer, halves away from zero (ROUND(-6.5) is -7)."""
    return math.copysign(math.floor(abs(value) + 0.5), value)


FUNCTIONS: dict[str, Function] = {
    # Type checking: https://learn.microsoft.com/azure/cosmos-db/nosql/query/is-defined etc.
    "IS_DEFINED": Function(1, 1, lambda v: v is not UNDEFINED),
    "IS_NULL": Function(1, 1, lambda v: v is None),
    "IS_STRING": Function(1, 1, lambda v: isinstance(v, str)),
    "IS_NUMBER": Function(1, 1, is_number),
    "IS_BOOL": Function(1, 1, lambda v: isinstance(v, bool)),
    "IS_ARRAY": Function(1, 1, lambda v: isinstance(v, list)),
    "IS_OBJECT": Function(1, 1, lambda v: type_rank(v) == RANK_OBJECT),
    "IS_PRIMITIVE": Function(1, 1, lambda v: v is None or isinstance(v, (bool, int, float, str))),
    # Conditional: https://learn.microsoft.com/azure/cosmos-db/nosql/query/iif
    "IIF": Function(3, 3, lambda condition, when_true, when_false: when_true if condition is True else when_false),
    # Strings.
    "STARTSWITH": Function(2, 3, _string_test(lambda text, prefix: text.startswith(prefix))),
    "ENDSWITH": Function(2, 3, _string_test(lambda text, suffix: text.endswith(suffix))),
    "CONTAINS": Function(2, 3, _string_test(lambda text, sub: sub in text)),
    "LOWER": Function(1, 1, _change_case("LOWER", str.lower)),
    "UPPER": Function(1, 1, _change_case("UPPER", str.upper)),
    "LENGTH": Function(1, 1, _string_map(len)),
    "TRIM": Function(1, 1, _string_map(str.strip)),
    "LTRIM": Function(1, 1, _string_map(str.lstrip)),
    "RTRIM": Function(1, 1, _string_map(str.rstrip)),
    "REVERSE": Function(1, 1, _string_map(lambda text: text[::-1])),
    "CONCAT": Function(2, 64, _concat),
    "SUBSTRING": Function(3, 3, _substring),
    "INDEX_OF": Function(2, 3, _index_of),
    "LEFT": Function(2, 2, _left),
    "RIGHT": Function(2, 2, _right),
    "REPLACE": Function(3, 3, _replace),
    "TOSTRING": Function(1, 1, _to_string),
    # Arrays.
    "ARRAY_CONTAINS": Function(2, 3, _array_contains),
    "ARRAY_LENGTH": Function(1, 1, lambda array: len(array) if isinstance(array, list) else UNDEFINED),
    "ARRAY_SLICE": Function(2, 3, _array_slice),
    "ARRAY_CONCAT": Function(2, 64, _array_concat),
    # Mathematics.
    "ABS": Function(1, 1, _math(abs)),
    "FLOOR": Function(1, 1, _math(math.floor)),
    "CEILING": Function(1, 1, _math(math.ceil)),
    "ROUND": Function(1, 1, _math(_round)),
    "TRUNC": Function(1, 1, _math(math.trunc)),
}

AGGREGATES = frozenset({"COUNT", "SUM", "AVG", "MIN", "MAX"})


def call(name: str, args: list[Any]) -> Any:
    """Apply the built-in ``name`` (already known to exist and to accept this many arguments)."""
    return FUNCTIONS[name].impl(*args)
