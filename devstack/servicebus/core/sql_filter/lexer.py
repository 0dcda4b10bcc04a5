"""Tokenizer for Service Bus SQL filter expressions.

Lexical rules follow "Subscription Rule SQL Filter Syntax"
(learn.microsoft.com/azure/service-bus-messaging/service-bus-messaging-sql-filter): regular
identifiers start with a letter and continue with letters, digits or '_'; `[delimited]` identifiers
escape ']' as ']]'; "quoted" identifiers escape '"' as '""'; string constants use '' for a quote;
integer constants are Int64, decimal and exponent constants are doubles. Keywords are
case-insensitive, as in T-SQL.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass

from devstack.servicebus.core.sql_filter.errors import SqlFilterError

KEYWORDS = frozenset(
    {"AND", "OR", "NOT", "IN", "LIKE", "ESCAPE", "IS", "NULL", "TRUE", "FALSE", "EXISTS"}
)

# Longest first so that '<=' wins over '<'.
_OPERATORS = ("<>", "!=", ">=", "<=", "=", ">", "<", "+", "-", "*", "/", "%", "(", ")", ",", ".")

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)


class Kind(enum.Enum):
    """What a token is."""

    INTEGER = "integer"
    DECIMAL = "decimal"
    STRING = "string"
    IDENTIFIER = "identifier"  # a regular identifier that is not a keyword
    NAME = "name"  # a [delimited] or "quoted" identifier: never a keyword
    KEYWORD = "keyword"
    OPERATOR = "operator"
    END = "end of expression"


@dataclass(frozen=True)
class Token:
    """One token: its kind, its value (upper-cased for keywords) and where it starts."""

    kind: Kind
    value: str | int | float
    position: int
    text: str

    def is_keyword(self, *words: str) -> bool:
        """True if this token is one of the given keywords."""
        return self.kind is Kind.KEYWORD and self.value in words

    def is_operator(self, *symbols: str) -> bool:
        """True if this token is one of the given operator symbols."""
        return self.kind is Kind.OPERATOR and self.value in symbols


def tokenize(source: str) -> list[Token]:
    """Split a filter expression into tokens, ending with an END token."""
    tokens: list[Token] = []
    index = 0
    while index < len(source):
        char = source[index]
        if char.isspace():
            index += 1
            continue
        token = _next_token(source, index, tokens[-1] if tokens else None)
        tokens.append(token)
        index += len(token.text)
    tokens.append(Token(Kind.END, "", len(source), ""))
    return tokens


def _next_token(source: str, index: int, previous: Token | None) -> Token:
    char = source[index]
    if _is_ascii_digit(char) or (char == "." and _starts_number_after_dot(source, index, previous)):
        return _number(source, index)
    if char.isalpha():
        return _word(source, index)
    if char == "'":
        text, value = _delimited(source, index, "'", "string constant")
        return Token(Kind.STRING, value, index, text)
    if char == "[":
        text, value = _delimited(source, index, "]", "delimited identifier")
        return Token(Kind.NAME, value, index, text)
    if char == '"':
        text, value = _delimited(source, index, '"', "quoted identifier")
        return Token(Kind.NAME, value, index, text)
    if char == "@":
        raise SqlFilterError(
            "SQL filter parameters (@name) are not supported; write the value as a constant", index
        )
    for symbol in _OPERATORS:
        if source.startswith(symbol, index):
            return Token(Kind.OPERATOR, symbol, index, symbol)
    raise SqlFilterError(f"unexpected character {char!r}", index)


def _starts_number_after_dot(source: str, index: int, previous: Token | None) -> bool:
    # '.5' is a decimal constant, but in 'sys.Label' the dot separates scope and name.
    follows_name = previous is not None and (
        previous.kind in (Kind.IDENTIFIER, Kind.NAME, Kind.KEYWORD)
        and previous.position + len(previous.text) == index
    )
    return not follows_name and index + 1 < len(source) and _is_ascii_digit(source[index + 1])


def _number(source: str, start: int) -> Token:
    index = _skip_digits(source, start)
    is_decimal = False
    if index < len(source) and source[index] == ".":
        is_decimal = True
        index = _skip_digits(source, index + 1)
    if index < len(source) and source[index] in "eE":
        exponent_start = index + 1
        if exponent_start < len(source) and source[exponent_start] in "+-":
            exponent_start += 1
        exponent_end = _skip_digits(source, exponent_start)
        if exponent_end == exponent_start:
            raise SqlFilterError("exponent of a numeric constant has no digits", index)
        is_decimal, index = True, exponent_end
    if index < len(source) and (source[index].isalpha() or source[index] == "_"):
        raise SqlFilterError(f"invalid numeric constant {source[start:index + 1]!r}", start)
    text = source[start:index]
    if is_decimal:
        return Token(Kind.DECIMAL, float(text), start, text)
    # The Int64 range is checked by the parser, which alone knows about a leading minus sign.
    return Token(Kind.INTEGER, int(text), start, text)


def _skip_digits(source: str, index: int) -> int:
    while index < len(source) and _is_ascii_digit(source[index]):
        index += 1
    return index


def _is_ascii_digit(char: str) -> bool:
    return "0" <= char <= "9"


def _word(source: str, start: int) -> Token:
    index = start + 1
    while index < len(source) and _continues_identifier(source[index]):
        index += 1
    text = source[start:index]
    if text.upper() in KEYWORDS:
        return Token(Kind.KEYWORD, text.upper(), start, text)
    return Token(Kind.IDENTIFIER, text, start, text)


def _continues_identifier(char: str) -> bool:
    # The docs' [_[:IsLetter:][:IsDigit:]]: .NET IsDigit means a Unicode decimal digit.
    return char == "_" or char.isalpha() or char.isdecimal()


def _delimited(source: str, start: int, closer: str, what: str) -> tuple[str, str]:
    """Read a quoted run where a doubled closer stands for one closer; return (text, value)."""
    parts: list[str] = []
    index = start + 1
    while index < len(source):
        char = source[index]
        if char == closer:
            if source.startswith(closer * 2, index):
                parts.append(closer)
                index += 2
                continue
            return source[start:index + 1], "".join(parts)
        parts.append(char)
        index += 1
    raise SqlFilterError(f"unterminated {what}", start)
