"""LIKE in the Cosmos DB query engine: the documented wildcards, refused patterns, and a matcher that
stays linear where a backtracking regular expression blew up (devstack/like.py)."""
from __future__ import annotations

import re
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devstack.cosmos.query import QueryError, execute_query, parse_query
from devstack.cosmos.query.like import LikePatternError, compile_like

#: The probe from the "devstack survives hostile input" issue: 4.8 s with the regex translation.
PATHOLOGICAL = "SELECT VALUE '" + "a" * 36 + "' LIKE '%a%a%a%a%a%a%a%a%a%a%b'"


def _value(text: str, parameters: dict | None = None) -> object:
    return execute_query(parse_query(text), [], parameters or {})


def test_the_backtracking_probe_answers_at_once() -> None:
    assert len(PATHOLOGICAL) == 81
    started = time.perf_counter()
    assert _value(PATHOLOGICAL) == [False]
    # Generous bound: it only guards against exponential blow-up (microseconds are expected).
    assert time.perf_counter() - started < 1.0


def test_long_pathological_inputs_stay_fast() -> None:
    text, pattern = "a" * 100_000, "%a" * 200 + "%b"
    started = time.perf_counter()
    assert compile_like(pattern, None).matches(text) is False
    assert compile_like(pattern[:-1] + "a", None).matches(text) is True
    assert compile_like("%" + "_" * 50 + "b%", None).matches(text) is False
    assert time.perf_counter() - started < 1.0


@pytest.mark.parametrize(("text", "pattern", "expected"), [
    # The examples of https://learn.microsoft.com/azure/cosmos-db/nosql/query/keywords#like.
    ("20-30%", "20-30[%]", True), ("20-30x", "20-30[%]", False), ("_n", "[_]n", True), ("an", "[_]n", False),
    ("[", "[[]", True), ("]", "]", True), ("xSOtPSx", "%SO[t-z]PS%", True), ("xSOaPSx", "%SO[t-z]PS%", False),
    ("SOdPS", "%SO[^abc]PS%", True), ("SOaPS", "%SO[^abc]PS%", False), ("20%", "%20^%%", True),
    ("a\nb", "a_b", True), ("a\nb", "a%", True), ("ABC", "abc", False), ("abc", "ab", False),
    ("[", "[", True), ("[a", "[a", True), ("]", "[]]", True), ("-", "[a-]", True), ("b", "[a-c]", True),
])
def test_documented_wildcards(text: str, pattern: str, expected: bool) -> None:
    escape = "^" if pattern == "%20^%%" else None
    assert compile_like(pattern, escape).matches(text) is expected


@pytest.mark.parametrize(("pattern", "fault"), [("[^]", "'[^]'"), ("[z-a]", "'z-a'"), ("ab[c-b]%", "'c-b'")])
def test_unusable_constant_pattern_is_a_query_error_naming_it(pattern: str, fault: str) -> None:
    with pytest.raises(QueryError) as caught:
        parse_query(f"SELECT * FROM c WHERE c.s LIKE '{pattern}'")
    assert fault in caught.value.message
    assert caught.value.position == len("SELECT * FROM c WHERE c.s LIKE ")


@pytest.mark.parametrize("pattern", ["[^]", "[z-a]"])
def test_unusable_pattern_from_a_parameter_or_document_is_a_query_error(pattern: str) -> None:
    with pytest.raises(QueryError, match="LIKE pattern"):
        _value("SELECT VALUE 'a' LIKE @p", {"@p": pattern})
    with pytest.raises(QueryError, match="LIKE pattern"):
        execute_query(parse_query("SELECT VALUE c.s LIKE c.p FROM c"), [{"s": "a", "p": pattern}], {})


def test_escape_that_is_not_one_character_makes_like_undefined_not_an_error() -> None:
    assert _value("SELECT VALUE ('a' LIKE '[^]' ESCAPE 'xy') ?? 'undefined'") == ["undefined"]


# --- property: the matcher agrees with a backtracking regular expression on short inputs ---------

def _reference(pattern: str, escape: str | None) -> re.Pattern[str]:
    """The documented rules written as a regular expression (exponential at worst; short inputs only)."""
    parts, index = [], 0
    while index < len(pattern):
        char = pattern[index]
        if escape is not None and char == escape and index + 1 < len(pattern):
            parts.append(re.escape(pattern[index + 1]))
            index += 2
        elif char == "[" and "]" in pattern[index + 2:]:
            close = pattern.index("]", index + 2)
            parts.append(_reference_set(pattern[index + 1:close]))
            index = close + 1
        else:
            parts.append(".*" if char == "%" else "." if char == "_" else re.escape(char))
            index += 1
    return re.compile("".join(parts), re.DOTALL)


def _reference_set(body: str) -> str:
    negated, body = body.startswith("^"), body[1:] if body.startswith("^") else body
    items, index = [], 0
    while index < len(body):
        if index + 2 < len(body) and body[index + 1] == "-":
            items.append(f"{re.escape(body[index])}-{re.escape(body[index + 2])}")  # re refuses reversed ones
            index += 3
        else:
            items.append(re.escape(body[index]))
            index += 1
    return f"[{'^' if negated else ''}{''.join(items)}]"  # '[^]' is an error in re too


PATTERN_CHARS = "ab%_[]^-!"
TEXT_CHARS = "ab[]^-!%_\n"


@settings(max_examples=500, deadline=None)
@given(pattern=st.text(PATTERN_CHARS, max_size=10), text=st.text(TEXT_CHARS, max_size=10),
       escape=st.sampled_from([None, "!", "%", "["]))
def test_matcher_agrees_with_a_regular_expression(pattern: str, text: str, escape: str | None) -> None:
    try:
        expected = _reference(pattern, escape).fullmatch(text) is not None
    except re.error:
        with pytest.raises(LikePatternError):
            compile_like(pattern, escape)
        return
    assert compile_like(pattern, escape).matches(text) is expected
