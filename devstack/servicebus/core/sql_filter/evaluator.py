"""Tree-walking evaluator of a parsed SQL filter against one message's properties.

Three-valued logic, per the docs' "Property evaluation semantics": a missing property or NULL is
UNKNOWN (None here); arithmetic, comparisons and LIKE with an UNKNOWN operand are UNKNOWN; IN is
UNKNOWN when its left side is; AND/OR follow the SQL truth tables; NOT UNKNOWN is UNKNOWN.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from devstack.servicebus.core.sql_filter.ast import (
    Arithmetic,
    Comparison,
    Exists,
    InList,
    IsNull,
    Like,
    Literal,
    Logical,
    Negate,
    Node,
    Not,
    Property,
)
from devstack.servicebus.core.sql_filter.like import LikePatternError, like_matcher
from devstack.servicebus.core.sql_filter.values import (
    EvaluationError,
    arithmetic,
    compare,
    kind_of,
    negate,
    normalize,
)

_MISSING = object()


class Evaluator:
    """Evaluates nodes against one message's system and user properties."""

    def __init__(self, system: Mapping[str, Any], user: Mapping[str, Any]) -> None:
        self._system = system
        self._user = user

    def evaluate(self, node: Node) -> Any:
        """A value for an expression node; True/False/None (UNKNOWN) for a predicate node."""
        if isinstance(node, Literal):
            return node.value
        if isinstance(node, Property):
            value = self._lookup(node)
            return None if value is _MISSING else normalize(value)
        if isinstance(node, Logical):
            return self._logical(node)
        if isinstance(node, Comparison):
            return compare(node.operator, self.evaluate(node.left), self.evaluate(node.right))
        if isinstance(node, Arithmetic):
            return arithmetic(node.operator, self.evaluate(node.left), self.evaluate(node.right))
        if isinstance(node, Not):
            return _not(self.evaluate(node.operand))
        if isinstance(node, Negate):
            return negate(self.evaluate(node.operand))
        if isinstance(node, InList):
            return self._in_list(node)
        if isinstance(node, Like):
            return self._like(node)
        if isinstance(node, IsNull):
            is_null = self.evaluate(node.operand) is None
            return not is_null if node.negated else is_null
        if isinstance(node, Exists):
            return self._lookup(node.operand) is not _MISSING
        raise TypeError(f"unknown node {node!r}")  # a parser bug, never user input

    def _lookup(self, node: Property) -> Any:
        properties = self._system if node.scope == "sys" else self._user
        if node.name in properties:
            return properties[node.name]
        # The docs: "Property names are case-insensitive."
        wanted = node.name.casefold()
        for key, value in properties.items():
            if isinstance(key, str) and key.casefold() == wanted:
                return value
        return _MISSING

    def _logical(self, node: Logical) -> bool | None:
        # AND: any FALSE wins, else any UNKNOWN; OR: any TRUE wins, else any UNKNOWN.
        deciding = node.operator == "OR"
        result: bool | None = not deciding
        for operand in node.operands:
            value = self.evaluate(operand)
            if value is deciding:
                return deciding
            if value is None:
                result = None
        return result

    def _in_list(self, node: InList) -> bool | None:
        value = self.evaluate(node.operand)
        if value is None:
            return None
        result: bool | None = False
        for item in node.items:
            candidate = self.evaluate(item)
            if candidate is None:
                result = None  # SQL: x IN (..., NULL) is UNKNOWN when nothing else matches
            elif compare("=", value, candidate):
                result = True
                break
        return _not(result) if node.negated else result

    def _like(self, node: Like) -> bool | None:
        value = self.evaluate(node.operand)
        pattern = self.evaluate(node.pattern)
        escape = self.evaluate(node.escape) if node.escape is not None else None
        if value is None or pattern is None or (node.escape is not None and escape is None):
            return None
        for role, operand in (("operand", value), ("pattern", pattern)):
            if not isinstance(operand, str):
                raise EvaluationError(f"LIKE {role} must be a string, not {kind_of(operand)}")
        if escape is not None and (not isinstance(escape, str) or len(escape) != 1):
            raise EvaluationError("ESCAPE must be a string of length 1")
        try:
            matched = like_matcher(pattern, escape).matches(value)
        except LikePatternError as error:
            raise EvaluationError(str(error)) from error
        return not matched if node.negated else matched


def _not(value: bool | None) -> bool | None:
    return None if value is None else not value
