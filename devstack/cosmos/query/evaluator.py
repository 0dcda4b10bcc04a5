"""Tree-walking evaluation of scalar expressions against one row or one group of rows.

Operator semantics follow https://learn.microsoft.com/azure/cosmos-db/nosql/query/ (pages
"equality-comparison-operators", "logical-operators", "ternary-coalesce-operators", "keywords"):
every operator given an operand of the wrong type, or undefined, yields undefined instead of failing.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from devstack.cosmos.query.aggregates import aggregate
from devstack.cosmos.query.errors import QueryError
from devstack.cosmos.query.functions import AGGREGATES, BUILDERS, call
from devstack.cosmos.query.like import LikePatternError, compile_like
from devstack.cosmos.query.limits import Budget, check_string_length
from devstack.cosmos.query.nodes import (
    ArrayLit,
    Between,
    Binary,
    Call,
    Expr,
    Ident,
    Index,
    InList,
    Like,
    Literal,
    Member,
    ObjectLit,
    Param,
    Ternary,
    Unary,
)
from devstack.cosmos.query.values import UNDEFINED, compare, equals, is_number, number_result


@dataclass(frozen=True)
class Row:
    """One row: the FROM alias bound to a value (no binding when the query has no FROM)."""

    bindings: Mapping[str, Any]


@dataclass(frozen=True)
class Group:
    """A group of rows sharing the values of the GROUP BY expressions."""

    keys: tuple[Expr, ...]
    key_values: tuple[Any, ...]
    rows: list[Row] = field(default_factory=list)


Scope = Row | Group

COMPARISONS: dict[str, Callable[[int], bool]] = {
    "<": lambda c: c < 0, "<=": lambda c: c <= 0, ">": lambda c: c > 0, ">=": lambda c: c >= 0,
}


class Evaluator:
    """Evaluates expressions with a fixed set of query parameters, within one query's Budget."""

    def __init__(self, parameters: Mapping[str, Any], budget: Budget | None = None) -> None:
        self.parameters = parameters
        self.budget = budget if budget is not None else Budget()
        self._dispatch: dict[type, Callable[[Any, Scope], Any]] = {
            Literal: lambda node, scope: node.value,
            Param: lambda node, scope: self.parameters[node.name],
            # Always a Row: analysis lets a grouped query read its alias only in GROUP BY keys and aggregates,
            # which eval() answers from the Group before dispatching here.
            Ident: lambda node, scope: cast(Row, scope).bindings[node.name],
            Member: self._member,
            Index: self._index,
            Unary: self._unary,
            Binary: self._binary,
            Ternary: self._ternary,
            Between: self._between,
            InList: self._in,
            Like: self._like,
            Call: self._call,
            ArrayLit: self._array,
            ObjectLit: self._object,
        }

    def eval(self, node: Expr, scope: Scope) -> Any:
        """The value of ``node`` in ``scope`` (possibly UNDEFINED)."""
        if isinstance(scope, Group):
            if node in scope.keys:
                return scope.key_values[scope.keys.index(node)]
            if isinstance(node, Call) and node.name in AGGREGATES:
                return aggregate(node.name, [self.eval(node.args[0], row) for row in scope.rows])
        return self._dispatch[type(node)](node, scope)

    def _member(self, node: Member, scope: Scope) -> Any:
        target = self.eval(node.obj, scope)
        if isinstance(target, dict):
            return target.get(node.name, UNDEFINED)
        return UNDEFINED

    def _index(self, node: Index, scope: Scope) -> Any:
        target, index = self.eval(node.obj, scope), self.eval(node.index, scope)
        if isinstance(target, dict) and isinstance(index, str):
            return target.get(index, UNDEFINED)
        if isinstance(target, list) and is_number(index) and math.isfinite(index) and index == int(index):
            position = int(index)
            return target[position] if 0 <= position < len(target) else UNDEFINED
        return UNDEFINED

    def _unary(self, node: Unary, scope: Scope) -> Any:
        value = self.eval(node.operand, scope)
        if node.op == "NOT":
            return (not value) if isinstance(value, bool) else UNDEFINED
        if not is_number(value):
            return UNDEFINED
        if node.op == "~":
            return ~_int32(value)
        return number_result(-value) if node.op == "-" else value

    def _binary(self, node: Binary, scope: Scope) -> Any:
        op = node.op
        if op in ("AND", "OR"):
            return self._logical(node, scope)
        left = self.eval(node.left, scope)
        if op == "??":
            # Coalesce: the left value unless it is undefined (null counts as a value).
            return left if left is not UNDEFINED else self.eval(node.right, scope)
        right = self.eval(node.right, scope)
        if op == "=":
            return equals(left, right)
        if op == "!=":
            same = equals(left, right)
            return UNDEFINED if same is UNDEFINED else not same
        if op in COMPARISONS:
            order = compare(left, right)
            return UNDEFINED if order is None else COMPARISONS[op](order)
        if op == "||":
            return self._concatenate(left, right, node)
        return _arithmetic(op, left, right)

    def _logical(self, node: Binary, scope: Scope) -> Any:
        # Three-valued logic; a non-boolean operand counts as undefined. The deciding value
        # (false for AND, true for OR) wins even against undefined.
        decisive = node.op == "OR"
        left = self.eval(node.left, scope)
        if left is decisive:
            return decisive
        right = self.eval(node.right, scope)
        if right is decisive:
            return decisive
        if isinstance(left, bool) and isinstance(right, bool):
            return not decisive
        return UNDEFINED

    def _ternary(self, node: Ternary, scope: Scope) -> Any:
        condition = self.eval(node.cond, scope)
        return self.eval(node.when_true if condition is True else node.when_false, scope)

    def _between(self, node: Between, scope: Scope) -> Any:
        value = self.eval(node.expr, scope)
        above = compare(value, self.eval(node.low, scope))
        below = compare(value, self.eval(node.high, scope))
        if above is None or below is None:
            return UNDEFINED
        return (above >= 0 and below <= 0) != node.negated

    def _in(self, node: InList, scope: Scope) -> Any:
        value = self.eval(node.expr, scope)
        if value is UNDEFINED:
            return UNDEFINED
        found = any(equals(value, self.eval(item, scope)) is True for item in node.items)
        return found != node.negated

    def _like(self, node: Like, scope: Scope) -> Any:
        value, pattern = self.eval(node.expr, scope), self.eval(node.pattern, scope)
        escape = self.eval(node.escape, scope) if node.escape is not None else None
        if not isinstance(value, str) or not isinstance(pattern, str):
            return UNDEFINED
        if escape is not None and not (isinstance(escape, str) and len(escape) == 1):
            return UNDEFINED
        try:
            matcher = compile_like(pattern, escape)
        except LikePatternError as error:
            raise QueryError(str(error), node.pattern.pos) from None
        return matcher.matches(value) != node.negated

    def _concatenate(self, left: Any, right: Any, node: Binary) -> Any:
        if not isinstance(left, str) or not isinstance(right, str):
            return UNDEFINED
        try:
            check_string_length(len(left) + len(right), "'||'")
        except QueryError as error:
            raise QueryError(error.message, node.pos) from None
        self.budget.charge(len(left) + len(right))
        return left + right

    def _call(self, node: Call, scope: Scope) -> Any:
        try:
            result = call(node.name, [self.eval(arg, scope) for arg in node.args])
        except QueryError as error:
            if error.position is not None:
                raise
            raise QueryError(error.message, node.pos) from None  # a limit of limits.py, at this call
        if node.name in BUILDERS and isinstance(result, (str, list)):
            self.budget.charge(len(result))
        return result

    def _array(self, node: ArrayLit, scope: Scope) -> Any:
        # Undefined elements are left out of a constructed array, as properties are of an object.
        values = [self.eval(item, scope) for item in node.items]
        return [value for value in values if value is not UNDEFINED]

    def _object(self, node: ObjectLit, scope: Scope) -> Any:
        built = {key: self.eval(value, scope) for key, value in node.entries}
        return {key: value for key, value in built.items() if value is not UNDEFINED}


def _int32(value: int | float) -> int:
    """JavaScript's ToInt32, which Cosmos DB's bitwise operators apply to both operands."""
    if not math.isfinite(value):
        return 0
    unsigned = int(value) & 0xFFFFFFFF
    return unsigned - (1 << 32) if unsigned >= 1 << 31 else unsigned


def _bitwise(op: str, left: int | float, right: int | float) -> int:
    """``| & ^ << >> >>>`` on 32-bit integers, as JavaScript does (documented for Cosmos DB)."""
    a, b = _int32(left), _int32(right)
    shift = b & 31
    if op == "|":
        return a | b
    if op == "&":
        return a & b
    if op == "^":
        return a ^ b
    if op == "<<":
        return _int32(a << shift)
    if op == ">>":
        return a >> shift
    return (a & 0xFFFFFFFF) >> shift


def _arithmetic(op: str, left: Any, right: Any) -> Any:
    """``+ - * / %`` and bitwise operators on two numbers; anything else, or a zero divisor, is undefined."""
    if not (is_number(left) and is_number(right)):
        return UNDEFINED
    if op in ("|", "&", "^", "<<", ">>", ">>>"):
        return _bitwise(op, left, right)
    if op == "+":
        return number_result(left + right)
    if op == "-":
        return number_result(left - right)
    if op == "*":
        return number_result(left * right)
    if right == 0:
        return UNDEFINED
    if op == "/":
        if isinstance(left, int) and isinstance(right, int) and left % right == 0:
            return number_result(left // right)
        return number_result(left / right)
    # '%' keeps the sign of the dividend, as in C and JavaScript (Cosmos DB numbers are doubles).
    return number_result(math.fmod(left, right))
