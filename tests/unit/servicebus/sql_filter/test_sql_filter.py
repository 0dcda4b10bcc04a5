"""Service Bus SQL filter engine: data-driven evaluation and syntax-error cases, plus API guarantees.

The cases live in cases/ (jmespath-style compliance data): evaluation.json runs each
expression against a sample message from messages.json; syntax_errors.json lists expressions that
must be rejected with a position.
"""
from __future__ import annotations

import datetime as dt
import decimal
import json
import random
import re
import time
import uuid
from pathlib import Path
from typing import Any, ClassVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devstack.servicebus.core.sql_filter import (
    FilterOutcome,
    SqlFilter,
    SqlFilterError,
    compile_sql_filter,
)

CASES_DIR = Path(__file__).parent / "cases"


def _decode(value: Any) -> Any:
    """Turn the typed-value markers of messages.json into Python values."""
    if isinstance(value, dict) and len(value) == 1:
        (tag, raw), = value.items()
        decoders = {
            "$datetime": dt.datetime.fromisoformat,
            "$timespan_seconds": lambda seconds: dt.timedelta(seconds=seconds),
            "$uuid": uuid.UUID,
            "$decimal": decimal.Decimal,
            "$bytes_hex": bytes.fromhex,
        }
        if tag in decoders:
            return decoders[tag](raw)
    return value


def _load_messages() -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    raw = json.loads((CASES_DIR / "messages.json").read_text(encoding="utf-8"))
    raw.pop("comment")
    return {
        name: (
            {key: _decode(value) for key, value in message["system"].items()},
            {key: _decode(value) for key, value in message["user"].items()},
        )
        for name, message in raw.items()
    }


MESSAGES = _load_messages()


def _evaluation_cases() -> list[Any]:
    data = json.loads((CASES_DIR / "evaluation.json").read_text(encoding="utf-8"))
    return [
        pytest.param(
            case["expression"], case.get("message", "order"), case["expected"],
            id=f"{group['name']}: {case['expression']}",
        )
        for group in data["groups"]
        for case in group["cases"]
    ]


def _syntax_error_cases() -> list[Any]:
    data = json.loads((CASES_DIR / "syntax_errors.json").read_text(encoding="utf-8"))
    return [
        pytest.param(case["expression"], case["position"], case["message"],
                     id=case["expression"][:60] or "<empty>")
        for case in data["cases"]
    ]


@pytest.mark.parametrize(("expression", "message", "expected"), _evaluation_cases())
def test_evaluation(expression: str, message: str, expected: str) -> None:
    system, user = MESSAGES[message]
    outcome = compile_sql_filter(expression).evaluate(system, user)
    negated = compile_sql_filter(f"NOT ({expression})").evaluate(system, user)

    if expected == "error":
        assert outcome.matched is False and outcome.error, outcome
        assert compile_sql_filter(expression).matches(system, user) is False
        return
    assert outcome.error is None and negated.error is None, (outcome, negated)
    # NOT tells FALSE from UNKNOWN: NOT FALSE is TRUE, but NOT UNKNOWN is still UNKNOWN.
    observed = {(True, False): "true", (False, True): "false", (False, False): "unknown"}
    assert observed[(outcome.matched, negated.matched)] == expected


@pytest.mark.parametrize(("expression", "position", "fragment"), _syntax_error_cases())
def test_syntax_error(expression: str, position: int, fragment: str) -> None:
    with pytest.raises(SqlFilterError) as caught:
        compile_sql_filter(expression)
    assert caught.value.position == position, caught.value
    assert fragment in caught.value.message
    assert f"position {position}" in str(caught.value)


def test_compiled_filter_keeps_its_expression_and_is_reusable() -> None:
    expression = "sys.Label = 'OrderPlaced' AND Priority > 3"
    compiled = compile_sql_filter(expression)

    assert isinstance(compiled, SqlFilter)
    assert compiled.expression == expression
    assert compiled.matches({"Label": "OrderPlaced"}, {"Priority": 4}) is True
    assert compiled.matches({"Label": "OrderPlaced"}, {"Priority": 2}) is False
    assert compiled.matches({"Label": "OrderPlaced"}, {"Priority": 4}) is True


def test_error_is_a_value_error_with_position() -> None:
    with pytest.raises(ValueError) as caught:
        compile_sql_filter("a = ")
    assert isinstance(caught.value, SqlFilterError)
    assert caught.value.position == 4


def test_non_string_expression_is_rejected_without_position() -> None:
    with pytest.raises(SqlFilterError) as caught:
        compile_sql_filter(42)  # type: ignore[arg-type]
    assert caught.value.position is None


def test_expression_length_limit_is_1024_characters() -> None:
    at_limit = "a = '" + "x" * 1018 + "'"
    assert len(at_limit) == 1024
    assert compile_sql_filter(at_limit).matches({}, {"a": "x" * 1018})

    with pytest.raises(SqlFilterError) as caught:
        compile_sql_filter(at_limit + " ")
    assert caught.value.position == 1024
    assert "1025 characters" in caught.value.message


def test_long_or_chain_stays_within_limits() -> None:
    terms = [f"n = {index}" for index in range(100)]
    expression = " OR ".join(terms)
    assert len(expression) <= 1024

    compiled = compile_sql_filter(expression)

    assert compiled.matches({}, {"n": 99}) is True
    assert compiled.matches({}, {"n": 100}) is False


def test_exact_property_name_wins_over_case_insensitive_match() -> None:
    compiled_upper = compile_sql_filter("A = 2")
    compiled_lower = compile_sql_filter("a = 1")
    user = {"a": 1, "A": 2}

    assert compiled_upper.matches({}, user) and compiled_lower.matches({}, user)


def test_system_mapping_keys_are_matched_case_insensitively() -> None:
    assert compile_sql_filter("sys.Label = 'x'").matches({"label": "x"}, {}) is True


def test_runtime_error_is_reported_not_raised() -> None:
    compiled = compile_sql_filter("region > 3")

    outcome = compiled.evaluate({}, {"region": "eu"})

    assert outcome == FilterOutcome(False, "cannot compare string with number using '>'")
    assert compiled.evaluate({}, {"region": 4}) == FilterOutcome(True)


class _Hostile:
    """A property value whose comparison blows up, as an odd AMQP-decoded value might."""

    def __eq__(self, other: object) -> bool:
        raise RuntimeError("boom")

    __hash__ = object.__hash__


@pytest.mark.parametrize(
    "value",
    [_Hostile(), [1, 2], {"k": "v"}, float("nan"), 2**80, b"\x00", object()],
    ids=["hostile", "list", "map", "nan", "beyond-int64", "bytes", "object"],
)
def test_matching_never_raises_for_odd_property_values(value: Any) -> None:
    for expression in ("p = p", "p > 1", "p + 1 = 2", "p IN (1, 'a')", "p LIKE 'a%'", "-p = 1"):
        compiled = compile_sql_filter(expression)
        assert compiled.matches({}, {"p": value}) in (True, False)


def test_random_token_soup_never_crashes_the_compiler() -> None:
    vocabulary = [
        "a", "sys.Label", "[x y]", "'s'", "'", "1", "2.5", "1e3", "NULL", "TRUE", "=", "<>", ">",
        "+", "-", "*", "/", "%", "(", ")", ",", "AND", "OR", "NOT", "IN", "LIKE", "ESCAPE", "IS",
        "EXISTS", ".", "@p", "newid", "\"q\"", "]", "[", "#",
    ]
    generator = random.Random(20240501)
    compiled = 0
    for _ in range(3000):
        expression = " ".join(generator.choice(vocabulary) for _ in range(generator.randint(1, 9)))
        try:
            sql_filter = compile_sql_filter(expression)
        except SqlFilterError as error:
            assert error.position is None or 0 <= error.position <= len(expression)
            continue
        compiled += 1
        for system, user in MESSAGES.values():
            assert sql_filter.matches(system, user) in (True, False)
    assert compiled > 0  # the soup must exercise the evaluator too, not only the error paths


class _FilterGenerator:
    """Builds random but well-formed filters over the sample messages' properties."""

    VALUES: ClassVar[list[str]] = ["Priority", "weight", "region", "missing", "note", "express", "orderId", "blob",
              "DeadlineUtc", "sys.Label", "sys.TimeToLive", "sys.EnqueuedTimeUtc", "big", "zero",
              "0", "-3", "2.5", "1e300", "'eu-west'", "'%'", "NULL", "TRUE", "FALSE"]

    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)

    def value(self, depth: int) -> str:
        """A random <expression>."""
        pick = self._random.random()
        if depth <= 0 or pick < 0.5:
            return self._random.choice(self.VALUES)
        if pick < 0.6:
            return f"-{self.value(depth - 1)}"
        operator = self._random.choice(["+", "-", "*", "/", "%"])
        return f"({self.value(depth - 1)} {operator} {self.value(depth - 1)})"

    def predicate(self, depth: int) -> str:
        """A random <predicate>."""
        choice = self._random.randrange(8 if depth > 0 else 5)
        left = self.value(depth - 1)
        if choice == 0:
            operator = self._random.choice(["=", "<>", "!=", ">", ">=", "<", "<="])
            return f"{left} {operator} {self.value(depth - 1)}"
        if choice == 1:
            items = ", ".join(self.value(depth - 1) for _ in range(self._random.randint(1, 3)))
            return f"{left} {self._random.choice(['IN', 'NOT IN'])} ({items})"
        if choice == 2:
            return f"{left} LIKE {self._random.choice(['%a_', 'eu!%', 'x'])!r} ESCAPE '!'"
        if choice == 3:
            return f"{self._random.choice(['region', 'missing', 'sys.Label'])} IS NOT NULL"
        if choice == 4:
            return f"EXISTS({self._random.choice(['note', 'missing', 'sys.To'])})"
        if choice == 5:
            return f"NOT ({self.predicate(depth - 1)})"
        joiner = self._random.choice([" AND ", " OR "])
        return joiner.join(self.predicate(depth - 1) for _ in range(2))


def test_random_well_formed_filters_evaluate_consistently() -> None:
    generator = _FilterGenerator(seed=7)
    for _ in range(400):
        expression = generator.predicate(depth=4)
        compiled = compile_sql_filter(expression)
        negated = compile_sql_filter(f"NOT ({expression})")
        for system, user in MESSAGES.values():
            outcome, opposite = compiled.evaluate(system, user), negated.evaluate(system, user)
            # A filter and its negation can never both match; errors never match.
            assert not (outcome.matched and opposite.matched), expression
            assert not (outcome.error and outcome.matched), expression


# --- LIKE: linear-time matching (devstack/like.py) --------------------------------------------------

def test_backtracking_like_probe_answers_at_once() -> None:
    # The probe from the "devstack survives hostile input" issue: seconds with the regex translation.
    compiled = compile_sql_filter("p LIKE '%a%a%a%a%a%a%a%a%a%a%b'")
    started = time.perf_counter()
    assert compiled.matches({}, {"p": "a" * 36}) is False
    assert compiled.matches({}, {"p": "a" * 36 + "b"}) is True
    assert compiled.matches({}, {"p": "a" * 100_000}) is False
    # Generous bound: it only guards against exponential blow-up (microseconds are expected).
    assert time.perf_counter() - started < 1.0


def test_like_pattern_from_a_property_is_matched_in_linear_time_too() -> None:
    compiled = compile_sql_filter("p LIKE q")
    started = time.perf_counter()
    assert compiled.matches({}, {"p": "a" * 50_000, "q": "%a" * 300 + "%b"}) is False
    assert time.perf_counter() - started < 1.0


def _reference_like(pattern: str, escape: str | None) -> re.Pattern[str] | None:
    """The documented rules as a backtracking regular expression; None when the pattern is refused."""
    parts, index = [], 0
    while index < len(pattern):
        char = pattern[index]
        if escape is not None and char == escape:
            if index + 1 == len(pattern):
                return None
            parts.append(re.escape(pattern[index + 1]))
            index += 2
            continue
        parts.append(".*" if char == "%" else "." if char == "_" else re.escape(char))
        index += 1
    return re.compile("".join(parts), re.DOTALL)


@settings(max_examples=500, deadline=None)
@given(pattern=st.text("ab%_!", max_size=10), value=st.text("ab%_!\n", max_size=10),
       escape=st.sampled_from([None, "!", "%", "_"]))
def test_like_agrees_with_a_regular_expression(pattern: str, value: str, escape: str | None) -> None:
    reference = _reference_like(pattern, escape)
    compiled = compile_sql_filter("p LIKE q" + (" ESCAPE e" if escape else ""))
    outcome = compiled.evaluate({}, {"p": value, "q": pattern, **({"e": escape} if escape else {})})
    if reference is None:
        assert outcome.matched is False and "escape" in (outcome.error or "")
        return
    assert outcome == FilterOutcome(reference.fullmatch(value) is not None)
