"""Syntax tree of a Service Bus SQL filter.

The docs' grammar separates <predicate> (true/false/unknown) from <expression> (a value); the
parser keeps that split, so every node is one or the other.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Literal:
    """A constant: Int64, double, string, boolean or NULL."""

    value: Any
    position: int


@dataclass(frozen=True)
class Property:
    """A message property: scope 'sys' (canonical broker name) or 'user'."""

    scope: str
    name: str
    position: int


@dataclass(frozen=True)
class Negate:
    """Unary minus (unary plus is dropped by the parser after checking its operand)."""

    operand: Expression
    position: int


@dataclass(frozen=True)
class Arithmetic:
    """Binary + - * / %."""

    operator: str
    left: Expression
    right: Expression
    position: int


@dataclass(frozen=True)
class Comparison:
    """Binary = <> != > >= < <=."""

    operator: str
    left: Expression
    right: Expression
    position: int


@dataclass(frozen=True)
class InList:
    """<expression> [NOT] IN (<expression>, ...)."""

    operand: Expression
    items: tuple[Expression, ...]
    negated: bool
    position: int


@dataclass(frozen=True)
class Like:
    """<expression> [NOT] LIKE <pattern> [ESCAPE <escape_char>]."""

    operand: Expression
    pattern: Expression
    escape: Expression | None
    negated: bool
    position: int


@dataclass(frozen=True)
class IsNull:
    """<property> IS [NOT] NULL."""

    operand: Property
    negated: bool
    position: int


@dataclass(frozen=True)
class Exists:
    """EXISTS(<property>)."""

    operand: Property
    position: int


@dataclass(frozen=True)
class Not:
    """NOT <predicate>."""

    operand: Predicate
    position: int


@dataclass(frozen=True)
class Logical:
    """<predicate> AND|OR <predicate> ...: chains are kept flat so long filters stay shallow."""

    operator: str
    operands: tuple[Predicate, ...]
    position: int


Expression = Literal | Property | Negate | Arithmetic
Predicate = Comparison | InList | Like | IsNull | Exists | Not | Logical
Node = Expression | Predicate

EXPRESSION_TYPES = (Literal, Property, Negate, Arithmetic)
PREDICATE_TYPES = (Comparison, InList, Like, IsNull, Exists, Not, Logical)
