"""Advanced filters and subscription filters, evaluated on plain event objects."""
from __future__ import annotations

from typing import Any

import pytest

from devstack.eventgrid.core.filters import SubscriptionFilter, parse_advanced_filter

EVENT: dict[str, Any] = {
    "id": "e1", "eventType": "Delivery.Shipped", "subject": "deliveries/d-1",
    "data": {"weight": 12.5, "tier": "Express", "fragile": False, "tags": ["a", "b"], "nothing": None,
             "nested": {"depth": 3}},
}


def matches(operator: str, key: str, **value: Any) -> bool:
    return parse_advanced_filter({"operatorType": operator, "key": key, **value}).matches(EVENT)


@pytest.mark.parametrize(("operator", "value", "expected"), [
    ("NumberIn", {"values": [1, 12.5]}, True),
    ("NumberIn", {"values": [1, 2]}, False),
    ("NumberNotIn", {"values": [1, 2]}, True),
    ("NumberNotIn", {"values": [12.5]}, False),
    ("NumberLessThan", {"value": 13}, True),
    ("NumberLessThan", {"value": 12.5}, False),
    ("NumberGreaterThan", {"value": 12}, True),
    ("NumberGreaterThan", {"value": 12.5}, False),
    ("NumberLessThanOrEquals", {"value": 12.5}, True),
    ("NumberGreaterThanOrEquals", {"value": 12.5}, True),
    ("NumberGreaterThanOrEquals", {"value": 13}, False),
    ("NumberInRange", {"values": [[0, 5], [10, 20]]}, True),
    ("NumberInRange", {"values": [[0, 5]]}, False),
    ("NumberNotInRange", {"values": [[0, 5]]}, True),
])
def test_number_operators_on_data_weight(operator: str, value: dict[str, Any], expected: bool) -> None:
    assert matches(operator, "data.weight", **value) is expected


@pytest.mark.parametrize(("operator", "values", "expected"), [
    ("StringIn", ["standard", "EXPRESS"], True),  # case-insensitive
    ("StringIn", ["standard"], False),
    ("StringNotIn", ["standard"], True),
    ("StringNotIn", ["express"], False),
    ("StringBeginsWith", ["ex"], True),
    ("StringEndsWith", ["PRESS"], True),
    ("StringEndsWith", ["ex"], False),
    ("StringContains", ["xpr"], True),
    ("StringNotContains", ["xpr"], False),
    ("StringNotBeginsWith", ["st"], True),
    ("StringNotEndsWith", ["ss"], False),
])
def test_string_operators_on_data_tier(operator: str, values: list[str], expected: bool) -> None:
    assert matches(operator, "data.tier", values=values) is expected


def test_bool_equals_and_null_checks() -> None:
    assert matches("BoolEquals", "data.fragile", value=False)
    assert not matches("BoolEquals", "data.fragile", value=True)
    assert matches("IsNullOrUndefined", "data.missing")
    assert matches("IsNullOrUndefined", "data.nothing")
    assert not matches("IsNullOrUndefined", "data.weight")
    assert matches("IsNotNull", "data.weight")
    assert not matches("IsNotNull", "data.nothing")


def test_envelope_keys_and_nested_keys_resolve_case_insensitively() -> None:
    assert matches("StringIn", "EventType", values=["delivery.shipped"])
    assert matches("StringBeginsWith", "subject", values=["deliveries/"])
    assert matches("NumberIn", "Data.Nested.Depth", values=[3])


def test_missing_key_fails_positive_operators_and_passes_negated_ones() -> None:
    assert not matches("NumberIn", "data.absent", values=[1])
    assert not matches("StringContains", "data.absent", values=["x"])
    assert not matches("BoolEquals", "data.absent", value=True)
    assert matches("NumberNotIn", "data.absent", values=[1])
    assert matches("StringNotIn", "data.absent", values=["x"])


def test_type_mismatch_never_matches_a_positive_operator() -> None:
    assert not matches("NumberGreaterThan", "data.tier", value=1)
    assert not matches("StringIn", "data.weight", values=["12.5"])
    assert not matches("BoolEquals", "data.weight", value=True)


def test_arrays_fail_unless_array_filtering_is_enabled() -> None:
    flt = parse_advanced_filter({"operatorType": "StringIn", "key": "data.tags", "values": ["b"]})
    assert not flt.matches(EVENT)
    assert flt.matches(EVENT, arrays_enabled=True)
    negated = parse_advanced_filter({"operatorType": "StringNotIn", "key": "data.tags", "values": ["b"]})
    assert not negated.matches(EVENT, arrays_enabled=True)


@pytest.mark.parametrize(("raw", "message"), [
    ({"operatorType": "NumberBetween", "key": "data.x", "value": 1}, "operatorType 'NumberBetween'"),
    ({"operatorType": "NumberIn", "values": [1]}, "key is required"),
    ({"operatorType": "NumberIn", "key": "data.x", "values": ["1"]}, "must all be numbers"),
    ({"operatorType": "NumberLessThan", "key": "data.x", "values": [1]}, "needs \"value\""),
    ({"operatorType": "NumberInRange", "key": "data.x", "values": [[1]]}, "[low, high] pairs"),
    ({"operatorType": "BoolEquals", "key": "data.x", "value": "true"}, "a bool"),
    ({"operatorType": "StringIn", "key": "data.x", "values": []}, "non-empty array"),
])
def test_invalid_filters_are_refused_with_the_reason(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_advanced_filter(raw)
    assert message in str(caught.value)


def test_subscription_filter_combines_types_subject_and_advanced_filters() -> None:
    flt = SubscriptionFilter(("delivery.shipped",), "Deliveries/", "-1", False,
                             (parse_advanced_filter({"operatorType": "NumberGreaterThan", "key": "data.weight",
                                                     "value": 10}),))
    assert flt.matches("Delivery.Shipped", "deliveries/d-1", EVENT)
    assert not flt.matches("Delivery.Failed", "deliveries/d-1", EVENT)
    assert not flt.matches("Delivery.Shipped", "deliveries/d-2", EVENT)
    assert not flt.matches("Delivery.Shipped", "archive/d-1", EVENT)
    case_sensitive = SubscriptionFilter(None, "Deliveries/", "", True)
    assert not case_sensitive.matches("Delivery.Shipped", "deliveries/d-1", EVENT)
    assert SubscriptionFilter().matches("Anything", "", {})
