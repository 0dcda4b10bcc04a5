"""The syntax tree: immutable nodes, each remembering where it starts in the query text.

Positions take no part in equality, so two spellings of the same expression compare equal; GROUP
BY relies on that to recognise a grouped expression when it appears again in the projection.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Literal:
    """A JSON constant, or the ``undefined`` keyword."""

    value: Any
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Param:
    """``@name``; the value comes from the parameters passed at execution."""

    name: str
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Ident:
    """A reference to the FROM alias."""

    name: str
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Member:
    """``obj.name`` or ``obj["name"]``."""

    obj: Expr
    name: str
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Index:
    """``obj[expr]`` where expr is not a string literal (array index or computed property)."""

    obj: Expr
    index: Expr
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Unary:
    """``-x``, ``+x``, ``NOT x``."""

    op: str
    operand: Expr
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Binary:
    """Arithmetic, comparison, logical, ``||`` and ``??``."""

    op: str
    left: Expr
    right: Expr
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Ternary:
    """``cond ? when_true : when_false``."""

    cond: Expr
    when_true: Expr
    when_false: Expr
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Between:
    """``x [NOT] BETWEEN low AND high``."""

    expr: Expr
    low: Expr
    high: Expr
    negated: bool
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class InList:
    """``x [NOT] IN (a, b, ...)``."""

    expr: Expr
    items: tuple[Expr, ...]
    negated: bool
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Like:
    """``x [NOT] LIKE pattern [ESCAPE char]``."""

    expr: Expr
    pattern: Expr
    escape: Expr | None
    negated: bool
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Call:
    """A built-in function or aggregate; ``name`` is upper-case."""

    name: str
    args: tuple[Expr, ...]
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class ArrayLit:
    """``[a, b, ...]``."""

    items: tuple[Expr, ...]
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class ObjectLit:
    """``{"key": expr, ...}``."""

    entries: tuple[tuple[str, Expr], ...]
    pos: int = field(default=0, compare=False)


Expr = (
    Literal | Param | Ident | Member | Index | Unary | Binary | Ternary | Between | InList | Like | Call | ArrayLit
    | ObjectLit
)


def children(node: Expr) -> tuple[Expr, ...]:
    """The direct sub-expressions of a node, in source order."""
    if isinstance(node, Member):
        return (node.obj,)
    if isinstance(node, Index):
        return (node.obj, node.index)
    if isinstance(node, Unary):
        return (node.operand,)
    if isinstance(node, Binary):
        return (node.left, node.right)
    if isinstance(node, Ternary):
        return (node.cond, node.when_true, node.when_false)
    if isinstance(node, Between):
        return (node.expr, node.low, node.high)
    if isinstance(node, InList):
        return (node.expr, *node.items)
    if isinstance(node, Like):
        return (node.expr, node.pattern) + ((node.escape,) if node.escape is not None else ())
    if isinstance(node, Call):
        return node.args
    if isinstance(node, ArrayLit):
        return node.items
    if isinstance(node, ObjectLit):
        return tuple(value for _, value in node.entries)
    return ()


def walk(node: Expr) -> Iterator[Expr]:
    """Every node of the tree rooted at ``node``, parents before children."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(children(current)))


# --- clauses ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SelectItem:
    """One projected expression and the property name it gets in the result."""

    expr: Expr
    alias: str | None
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class FromClause:
    """``FROM <container>[.path] [AS] alias`` or ``FROM alias IN <container>.path``.

    ``path`` is the property path under the document; ``iterate`` means each element of the array
    at that path is one row (the ``IN`` form), otherwise the value itself is the row.
    """

    alias: str
    path: tuple[str | int, ...]
    iterate: bool
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class SortKey:
    """One ORDER BY expression and its direction."""

    expr: Expr
    descending: bool


@dataclass(frozen=True)
class Query:
    """A parsed query, ready for ``execute_query``.

    Exactly one of: ``select_star``, ``select_value`` (SELECT VALUE expr) or ``items`` (a list of
    projected expressions). ``top``, ``offset`` and ``limit`` are number literals or parameters.
    """

    text: str
    select_star: bool = False
    select_value: Expr | None = None
    items: tuple[SelectItem, ...] = ()
    distinct: bool = False
    top: Expr | None = None
    source: FromClause | None = None
    where: Expr | None = None
    group_by: tuple[Expr, ...] = ()
    order_by: tuple[SortKey, ...] = ()
    offset: Expr | None = None
    limit: Expr | None = None
    select_pos: int = field(default=0, compare=False)  # where the selection (``*``, VALUE, list) starts

    @property
    def from_alias(self) -> str | None:
        """The name rows are bound to (``c`` in ``FROM c``, ``r`` in ``FROM root r``), or None without FROM."""
        return self.source.alias if self.source is not None else None

    def expressions(self) -> list[Expr]:
        """Every top-level expression of every clause, in source order."""
        found: list[Expr] = [item.expr for item in self.items]
        found += [e for e in (self.select_value, self.top, self.where) if e is not None]
        found += list(self.group_by) + [key.expr for key in self.order_by]
        return found + [e for e in (self.offset, self.limit) if e is not None]
