"""Tokenizer for the Cosmos DB NoSQL query language.

Follows the lexical rules of the documented grammar
(https://learn.microsoft.com/azure/cosmos-db/nosql/query/): keywords are case-insensitive,
identifiers case-sensitive, string literals take single or double quotes with JSON-style escapes,
parameters are ``@name`` and ``--`` starts a comment that runs to the end of the line.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import Enum

from devstack.cosmos.query.errors import QueryError


class Kind(Enum):
    """Token kinds."""

    NUMBER = "number"
    STRING = "string"
    IDENT = "identifier"
    KEYWORD = "keyword"
    PARAM = "parameter"
    OP = "operator"
    EOF = "end of query"


# Reserved words: an identifier spelled like one of these (in any case) is a keyword. Words the
# engine does not implement (JOIN, EXISTS, ...) are reserved too so the parser can name them.
KEYWORDS = frozenset(
    {
        "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "BETWEEN", "LIKE", "ESCAPE", "VALUE",
        "DISTINCT", "TOP", "ORDER", "BY", "ASC", "DESC", "OFFSET", "LIMIT", "GROUP", "AS", "TRUE",
        "FALSE", "NULL", "UNDEFINED", "JOIN", "EXISTS", "HAVING",
    }
)

# Longest first so that "<=" wins over "<", "??" over "?", ">>>" over ">>".
OPERATORS = (
    ">>>", "<=", ">=", "!=", "<>", "||", "??", "<<", ">>",
    "(", ")", "[", "]", "{", "}", ",", ".", ":", "?", "*", "/", "%", "+", "-", "=", "<", ">",
    "|", "&", "^", "~",
)

ESCAPES = {'"': '"', "'": "'", "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


@dataclass(frozen=True)
class Token:
    """One token: its kind, its value (keywords upper-cased, literals decoded) and its offset."""

    kind: Kind
    value: object
    pos: int
    text: str = ""

    def is_op(self, *ops: str) -> bool:
        """True if this is one of the given operators."""
        return self.kind is Kind.OP and self.value in ops

    def is_keyword(self, *words: str) -> bool:
        """True if this is one of the given keywords (upper-case)."""
        return self.kind is Kind.KEYWORD and self.value in words


def _is_digit(char: str) -> bool:
    # ASCII only, as in JSON numbers: str.isdigit also accepts '²' or '٣', which float() refuses or reads.
    return "0" <= char <= "9"


def tokenize(text: str) -> list[Token]:
    """Split query text into tokens, ending with an EOF token."""
    return list(_Scanner(text).tokens())


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def tokens(self) -> Iterator[Token]:
        while True:
            self._skip_blanks()
            if self.pos >= len(self.text):
                yield Token(Kind.EOF, None, self.pos)
                return
            yield self._next()

    def _skip_blanks(self) -> None:
        text = self.text
        while self.pos < len(text):
            if text[self.pos].isspace():
                self.pos += 1
            elif text.startswith("--", self.pos):
                end = text.find("\n", self.pos)
                self.pos = len(text) if end < 0 else end + 1
            else:
                return

    def _next(self) -> Token:
        char = self.text[self.pos]
        if _is_digit(char):
            return self._number()
        if char in "'\"":
            return self._string(char)
        if char.isalpha() or char == "_":
            return self._word()
        if char == "@":
            return self._param()
        for op in OPERATORS:
            if self.text.startswith(op, self.pos):
                self.pos += len(op)
                return Token(Kind.OP, op, self.pos - len(op), op)
        raise QueryError(f"unexpected character {char!r}", self.pos)

    def _scan_while(self, start: int, predicate: Callable[[str], bool]) -> int:
        end = start
        while end < len(self.text) and predicate(self.text[end]):
            end += 1
        return end

    def _word(self) -> Token:
        start = self.pos
        self.pos = self._scan_while(start, lambda ch: ch.isalnum() or ch == "_")
        word = self.text[start:self.pos]
        if word.upper() in KEYWORDS:
            return Token(Kind.KEYWORD, word.upper(), start, word)
        return Token(Kind.IDENT, word, start, word)

    def _param(self) -> Token:
        start = self.pos
        self.pos = self._scan_while(start + 1, lambda ch: ch.isalnum() or ch == "_")
        if self.pos == start + 1:
            raise QueryError("expected a parameter name after '@'", start)
        name = self.text[start:self.pos]
        return Token(Kind.PARAM, name, start, name)

    def _number(self) -> Token:
        start = self.pos
        end = self._scan_while(start, _is_digit)
        is_float = False
        if end + 1 < len(self.text) and self.text[end] == "." and _is_digit(self.text[end + 1]):
            end = self._scan_while(end + 1, _is_digit)
            is_float = True
        if end < len(self.text) and self.text[end] in "eE":
            exp = end + 1
            if exp < len(self.text) and self.text[exp] in "+-":
                exp += 1
            if exp >= len(self.text) or not _is_digit(self.text[exp]):
                raise QueryError("malformed number exponent", end)
            end = self._scan_while(exp, _is_digit)
            is_float = True
        if end < len(self.text) and (self.text[end].isalpha() or self.text[end] == "_"):
            raise QueryError("malformed number", start)
        self.pos = end
        literal = self.text[start:end]
        # JSON numbers are IEEE-754 doubles in Cosmos DB; a literal beyond that range cannot exist.
        if not math.isfinite(float(literal)):
            raise QueryError("number literal out of range", start)
        value: int | float = float(literal) if is_float else int(literal)
        if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
            value = int(value)  # Cosmos DB prints integral doubles without a fraction: 1.5e2 is 150
        return Token(Kind.NUMBER, value, start, literal)

    def _string(self, quote: str) -> Token:
        start = self.pos
        self.pos += 1
        chars: list[str] = []
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == quote:
                self.pos += 1
                return Token(Kind.STRING, "".join(chars), start, self.text[start:self.pos])
            if char == "\\":
                chars.append(self._escape())
            else:
                chars.append(char)
                self.pos += 1
        raise QueryError("unterminated string literal", start)

    def _escape(self) -> str:
        at = self.pos
        code = self.text[at + 1:at + 2]
        if code in ESCAPES:
            self.pos += 2
            return ESCAPES[code]
        if code == "u":
            unit = self._hex4(at + 2)
            if unit is not None:
                self.pos += 6
                # A UTF-16 surrogate pair written as two escapes is one character (as in JSON).
                low = self._hex4(self.pos + 2) if self.text.startswith("\\u", self.pos) else None
                if 0xD800 <= unit < 0xDC00 and low is not None and 0xDC00 <= low < 0xE000:
                    self.pos += 6
                    return chr(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))
                return chr(unit)
        raise QueryError("invalid escape sequence in string literal", at)

    def _hex4(self, at: int) -> int | None:
        digits = self.text[at:at + 4]
        if len(digits) == 4 and all(ch in "0123456789abcdefABCDEF" for ch in digits):
            return int(digits, 16)
        return None
