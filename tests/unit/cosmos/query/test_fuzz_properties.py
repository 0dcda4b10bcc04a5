"""Property-based fuzzing of the whole engine (tokenizer, parser, checks, evaluator): whatever query
text arrives, the answer is a JSON result or a QueryError (an HTTP 400), never another exception
(which would be a 500) and never a hang (each example has a deadline)."""
from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devstack.cosmos.query import QueryError, execute_query, parse_query
from tests.unit.cosmos.query.test_fuzz import DOCUMENTS, PARAMETER_CHOICES, SEED_QUERIES, TOKENS

EXTRA_TOKENS = [
    "LIKE '[^]'", "LIKE '[z-a]'", "LIKE '%a%a%a%b'", "LIKE '[a-'", "ESCAPE '['", "REPLACE(", "CONCAT(",
    "TOSTRING(", "UPPER(", "ARRAY_CONCAT(", "ARRAY_SLICE(", "IIF(", "'aaaaaaaaaaaaaaaa'", "²", "٣", "1e308",
    "1e309", "OFFSET 99999999999999999999 LIMIT 1", "TOP 1e300", "c[@p]", "c.tags[1e20]", "~", "<<", ">>>",
]
FUZZ = settings(max_examples=300, deadline=timedelta(seconds=2), suppress_health_check=[HealthCheck.too_slow])
PARAMETERS = st.fixed_dictionaries({"@p": st.sampled_from(PARAMETER_CHOICES),
                                    "@q": st.sampled_from(PARAMETER_CHOICES)})


def _answers_cleanly(text: str, parameters: dict[str, Any]) -> None:
    try:
        result = execute_query(parse_query(text), DOCUMENTS, parameters)
    except QueryError as error:
        assert error.message
        return
    json.dumps(result, allow_nan=False)  # plain JSON: no undefined, NaN or infinity leaks out


@FUZZ
@given(tokens=st.lists(st.sampled_from(TOKENS + EXTRA_TOKENS), min_size=1, max_size=16), parameters=PARAMETERS)
def test_token_soup(tokens: list[str], parameters: dict[str, Any]) -> None:
    _answers_cleanly(" ".join(tokens), parameters)


@FUZZ
@given(tail=st.lists(st.sampled_from(TOKENS + EXTRA_TOKENS), max_size=12), parameters=PARAMETERS)
def test_select_followed_by_tokens(tail: list[str], parameters: dict[str, Any]) -> None:
    _answers_cleanly("SELECT VALUE " + " ".join(tail), parameters)


@FUZZ
@given(text=st.text(max_size=40), parameters=PARAMETERS)
def test_arbitrary_unicode_text(text: str, parameters: dict[str, Any]) -> None:
    _answers_cleanly(text, parameters)
    _answers_cleanly("SELECT " + text, parameters)


@st.composite
def _mutated(draw: st.DrawFn) -> str:
    chars = list(draw(st.sampled_from(SEED_QUERIES)))
    for _ in range(draw(st.integers(1, 5))):
        position = draw(st.integers(0, len(chars)))
        action = draw(st.sampled_from(["delete", "insert", "token"]))
        if action == "delete" and chars:
            del chars[min(position, len(chars) - 1)]
        elif action == "insert":
            chars.insert(position, draw(st.characters()))
        else:
            chars.insert(position, f" {draw(st.sampled_from(TOKENS + EXTRA_TOKENS))} ")
    return "".join(chars)


@FUZZ
@given(text=_mutated(), parameters=PARAMETERS)
def test_mutated_valid_queries(text: str, parameters: dict[str, Any]) -> None:
    _answers_cleanly(text, parameters)


@FUZZ
@given(pattern=st.text("ab%_[]^-!\\", max_size=12), value=st.text("ab[]^-", max_size=12),
       escape=st.sampled_from([None, "!", "\\", "[", "ab", ""]))
def test_like_with_any_pattern_and_escape(pattern: str, value: str, escape: str | None) -> None:
    parameters = {"@v": value, "@p": pattern, "@e": escape}
    _answers_cleanly("SELECT VALUE @v LIKE @p" + (" ESCAPE @e" if escape is not None else ""), parameters)
    literal = json.dumps(pattern)
    _answers_cleanly(f"SELECT VALUE @v LIKE {literal}" + (f" ESCAPE {json.dumps(escape)}" if escape else ""),
                     parameters)
