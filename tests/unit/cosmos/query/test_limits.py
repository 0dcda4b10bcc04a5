"""A query cannot build unbounded values: every amplifying construct stops at a limit of limits.py
with a QueryError (an HTTP 400) naming it, before the memory is spent."""
from __future__ import annotations

import time
from typing import Any

import pytest

from devstack.cosmos.query import QueryError, execute_query, parse_query
from devstack.cosmos.query.limits import MAX_STRING_LENGTH, MAX_VALUE_BYTES, json_size
from devstack.cosmos.query.values import same_json

BIG = {"s": "x" * 1_500_000}


def _run(text: str, documents: list[dict] | None = None, parameters: dict | None = None) -> list[Any]:
    return execute_query(parse_query(text), documents or [], parameters or {})


def _nested(function: str, depth: int) -> str:
    text = "'a'"
    for _ in range(depth):
        text = function.format(text)
    return text


MEGA = "a" * 1_000_000  # a parameter can be this long: a request may carry 2 MB


@pytest.mark.parametrize(("text", "parameters", "fragment"), [
    # The probe: 27 nested REPLACEs double 'a' into 134 million characters.
    (f"SELECT VALUE {_nested('REPLACE({}, ' + repr('a') + ', ' + repr('aa') + ')', 27)}", {}, "REPLACE would build"),
    ("SELECT VALUE REPLACE(@p, 'a', @p)", {"@p": "a" * 3000}, "REPLACE would build a string of 9,000,000"),
    ("SELECT VALUE CONCAT(@p, @p, @p)", {"@p": MEGA}, "CONCAT would build"),
    ("SELECT VALUE @p || @p || @p", {"@p": MEGA}, "'||' would build"),
    ("SELECT VALUE TOSTRING([@p, @p, @p])", {"@p": MEGA}, "TOSTRING would build"),
    ("SELECT VALUE ARRAY_CONCAT(@a, @a, @a)", {"@a": [1] * 1_000_000}, "ARRAY_CONCAT would build"),
])
def test_amplifying_constructs_stop_at_their_limit(text: str, parameters: dict, fragment: str) -> None:
    started = time.perf_counter()
    with pytest.raises(QueryError) as caught:
        _run(text, parameters=parameters)
    assert fragment in caught.value.message and caught.value.position is not None
    assert time.perf_counter() - started < 2.0


def test_strings_up_to_the_limit_are_built() -> None:
    size = MAX_STRING_LENGTH // 2
    assert _run("SELECT VALUE LENGTH(CONCAT(@p, @p))", parameters={"@p": "a" * size}) == [MAX_STRING_LENGTH]
    with pytest.raises(QueryError, match="CONCAT would build a string of 2,097,153"):
        _run("SELECT VALUE CONCAT(@p, @p, 'x')", parameters={"@p": "a" * size})


def test_case_mapping_that_lengthens_a_string_is_bounded() -> None:
    # 'ﬃ' upper-cases to 'FFI': a 1 MB string becomes 3 MB.
    with pytest.raises(QueryError, match="UPPER would build"):
        _run("SELECT VALUE UPPER(@p)", parameters={"@p": "ﬃ" * 1_000_000})


@pytest.mark.parametrize("text", [
    "SELECT VALUE [c, c, c] FROM c",
    "SELECT [c.s, c.s, c.s] AS x FROM c",
    "SELECT DISTINCT VALUE [c, c, c] FROM c",
    "SELECT VALUE COUNT(1) FROM c GROUP BY [c, c, c]",
    "SELECT * FROM c ORDER BY [c, c, c]",
])
def test_values_repeating_a_document_past_a_page_are_refused(text: str) -> None:
    with pytest.raises(QueryError, match="4 MB"):
        _run(text, [BIG])


def test_shared_values_are_measured_without_expanding_them() -> None:
    value: Any = ["x" * 100]
    for _ in range(200):  # 2^200 copies of the string once written out, 200 lists in memory
        value = [value, value]
    started = time.perf_counter()
    assert json_size(value, MAX_VALUE_BYTES) > MAX_VALUE_BYTES
    assert same_json(value, value) and same_json(value, [value[0], value[1]])
    other: Any = ["x" * 100]
    for _ in range(200):
        other = [other, other]
    assert same_json(value, other)
    assert not same_json(value, [value[0], [value[0][0], ["y"]]])
    assert time.perf_counter() - started < 1.0


def test_json_size_is_a_lower_bound_of_the_text() -> None:
    import json
    for value in [None, True, 12, "ab", [], {}, [1, "a", None, {"k": [True, False]}], {"a": {"b": "c"}, "d": 1.5}]:
        assert json_size(value, 10_000) <= len(json.dumps(value, separators=(",", ":")))


def test_what_one_query_builds_across_rows_is_bounded() -> None:
    documents = [{"s": "a" * 1000} for _ in range(40)]
    # Each row builds a 1 MB string (under the 2 MB limit), 40 MB in all.
    with pytest.raises(QueryError, match="builds more than"):
        _run("SELECT VALUE LENGTH(REPLACE(c.s, 'a', @p)) FROM c", documents, {"@p": "b" * 1000})
    # TOP stops early: only what is asked for is built.
    assert _run("SELECT TOP 2 VALUE LENGTH(REPLACE(c.s, 'a', @p)) FROM c", documents,
                {"@p": "b" * 1000}) == [1_000_000, 1_000_000]
