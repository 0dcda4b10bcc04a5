"""Data-driven compliance cases: each file in cases/ gives documents and queries with their expected
results or errors (the jmespath compliance-test shape). Expected values follow the Cosmos DB docs."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from devstack.cosmos.query import QueryError, execute_query, parse_query

CASES_DIR = Path(__file__).parent / "cases"


def _load_cases() -> list[Any]:
    params = []
    for path in sorted(CASES_DIR.glob("*.json")):
        suite = json.loads(path.read_text(encoding="utf-8"))
        for number, case in enumerate(suite["cases"]):
            documents = case.get("given", suite.get("given", []))
            params.append(pytest.param(documents, case, id=f"{path.stem}-{number}"))
    return params


CASES = _load_cases()


def test_there_are_enough_cases() -> None:
    assert len(CASES) >= 120


@pytest.mark.parametrize(("documents", "case"), CASES)
def test_case(documents: list[dict], case: dict) -> None:
    parameters = case.get("parameters", {})
    if "error" in case:
        expected = case["error"]
        with pytest.raises(QueryError) as caught:
            execute_query(parse_query(case["query"]), documents, parameters)
        assert expected["contains"] in caught.value.message, caught.value.message
        if "position" in expected:
            assert caught.value.position == expected["position"], caught.value
        return
    result = execute_query(parse_query(case["query"]), documents, parameters)
    expected_result = case["result"]
    if case.get("unordered"):
        key = lambda value: json.dumps(value, sort_keys=True)  # noqa: E731
        result, expected_result = sorted(result, key=key), sorted(expected_result, key=key)
    # Compare JSON texts so that true and 1 (equal in Python) are told apart.
    assert json.dumps(result, sort_keys=True) == json.dumps(expected_result, sort_keys=True), result
