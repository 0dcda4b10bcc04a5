"""Publish-request validation for both input schemas."""
from __future__ import annotations

import json
from typing import Any

import pytest

from devstack.eventgrid.core.errors import InvalidEvents, PayloadTooLarge
from devstack.eventgrid.core.events import MAX_REQUEST_BYTES, parse_publish

EG, CE = "EventGridSchema", "CloudEventSchemaV1_0"
JSON, CE_BATCH, CE_SINGLE = "application/json; charset=utf-8", "application/cloudevents-batch+json", \
    "application/cloudevents+json"


def eg_event(**overrides: Any) -> dict[str, Any]:
    return {"id": "e1", "subject": "deliveries/1", "eventType": "Delivery.Shipped",
            "eventTime": "2026-11-27T14:00:00.1234567Z", "data": {"w": 1}, "dataVersion": "1.0", **overrides}


def ce_event(**overrides: Any) -> dict[str, Any]:
    return {"id": "c1", "source": "/app", "type": "Delivery.Shipped", "specversion": "1.0", "data": {}, **overrides}


def parse(body: Any, content_type: str = JSON, schema: str = EG) -> list[Any]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return parse_publish(raw, content_type, schema, "delivery-events")


def test_event_grid_event_is_stamped_with_topic_and_metadata_version() -> None:
    [event] = parse([eg_event()])
    assert (event.id, event.event_type, event.subject, event.data_version) == \
        ("e1", "Delivery.Shipped", "deliveries/1", "1.0")
    assert event.body["topic"].endswith("/topics/delivery-events") and event.body["metadataVersion"] == "1"


def test_missing_data_version_is_stamped_empty() -> None:
    body = eg_event()
    del body["dataVersion"]
    assert parse([body])[0].body["dataVersion"] == ""


@pytest.mark.parametrize(("overrides", "message"), [
    ({"id": ""}, "events[0].id is required"),
    ({"eventType": None}, "events[0].eventType is required"),
    ({"subject": 5}, "events[0].subject is required"),
    ({"eventTime": "yesterday"}, "events[0].eventTime"),
    ({"metadataVersion": "2"}, "metadataVersion"),
    ({"dataVersion": 1}, "dataVersion must be a string"),
])
def test_invalid_event_grid_events_are_rejected_naming_the_field(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidEvents) as caught:
        parse([eg_event(**overrides)])
    assert message in str(caught.value)


def test_bad_json_non_arrays_and_empty_batches_are_rejected() -> None:
    with pytest.raises(InvalidEvents, match="not valid JSON"):
        parse(b"[{")
    with pytest.raises(InvalidEvents, match="non-empty JSON array"):
        parse(eg_event())
    with pytest.raises(InvalidEvents, match="non-empty JSON array"):
        parse([])
    with pytest.raises(InvalidEvents, match=r"events\[1\] must be a JSON object"):
        parse([eg_event(), "text"])


def test_oversized_requests_are_payload_too_large() -> None:
    with pytest.raises(PayloadTooLarge, match="1 MB"):
        parse(b" " * (MAX_REQUEST_BYTES + 1))
    with pytest.raises(PayloadTooLarge, match="at most 5000"):
        parse([{}] * 5001)


def test_cloud_events_batch_and_single() -> None:
    events = parse([ce_event(), ce_event(id="c2", subject="s")], CE_BATCH, CE)
    assert [(e.id, e.subject) for e in events] == [("c1", ""), ("c2", "s")]
    [single] = parse(ce_event(), CE_SINGLE, CE)
    assert single.body["source"] == "/app"


@pytest.mark.parametrize(("overrides", "message"), [
    ({"specversion": "0.3"}, "specversion must be \"1.0\""),
    ({"source": ""}, "source is required"),
    ({"time": "not a time"}, "time"),
    ({"data_base64": "AA=="}, "both data and data_base64"),
])
def test_invalid_cloud_events_are_rejected(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidEvents) as caught:
        parse([ce_event(**overrides)], CE_BATCH, CE)
    assert message in str(caught.value)


def test_schema_mismatch_is_named() -> None:
    with pytest.raises(InvalidEvents, match="expects EventGridSchema"):
        parse([ce_event()], CE_BATCH, EG)
    with pytest.raises(InvalidEvents, match="expects CloudEventSchemaV1_0"):
        parse([eg_event()], JSON, CE)


@pytest.mark.parametrize("value, problem", [("NaN", "NaN is not a JSON number"),
                                            ("-Infinity", "-Infinity is not a JSON number"),
                                            ("1e999", "1e999 is out of range"), ("-1e999", "-1e999 is out of range"),
                                            ("1" + "0" * 5000, "not valid JSON")])
def test_non_finite_numbers_are_rejected_naming_the_problem(value: str, problem: str) -> None:
    body = ('[{"id":"1","subject":"s","eventType":"T","eventTime":"2026-01-01T00:00:00Z","data":{"v":' + value
            + '}}]').encode()
    with pytest.raises(InvalidEvents, match=problem):
        parse_publish(body, "application/json", EG, "t")
