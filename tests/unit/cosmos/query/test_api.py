"""The interface the Cosmos emulator's HTTP layer relies on, beyond the data-driven cases."""
from __future__ import annotations

import copy

import pytest

from devstack.cosmos.query import Query, QueryError, execute_query, parse_query

DOCS = [
    {"id": "d1", "fleetId": "f1", "battery": 90, "_rid": "r1", "_ts": 1700000000, "_etag": "\"e1\""},
    {"id": "d2", "fleetId": "f2", "battery": 15, "_rid": "r2", "_ts": 1700000001, "_etag": "\"e2\""},
]


def test_query_error_is_a_value_error_with_message_and_position() -> None:
    with pytest.raises(ValueError) as caught:
        parse_query("SELECT * FROM c JOIN x IN c.tags")
    error = caught.value
    assert isinstance(error, QueryError)
    assert error.message == "unsupported: JOIN"
    assert error.position == 16
    assert "position 16" in str(error)


@pytest.mark.parametrize(
    ("text", "alias"),
    [
        ("SELECT * FROM c", "c"),
        ("SELECT * FROM root r", "r"),
        ("SELECT d.id FROM drones AS d", "d"),
        ("SELECT VALUE t FROM t IN c.tags", "t"),
        ("SELECT VALUE 1", None),
    ],
)
def test_from_alias(text: str, alias: str | None) -> None:
    assert parse_query(text).from_alias == alias


def test_parsed_query_runs_many_times_with_different_parameters() -> None:
    query = parse_query("SELECT VALUE c.id FROM c WHERE c.battery < @max")
    assert isinstance(query, Query)
    assert execute_query(query, DOCS, {"@max": 50}) == ["d2"]
    assert execute_query(query, DOCS, {"@max": 100}) == ["d1", "d2"]


def test_select_star_returns_documents_with_system_properties_and_leaves_input_alone() -> None:
    before = copy.deepcopy(DOCS)
    result = execute_query(parse_query("SELECT * FROM c ORDER BY c.battery"), DOCS, {})
    assert result == [before[1], before[0]]
    assert before == DOCS


def test_documents_may_be_any_iterable_read_once() -> None:
    result = execute_query(parse_query("SELECT VALUE c.id FROM c"), iter(DOCS), {})
    assert result == ["d1", "d2"]


def test_unknown_parameter_is_reported_even_without_documents() -> None:
    with pytest.raises(QueryError) as caught:
        execute_query(parse_query("SELECT * FROM c WHERE c.fleetId = @fleet"), [], {"@other": 1})
    assert caught.value.message == "parameter @fleet is not defined"
    assert caught.value.position == 34


def test_parameter_names_include_the_at_sign() -> None:
    with pytest.raises(QueryError):
        execute_query(parse_query("SELECT VALUE @x"), [], {"x": 1})
    assert execute_query(parse_query("SELECT VALUE @x"), [], {"@x": 1}) == [1]


def test_keywords_are_case_insensitive_and_identifiers_case_sensitive() -> None:
    query = parse_query("sElEcT vAlUe C.id FrOm C wHeRe C.battery > 50 OrDeR bY C.id DeSc")
    assert execute_query(query, DOCS, {}) == ["d1"]
    with pytest.raises(QueryError, match="identifier 'c' could not be resolved"):
        parse_query("SELECT VALUE c.id FROM C")


def test_non_string_query_text_is_a_query_error() -> None:
    with pytest.raises(QueryError):
        parse_query(None)  # type: ignore[arg-type]
