"""Subscription filters: event types, subject prefix/suffix and advanced filters.

Semantics follow "Understand event filtering for Event Grid subscriptions"
(https://learn.microsoft.com/azure/event-grid/event-filtering):
- every part of a filter must match (AND); the values of one advanced filter are alternatives (OR),
  except for the Not* operators, which match only when no value matches (AND of negations);
- string comparisons are case-insensitive; subject matching too unless ``isSubjectCaseSensitive``;
- a key absent from the event (or null) fails every operator except the Not* ones and
  ``IsNullOrUndefined``;
- an array value fails every operator unless ``enableAdvancedFilteringOnArrays`` is on, in which case
  an operator matches when any element matches (Not*: when no element matches the positive form).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

_MISSING = object()


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _number_in(actual: Any, values: Sequence[Any]) -> bool:
    return _is_number(actual) and any(actual == v for v in values)


def _in_range(actual: Any, values: Sequence[Any]) -> bool:
    return _is_number(actual) and any(low <= actual <= high for low, high in values)


def _string_op(test: Callable[[str, str], bool]) -> Callable[[Any, Sequence[Any]], bool]:
    def apply(actual: Any, values: Sequence[Any]) -> bool:
        return isinstance(actual, str) and any(test(actual.lower(), v.lower()) for v in values)
    return apply


def _compare(test: Callable[[float, float], bool]) -> Callable[[Any, Sequence[Any]], bool]:
    def apply(actual: Any, values: Sequence[Any]) -> bool:
        return _is_number(actual) and test(actual, values[0])
    return apply


# Positive operators: (test, kind of filter value). Each Not* operator is the negation of one of them.
_POSITIVE: dict[str, tuple[Callable[[Any, Sequence[Any]], bool], str]] = {
    "NumberIn": (_number_in, "numbers"),
    "NumberLessThan": (_compare(lambda a, v: a < v), "number"),
    "NumberGreaterThan": (_compare(lambda a, v: a > v), "number"),
    "NumberLessThanOrEquals": (_compare(lambda a, v: a <= v), "number"),
    "NumberGreaterThanOrEquals": (_compare(lambda a, v: a >= v), "number"),
    "NumberInRange": (_in_range, "ranges"),
    "StringIn": (_string_op(lambda a, v: a == v), "strings"),
    "StringBeginsWith": (_string_op(str.startswith), "strings"),
    "StringEndsWith": (_string_op(str.endswith), "strings"),
    "StringContains": (_string_op(lambda a, v: v in a), "strings"),
    "BoolEquals": (lambda a, values: isinstance(a, bool) and a == values[0], "bool"),
}
_NEGATED = {
    "NumberNotIn": "NumberIn", "NumberNotInRange": "NumberInRange", "StringNotIn": "StringIn",
    "StringNotBeginsWith": "StringBeginsWith", "StringNotEndsWith": "StringEndsWith",
    "StringNotContains": "StringContains",
}
_NULL_CHECKS = ("IsNullOrUndefined", "IsNotNull")
OPERATORS = (*_POSITIVE, *_NEGATED, *_NULL_CHECKS)


@dataclass(frozen=True)
class AdvancedFilter:
    """One ARM advanced filter: ``{"operatorType", "key", "value" | "values"}``."""

    operator: str
    key: str
    values: tuple[Any, ...] = ()

    def matches(self, event: dict[str, Any], arrays_enabled: bool = False) -> bool:
        """Whether ``event`` (a decoded event object) passes this filter."""
        actual = resolve_key(event, self.key)
        if self.operator in _NULL_CHECKS:
            is_null = actual is _MISSING or actual is None
            return is_null if self.operator == "IsNullOrUndefined" else not is_null
        negated = self.operator in _NEGATED
        if actual is _MISSING or actual is None:
            return negated
        if isinstance(actual, list) and not arrays_enabled:
            return False
        elements = actual if isinstance(actual, list) else [actual]
        test = _POSITIVE[_NEGATED.get(self.operator, self.operator)][0]
        hit = any(test(element, self.values) for element in elements)
        return not hit if negated else hit


@dataclass(frozen=True)
class SubscriptionFilter:
    """ARM ``filter``: ``None`` event types means every type."""

    included_event_types: tuple[str, ...] | None = None
    subject_begins_with: str = ""
    subject_ends_with: str = ""
    subject_case_sensitive: bool = False
    advanced: tuple[AdvancedFilter, ...] = field(default_factory=tuple)
    arrays_enabled: bool = False

    def matches(self, event_type: str, subject: str, event: dict[str, Any]) -> bool:
        """Whether an event with this type, subject and body goes to the subscription."""
        if self.included_event_types is not None and \
                event_type.lower() not in {t.lower() for t in self.included_event_types}:
            return False
        if not self._subject_matches(subject):
            return False
        return all(f.matches(event, self.arrays_enabled) for f in self.advanced)

    def _subject_matches(self, subject: str) -> bool:
        begins, ends = self.subject_begins_with, self.subject_ends_with
        if not self.subject_case_sensitive:
            subject, begins, ends = subject.lower(), begins.lower(), ends.lower()
        return subject.startswith(begins) and subject.endswith(ends)


def resolve_key(event: dict[str, Any], key: str) -> Any:
    """The value at a dotted key (``data.weight``, ``subject``); case-insensitive per segment."""
    current: Any = event
    for segment in key.split("."):
        if not isinstance(current, dict):
            return _MISSING
        if segment in current:
            current = current[segment]
            continue
        folded = [k for k in current if k.lower() == segment.lower()]
        if not folded:
            return _MISSING
        current = current[folded[0]]
    return current


def parse_advanced_filter(raw: Any) -> AdvancedFilter:
    """Validate one ARM advanced filter object; ``ValueError`` says what is wrong."""
    if not isinstance(raw, dict):
        raise ValueError("must be an object with operatorType and key")
    operator, key = raw.get("operatorType"), raw.get("key")
    if not isinstance(operator, str) or operator not in OPERATORS:  # every operator name is a str
        raise ValueError(f"operatorType {operator!r} is not one of {list(OPERATORS)}")
    if not isinstance(key, str) or not key:
        raise ValueError("key is required (e.g. 'data.weight', 'subject', 'eventType')")
    if operator in _NULL_CHECKS:
        return AdvancedFilter(operator, key)
    kind = _POSITIVE[_NEGATED.get(operator, operator)][1]
    return AdvancedFilter(operator, key, _filter_values(raw, operator, kind))


def _filter_values(raw: dict[str, Any], operator: str, kind: str) -> tuple[Any, ...]:
    if kind in ("number", "bool"):
        value = raw.get("value")
        ok = _is_number(value) if kind == "number" else isinstance(value, bool)
        if not ok:
            raise ValueError(f"{operator} needs \"value\": a {kind}")
        return (value,)
    values = raw.get("values")
    if not isinstance(values, list) or not values:
        raise ValueError(f"{operator} needs \"values\": a non-empty array")
    checks = {"numbers": _is_number, "strings": lambda v: isinstance(v, str),
              "ranges": lambda v: isinstance(v, list) and len(v) == 2 and all(map(_is_number, v))}
    if not all(checks[kind](v) for v in values):
        expected = {"numbers": "numbers", "strings": "strings", "ranges": "[low, high] pairs"}[kind]
        raise ValueError(f"{operator} \"values\" must all be {expected}")
    return tuple(tuple(v) if kind == "ranges" else v for v in values)
