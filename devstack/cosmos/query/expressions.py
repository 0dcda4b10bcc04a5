"""Pratt parser for scalar expressions.

Binding powers, loosest first (the documented grammar puts NOT above AND above OR, see
https://learn.microsoft.com/azure/cosmos-db/nosql/query/logical-operators; the rest follows SQL
convention): ``? :``, OR, AND, NOT, ``??``, comparisons / IN / LIKE / BETWEEN, ``||``, ``+ -``,
``* / %``, unary ``- + ~``, then member access ``.`` and ``[ ]``. Bitwise ``| ^ &`` bind with
``||``, shifts between ``||`` and ``+ -``.
"""
from __future__ import annotations

from devstack.cosmos.query.errors import QueryError, unsupported
from devstack.cosmos.query.functions import AGGREGATES, FUNCTIONS
from devstack.cosmos.query.lexer import Kind, Token
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
from devstack.cosmos.query.values import UNDEFINED

(
    BP_TERNARY, BP_OR, BP_AND, BP_NOT, BP_COALESCE, BP_COMPARE, BP_CONCAT, BP_SHIFT, BP_ADD, BP_MUL, BP_UNARY,
    BP_MEMBER,
) = range(1, 13)

INFIX_OPS = {
    "?": BP_TERNARY, "??": BP_COALESCE, "||": BP_CONCAT,
    "=": BP_COMPARE, "!=": BP_COMPARE, "<>": BP_COMPARE, "<": BP_COMPARE, "<=": BP_COMPARE,
    ">": BP_COMPARE, ">=": BP_COMPARE,
    "+": BP_ADD, "-": BP_ADD, "*": BP_MUL, "/": BP_MUL, "%": BP_MUL,
    ".": BP_MEMBER, "[": BP_MEMBER,
    # Bitwise operators: shifts bind as in C, between additive and relational; | ^ & bind with ||,
    # tighter than comparisons (unlike C) so that "c.flags & 4 = 4" tests a bit.
    "|": BP_CONCAT, "&": BP_CONCAT, "^": BP_CONCAT, "<<": BP_SHIFT, ">>": BP_SHIFT, ">>>": BP_SHIFT,
}
INFIX_KEYWORDS = {"OR": BP_OR, "AND": BP_AND, "IN": BP_COMPARE, "LIKE": BP_COMPARE, "BETWEEN": BP_COMPARE}
CONSTANTS = {"TRUE": True, "FALSE": False, "NULL": None, "UNDEFINED": UNDEFINED}
MAX_DEPTH = 100  # deeper nesting is rejected instead of exhausting Python's stack


class TokenStream:
    """A cursor over tokens with the small helpers every parser step needs."""

    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.index = 0

    @property
    def current(self) -> Token:
        """The next unconsumed token."""
        return self.tokens[self.index]

    def peek(self, ahead: int = 1) -> Token:
        """The token ``ahead`` places after the current one (EOF past the end)."""
        return self.tokens[min(self.index + ahead, len(self.tokens) - 1)]

    def advance(self) -> Token:
        """Consume and return the current token."""
        token = self.current
        if token.kind is not Kind.EOF:
            self.index += 1
        return token

    def accept_op(self, op: str) -> bool:
        """Consume the operator if it is next."""
        if self.current.is_op(op):
            self.advance()
            return True
        return False

    def accept_keyword(self, word: str) -> bool:
        """Consume the keyword if it is next."""
        if self.current.is_keyword(word):
            self.advance()
            return True
        return False

    def expect_op(self, op: str) -> Token:
        """Consume the operator or fail naming what was found instead."""
        if not self.current.is_op(op):
            raise self.unexpected(f"'{op}'")
        return self.advance()

    def expect_keyword(self, word: str) -> Token:
        """Consume the keyword or fail naming what was found instead."""
        if not self.current.is_keyword(word):
            raise self.unexpected(word)
        return self.advance()

    def unexpected(self, wanted: str) -> QueryError:
        """A syntax error at the current token."""
        token = self.current
        found = "end of query" if token.kind is Kind.EOF else f"'{token.text}'"
        return QueryError(f"syntax error: expected {wanted} but found {found}", token.pos)


class ExpressionParser:
    """Parses one scalar expression at a time from a shared token stream."""

    def __init__(self, stream: TokenStream) -> None:
        self.stream = stream
        self.depth = 0

    def parse(self, min_bp: int = 0) -> Expr:
        """An expression whose operators all bind tighter than ``min_bp``."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise QueryError("expression is nested too deeply", self.stream.current.pos)
        try:
            left = self._prefix()
            while min_bp < self._infix_power():
                left = self._infix(left)
            return left
        finally:
            self.depth -= 1

    def _infix_power(self) -> int:
        token = self.stream.current
        if token.kind is Kind.OP:
            return INFIX_OPS.get(str(token.value), 0)
        if token.kind is Kind.KEYWORD:
            if token.value == "NOT" and self.stream.peek().is_keyword("IN", "LIKE", "BETWEEN"):
                return BP_COMPARE
            return INFIX_KEYWORDS.get(str(token.value), 0)
        return 0

    # --- prefix (null denotation) ---------------------------------------------------------------

    def _prefix(self) -> Expr:
        stream = self.stream
        token = stream.current
        if token.kind in (Kind.NUMBER, Kind.STRING):
            stream.advance()
            return Literal(token.value, token.pos)
        if token.kind is Kind.PARAM:
            stream.advance()
            return Param(str(token.value), token.pos)
        if token.kind is Kind.IDENT:
            return self._identifier()
        if token.kind is Kind.KEYWORD:
            return self._keyword_prefix(token)
        if token.is_op("("):
            return self._parenthesised()
        if token.is_op("["):
            return self._array()
        if token.is_op("{"):
            return self._object()
        if token.is_op("-", "+", "~"):
            stream.advance()
            return Unary(str(token.value), self.parse(BP_UNARY), token.pos)
        raise stream.unexpected("an expression")

    def _keyword_prefix(self, token: Token) -> Expr:
        if token.value in CONSTANTS:
            self.stream.advance()
            return Literal(CONSTANTS[str(token.value)], token.pos)
        if token.value == "NOT":
            self.stream.advance()
            return Unary("NOT", self.parse(BP_NOT), token.pos)
        if token.value in ("SELECT", "EXISTS"):
            raise unsupported("subquery" if token.value == "SELECT" else "EXISTS subquery", token.pos)
        raise self.stream.unexpected("an expression")

    def _identifier(self) -> Expr:
        stream = self.stream
        token = stream.advance()
        name = str(token.value)
        if stream.current.is_op("("):
            return self._call(token)
        if name.lower() == "udf" and stream.current.is_op("."):
            raise unsupported("user-defined function (udf.)", token.pos)
        return Ident(name, token.pos)

    def _call(self, name_token: Token) -> Expr:
        name = str(name_token.value).upper()
        if name.startswith("ST_"):
            raise unsupported(f"spatial function {name}", name_token.pos)
        if name == "ARRAY" and self.stream.peek().is_keyword("SELECT"):
            raise unsupported("ARRAY subquery", name_token.pos)
        if name not in FUNCTIONS and name not in AGGREGATES:
            raise unsupported(f"function {name}", name_token.pos)
        self.stream.expect_op("(")
        args = self._list_until(")")
        low, high = (1, 1) if name in AGGREGATES else (FUNCTIONS[name].min_args, FUNCTIONS[name].max_args)
        if not low <= len(args) <= high:
            wanted = str(low) if low == high else f"{low} to {high}"
            raise QueryError(f"function {name} takes {wanted} argument(s), got {len(args)}", name_token.pos)
        return Call(name, tuple(args), name_token.pos)

    def _list_until(self, closing: str) -> list[Expr]:
        """Comma-separated expressions up to and including the closing bracket."""
        items: list[Expr] = []
        if self.stream.accept_op(closing):
            return items
        while True:
            items.append(self.parse())
            if self.stream.accept_op(closing):
                return items
            if not self.stream.accept_op(","):
                raise self.stream.unexpected(f"',' or '{closing}'")

    def _parenthesised(self) -> Expr:
        start = self.stream.advance()
        if self.stream.current.is_keyword("SELECT"):
            raise unsupported("subquery", start.pos)
        inner = self.parse()
        self.stream.expect_op(")")
        return inner

    def _array(self) -> Expr:
        start = self.stream.advance()
        return ArrayLit(tuple(self._list_until("]")), start.pos)

    def _object(self) -> Expr:
        stream = self.stream
        start = stream.advance()
        entries: list[tuple[str, Expr]] = []
        while not stream.accept_op("}"):
            if entries:
                stream.expect_op(",")
            key_token = stream.current
            if key_token.kind not in (Kind.STRING, Kind.IDENT):
                raise stream.unexpected("a property name")
            stream.advance()
            key = str(key_token.value)
            if any(key == existing for existing, _ in entries):
                raise QueryError(f"duplicate property name '{key}' in object literal", key_token.pos)
            stream.expect_op(":")
            entries.append((key, self.parse()))
        return ObjectLit(tuple(entries), start.pos)

    # --- infix (left denotation) ----------------------------------------------------------------

    def _infix(self, left: Expr) -> Expr:
        stream = self.stream
        token = stream.advance()
        if token.kind is Kind.KEYWORD:
            return self._keyword_infix(left, token)
        op = str(token.value)
        if op == ".":
            return self._member(left)
        if op == "[":
            return self._index(left)
        if op == "?":
            when_true = self.parse()
            stream.expect_op(":")
            return Ternary(left, when_true, self.parse(BP_TERNARY - 1), token.pos)
        op = "!=" if op == "<>" else op
        return Binary(op, left, self.parse(INFIX_OPS[op]), token.pos)

    def _keyword_infix(self, left: Expr, token: Token) -> Expr:
        stream = self.stream
        if token.value in ("AND", "OR"):
            return Binary(str(token.value), left, self.parse(INFIX_KEYWORDS[str(token.value)]), token.pos)
        negated = token.value == "NOT"
        operator = stream.advance() if negated else token
        if operator.value == "IN":
            stream.expect_op("(")
            if stream.current.is_keyword("SELECT"):
                raise unsupported("subquery", stream.current.pos)
            return InList(left, tuple(self._list_until(")")), negated, token.pos)
        if operator.value == "BETWEEN":
            low = self.parse(BP_COMPARE)
            stream.expect_keyword("AND")
            return Between(left, low, self.parse(BP_COMPARE), negated, token.pos)
        pattern = self.parse(BP_COMPARE)
        escape = self.parse(BP_COMPARE) if stream.accept_keyword("ESCAPE") else None
        return Like(left, pattern, escape, negated, token.pos)

    def _member(self, left: Expr) -> Expr:
        name = self.stream.current
        # After a dot any word is a property name, keywords included (c.value, c.order).
        if name.kind not in (Kind.IDENT, Kind.KEYWORD):
            raise self.stream.unexpected("a property name after '.'")
        self.stream.advance()
        return Member(left, name.text, left.pos)

    def _index(self, left: Expr) -> Expr:
        index = self.parse()
        self.stream.expect_op("]")
        if isinstance(index, Literal) and isinstance(index.value, str):
            return Member(left, index.value, left.pos)
        return Index(left, index, left.pos)
