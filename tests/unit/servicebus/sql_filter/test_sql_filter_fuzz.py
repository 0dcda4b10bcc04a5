"""Property-based fuzzing of the Service Bus SQL filter compiler (lexer + parser) and its evaluator:
any text compiles or raises SqlFilterError with a position inside it, never another exception or a
hang (each example has a deadline); a compiled filter's ``matches`` never raises, whatever the
message's property values."""
from __future__ import annotations

import datetime as dt
import uuid
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devstack.servicebus.core.sql_filter import SqlFilterError, compile_sql_filter

TOKENS = [
    "a", "b", "sys.Label", "sys.MessageId", "sys.Nope", "user.a", "[x y]", "[a]]b]", '"q"', '"a""b"', "'s'", "''",
    "'it''s'", "'", "1", "-9223372036854775808", "9223372036854775808", "2.5", ".5", "2.", "1e3", "1e999", "NULL",
    "TRUE", "FALSE", "=", "<>", "!=", ">", ">=", "<", "<=", "+", "-", "*", "/", "%", "(", ")", ",", "AND", "OR",
    "NOT", "IN", "LIKE", "ESCAPE", "IS", "EXISTS", ".", "@p", "newid()", "]", "[", "#", "--", "/*", "²", "٣",
    "'%a%a%a%a%b'", "'!'", "'ab'",
]
SEEDS = [
    "sys.Label = 'OrderPlaced' AND (Priority > 3 OR region IN ('eu', 'us'))",
    "NOT (a LIKE 'x!%%' ESCAPE '!') OR b IS NOT NULL",
    "EXISTS(note) AND weight * 2 + 1 >= 10.5 AND sys.DeliveryCount <> 0",
    "[odd name] = 'v' AND \"quoted\" <> -9223372036854775808 AND region NOT IN ('a', NULL)",
]
VALUES: list[Any] = [None, 0, -1, 2**63, 2.5, float("nan"), float("inf"), "", "eu", "a%b", "a" * 40, True, b"\x00",
                     uuid.UUID(int=1), dt.datetime(2024, 1, 1), dt.timedelta(seconds=5), [1], {"k": 1}]
FUZZ = settings(max_examples=300, deadline=timedelta(seconds=2), suppress_health_check=[HealthCheck.too_slow])
PROPERTIES = st.dictionaries(st.sampled_from(["a", "b", "Priority", "region", "note", "weight", "p", "x y"]),
                             st.sampled_from(VALUES), max_size=5)


def _compiles_cleanly(expression: str, user: dict[str, Any]) -> None:
    try:
        compiled = compile_sql_filter(expression)
    except SqlFilterError as error:
        assert error.message
        assert error.position is None or 0 <= error.position <= len(expression), (expression, error.position)
        return
    system = {"Label": "OrderPlaced", "MessageId": "m-1", "DeliveryCount": 1}
    assert compiled.matches(system, user) in (True, False)
    outcome = compiled.evaluate(system, user)
    assert outcome.error is None or outcome.matched is False


@FUZZ
@given(tokens=st.lists(st.sampled_from(TOKENS), min_size=1, max_size=14), user=PROPERTIES)
def test_token_soup(tokens: list[str], user: dict[str, Any]) -> None:
    _compiles_cleanly(" ".join(tokens), user)


@FUZZ
@given(text=st.text(max_size=60), user=PROPERTIES)
def test_arbitrary_unicode_text(text: str, user: dict[str, Any]) -> None:
    _compiles_cleanly(text, user)
    _compiles_cleanly(f"a = {text}", user)


@st.composite
def _mutated(draw: st.DrawFn) -> str:
    chars = list(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 5))):
        position = draw(st.integers(0, len(chars)))
        action = draw(st.sampled_from(["delete", "insert", "token"]))
        if action == "delete" and chars:
            del chars[min(position, len(chars) - 1)]
        elif action == "insert":
            chars.insert(position, draw(st.characters()))
        else:
            chars.insert(position, f" {draw(st.sampled_from(TOKENS))} ")
    return "".join(chars)


@FUZZ
@given(expression=_mutated(), user=PROPERTIES)
def test_mutated_valid_filters(expression: str, user: dict[str, Any]) -> None:
    _compiles_cleanly(expression, user)


def test_seeds_compile() -> None:
    for expression in SEEDS:
        compile_sql_filter(expression)
