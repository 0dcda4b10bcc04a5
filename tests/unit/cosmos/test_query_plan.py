"""The query plan: pass-through, except VALUE aggregates, which are declared and rewritten as Azure does."""
from __future__ import annotations

import pytest

from devstack.cosmos.core.query_plan import query_plan
from devstack.cosmos.query import execute_query, parse_query

RANGE = {"min": "", "max": "FF", "isMinInclusive": True, "isMaxInclusive": False}


@pytest.mark.parametrize("text, aggregate, rewritten", [
    ("SELECT VALUE MIN(c.n) FROM c", "Min", 'SELECT VALUE [{"item": MIN(c.n)}] FROM c'),
    ("select value count(1)\n  from c where c.x = ')'", "Count",
     "select value [{\"item\": count(1)}]\n  from c where c.x = ')'"),
    ("SELECT VALUE AVG( (r.n + 1) ) FROM root r", "Average",
     'SELECT VALUE [{"item": {"sum": SUM( (r.n + 1) ), "count": COUNT( (r.n + 1) )}}] FROM root r'),
])
def test_value_aggregates_are_declared_and_rewritten(text: str, aggregate: str, rewritten: str) -> None:
    info = query_plan(text, RANGE)["queryInfo"]
    assert info["aggregates"] == [aggregate] and info["hasSelectValue"] is True
    assert info["rewrittenQuery"] == rewritten
    parse_query(info["rewrittenQuery"])  # the server must be able to run what it asks the SDK to send


@pytest.mark.parametrize("text", ["SELECT VALUE c.n FROM c", "SELECT COUNT(1) AS n FROM c",
                                  "SELECT VALUE COUNT(1) FROM c GROUP BY c.pk", "SELECT DISTINCT VALUE MIN(c.n) FROM c",
                                  "SELECT TOP 1 VALUE MIN(c.n) FROM c", "SELECT VALUE MIN(c.n) + 1 FROM c",
                                  "SELECT VALUE COUNT(1)"])
def test_everything_else_is_pass_through(text: str) -> None:
    plan = query_plan(text, RANGE)
    assert plan["queryInfo"]["aggregates"] == [] and plan["queryInfo"]["rewrittenQuery"] == ""
    assert plan["queryRanges"] == [RANGE]


def test_rewritten_null_aggregate_is_wrapped() -> None:
    info = query_plan("SELECT VALUE MIN(c.n) FROM c", RANGE)["queryInfo"]
    rows = [{"n": None}, {"n": 1}]
    assert list(execute_query(parse_query(info["rewrittenQuery"]), iter(rows), {})) == [[{"item": None}]]
