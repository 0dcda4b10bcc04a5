"""Publishing with the real azure-eventgrid SDK: both schemas, key and SAS credentials, bad input."""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from azure.core.credentials import AzureKeyCredential, AzureSasCredential
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceNotFoundError
from azure.core.messaging import CloudEvent
from azure.eventgrid import EventGridEvent, EventGridPublisherClient, generate_sas

from tests.support.eventgrid import EventGrid, run_eventgrid
from tests.support.webhook import Webhook, running

KEY = "ZGV2c3RhY2stZXZlbnRncmlkLWtleQ=="


@pytest.fixture
def hooks() -> Iterator[tuple[Webhook, Webhook]]:
    with running(Webhook()) as eg_hook, running(Webhook()) as ce_hook:
        yield eg_hook, ce_hook


@pytest.fixture
def grid(tmp_path: Path, hooks: tuple[Webhook, Webhook]) -> Iterator[EventGrid]:
    eg_hook, ce_hook = hooks
    config = {"topics": [
        {"name": "delivery-events", "key": "${TOPIC_KEY}", "inputSchema": "EventGridSchema",
         "subscriptions": [{"name": "notifications", "endpointUrl": "http://127.0.0.1:${EG_PORT}/api/updates"}]},
        {"name": "cloud-events", "key": KEY, "inputSchema": "CloudEventSchemaV1_0",
         "subscriptions": [{"name": "ce-sub", "endpointUrl": ce_hook.url}]},
    ]}
    env = {"TOPIC_KEY": KEY, "EG_PORT": str(eg_hook.port)}
    with run_eventgrid(tmp_path, config, env=env, extra_args=["--time-scale", "0.01"]) as running_grid:
        yield running_grid


def eg_client(grid: EventGrid, topic: str = "delivery-events", key: str | None = None) -> EventGridPublisherClient:
    return EventGridPublisherClient(grid.topic_endpoint(topic), AzureKeyCredential(key or grid.key_for(topic)))


def shipped(event_id: str = "d-1:DeliveryShipped") -> EventGridEvent:
    return EventGridEvent(subject="deliveries/d-1", event_type="Delivery.Shipped", data={"deliveryId": "d-1"},
                          data_version="1.0", id=event_id)


def test_event_grid_schema_with_key_is_delivered_after_the_validation_handshake(
        grid: EventGrid, hooks: tuple[Webhook, Webhook]) -> None:
    eg_hook, _ = hooks
    eg_client(grid).send([shipped()])
    [note] = eg_hook.wait_for_notifications(1)
    assert eg_hook.requests[0].headers["aeg-event-type"] == "SubscriptionValidation"
    assert eg_hook.requests[0].body[0]["eventType"] == "Microsoft.EventGrid.SubscriptionValidationEvent"
    assert isinstance(note.body, list) and len(note.body) == 1  # one event per request, in an array
    event = note.body[0]
    assert (event["id"], event["eventType"], event["subject"]) == ("d-1:DeliveryShipped", "Delivery.Shipped",
                                                                   "deliveries/d-1")
    assert event["data"] == {"deliveryId": "d-1"} and event["metadataVersion"] == "1"
    assert event["topic"].endswith("/providers/Microsoft.EventGrid/topics/delivery-events")
    assert note.headers["aeg-subscription-name"] == "NOTIFICATIONS"
    assert note.headers["aeg-delivery-count"] == "0"
    assert note.headers["aeg-data-version"] == "1.0"
    assert note.headers["aeg-metadata-version"] == "1"
    assert note.headers["Content-Type"].startswith("application/json")


def test_cloud_events_with_sas_token_are_delivered_after_the_options_handshake(
        grid: EventGrid, hooks: tuple[Webhook, Webhook]) -> None:
    _, ce_hook = hooks
    endpoint = grid.topic_endpoint("cloud-events")
    token = generate_sas(endpoint, grid.key_for("cloud-events"), datetime.now(UTC) + timedelta(hours=1))
    client = EventGridPublisherClient(endpoint, AzureSasCredential(token))
    client.send([CloudEvent(source="/drone-delivery", type="Delivery.Shipped", data={"n": i}, id=f"ce-{i}",
                            subject=f"deliveries/{i}") for i in range(3)])
    notes = ce_hook.wait_for_notifications(3)
    assert ce_hook.requests[0].method == "OPTIONS"
    assert ce_hook.requests[0].headers["WebHook-Request-Origin"] == "eventgrid.azure.net"
    assert sorted(n.body["id"] for n in notes) == ["ce-0", "ce-1", "ce-2"]  # one object per request
    assert all(n.body["specversion"] == "1.0" and n.body["source"] == "/drone-delivery" for n in notes)
    assert notes[0].headers["Content-Type"].startswith("application/cloudevents+json")
    assert notes[0].headers["aeg-metadata-version"] == "1.0"


def test_wrong_key_and_bad_tokens_are_refused_with_401(grid: EventGrid) -> None:
    with pytest.raises(ClientAuthenticationError):
        eg_client(grid, key="d3Jvbmcta2V5").send([shipped()])
    endpoint = grid.topic_endpoint("delivery-events")
    expired = generate_sas(endpoint, KEY, datetime.now(UTC) - timedelta(minutes=1))
    with pytest.raises(ClientAuthenticationError):
        EventGridPublisherClient(endpoint, AzureSasCredential(expired)).send([shipped()])
    forged = generate_sas(endpoint, "b3RoZXIta2V5", datetime.now(UTC) + timedelta(hours=1))
    with pytest.raises(ClientAuthenticationError):
        EventGridPublisherClient(endpoint, AzureSasCredential(forged)).send([shipped()])
    other_topic = generate_sas(grid.topic_endpoint("cloud-events"), KEY,
                               datetime.now(UTC) + timedelta(hours=1))
    with pytest.raises(ClientAuthenticationError):
        EventGridPublisherClient(endpoint, AzureSasCredential(other_topic)).send([shipped()])


def test_unknown_topic_is_404(grid: EventGrid) -> None:
    client = EventGridPublisherClient(grid.topic_endpoint("no-such-topic"), AzureKeyCredential(KEY))
    with pytest.raises(ResourceNotFoundError):
        client.send([shipped()])


def test_event_missing_required_fields_is_400_naming_the_field(grid: EventGrid) -> None:
    bad = {"id": "x", "subject": "s", "data": {}, "dataVersion": "1", "eventTime": "2026-01-01T00:00:00Z"}
    with pytest.raises(HttpResponseError) as caught:
        eg_client(grid).send([bad])
    assert caught.value.status_code == 400
    assert "events[0].eventType is required" in str(caught.value)


def test_cloud_events_sent_to_an_event_grid_schema_topic_are_400(grid: EventGrid) -> None:
    with pytest.raises(HttpResponseError) as caught:
        eg_client(grid).send([CloudEvent(source="/s", type="t", data={})])
    assert caught.value.status_code == 400
    assert "expects EventGridSchema" in str(caught.value)


def test_request_over_one_megabyte_is_413(grid: EventGrid) -> None:
    big = EventGridEvent(subject="s", event_type="t", data={"blob": "x" * (1024 * 1024)}, data_version="1")
    with pytest.raises(HttpResponseError) as caught:
        eg_client(grid).send([big])
    assert caught.value.status_code == 413


def test_bad_json_is_400_with_a_clear_message(grid: EventGrid) -> None:
    request = urllib.request.Request(grid.topic_endpoint("delivery-events") + "?api-version=2018-01-01",
                                     data=b"[{not json", method="POST",
                                     headers={"aeg-sas-key": KEY, "Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=10)
    assert caught.value.code == 400
    error = json.loads(caught.value.read())["error"]
    assert error["code"] == "BadRequest" and "not valid JSON" in error["message"]


def test_non_finite_numbers_are_400_and_never_forwarded(grid: EventGrid, hooks: tuple[Webhook, Webhook]) -> None:
    eg_hook, ce_hook = hooks
    # The SDK writes float("nan") as NaN, which is not JSON (RFC 8259 section 6): subscribers would choke.
    nan = EventGridEvent(subject="s", event_type="Reading", data={"value": float("nan")}, data_version="1")
    with pytest.raises(HttpResponseError) as caught:
        eg_client(grid).send([nan])
    assert caught.value.status_code == 400 and "NaN is not a JSON number" in str(caught.value)
    with pytest.raises(HttpResponseError) as caught:
        eg_client(grid, "cloud-events").send([CloudEvent(source="/s", type="t", data={"v": float("-inf")})])
    assert caught.value.status_code == 400 and "-Infinity is not a JSON number" in str(caught.value)
    body = b'[{"id":"big","subject":"s","eventType":"T","eventTime":"2026-01-01T00:00:00Z","data":{"v":1e999}}]'
    request = urllib.request.Request(grid.topic_endpoint("delivery-events") + "?api-version=2018-01-01",
                                     data=body, method="POST",
                                     headers={"aeg-sas-key": KEY, "Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as raw:
        urllib.request.urlopen(request, timeout=10)
    assert raw.value.code == 400 and "1e999 is out of range" in json.loads(raw.value.read())["error"]["message"]
    eg_client(grid).send([shipped("after")])
    [note] = eg_hook.wait_for_notifications(1)
    assert note.body[0]["id"] == "after" and ce_hook.notifications() == []
