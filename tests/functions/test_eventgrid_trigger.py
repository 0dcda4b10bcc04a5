"""Event Grid triggers: the webhook handshakes and notifications, POSTed the way Event Grid does."""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.functions.sample_apps import http, poll, prepare_app, read_records
from tests.support.functions_host import FunctionsHost, run_host

HOOK = "/runtime/webhooks/EventGrid?functionName=on_event"


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("records")


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory, records: Path) -> Iterator[FunctionsHost]:
    app_dir = prepare_app("events_app", tmp_path_factory.mktemp("eg"),
                          {"RECORD_DIR": str(records), "YEARLY_SCHEDULE": "0 0 0 1 1 *",
                           "EventGridTopicEndpoint": "http://127.0.0.1:9/unused", "EventGridTopicKey": "k",
                           "CosmosDBConnection": "AccountEndpoint=http://127.0.0.1:9/;AccountKey=a2V5;"})
    with run_host(app_dir, {}) as running:
        yield running


def post_events(host: FunctionsHost, events: list[dict], kind: str = "Notification",
                content_type: str = "application/json") -> tuple[int, bytes]:
    status, _, body = http("POST", host.base_url + HOOK, json.dumps(events).encode(),
                           {"aeg-event-type": kind, "Content-Type": content_type})
    return status, body


def test_subscription_validation_handshake(host: FunctionsHost) -> None:
    status, body = post_events(host, [{"id": "v1", "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent",
                                       "subject": "", "data": {"validationCode": "512d38b6"},
                                       "eventTime": "2026-01-01T00:00:00Z", "dataVersion": "1"}],
                               kind="SubscriptionValidation")
    assert status == 200
    assert json.loads(body) == {"validationResponse": "512d38b6"}


def test_cloudevents_options_handshake_echoes_origin(host: FunctionsHost) -> None:
    origin = {"WebHook-Request-Origin": "eventgrid.azure.net"}
    status, headers, _ = http("OPTIONS", host.base_url + HOOK, headers=origin)
    assert status == 200
    assert headers["WebHook-Allowed-Origin"] == "eventgrid.azure.net"


def test_each_event_of_a_notification_invokes_the_function(host: FunctionsHost, records: Path) -> None:
    events = [{"id": f"e{n}", "eventType": "Sample.Happened", "subject": f"s/{n}", "data": {"n": n},
               "eventTime": "2026-01-01T00:00:00Z", "dataVersion": "1.0", "topic": "t"} for n in range(3)]
    assert post_events(host, events)[0] == 200
    seen = [r for r in read_records(records, "events") if r["id"] in {"e0", "e1", "e2"}]
    assert [(r["schema"], r["type"], r["data"]) for r in seen] == [("EventGrid", "Sample.Happened", {"n": n})
                                                                   for n in range(3)]


def test_cloud_event_notification(host: FunctionsHost, records: Path) -> None:
    event = {"specversion": "1.0", "id": "ce1", "source": "/samples", "type": "Sample.Cloud", "subject": "c",
             "time": "2026-01-01T00:00:00Z", "data": {"ok": True}}
    assert post_events(host, [event], content_type="application/cloudevents-batch+json")[0] == 200
    assert [r for r in read_records(records, "events") if r["id"] == "ce1"] == [
        {"schema": "CloudEvent", "id": "ce1", "type": "Sample.Cloud", "subject": "c", "data": {"ok": True}}]


def test_failing_function_answers_500_so_event_grid_retries(host: FunctionsHost) -> None:
    status, _ = post_events(host, [{"id": "bad", "eventType": "Sample.Happened", "subject": "fail", "data": {},
                                    "eventTime": "2026-01-01T00:00:00Z", "dataVersion": "1.0"}])
    assert status == 500
    assert "subject 'fail' is refused on purpose" in host.log_text()


def test_bad_requests_are_refused_clearly(host: FunctionsHost) -> None:
    status, _, body = http("POST", host.base_url + HOOK, b"{not json", {"aeg-event-type": "Notification"})
    assert status == 400 and b"not JSON" in body
    status, _, body = http("POST", host.base_url + "/runtime/webhooks/EventGrid?functionName=nope", b"[]")
    assert status == 404 and b"nope" in body


def test_timer_fires_on_schedule_and_run_on_startup_fires_once(host: FunctionsHost, records: Path) -> None:
    poll(lambda: len(read_records(records, "ticks")) >= 3, timeout=10, what="three timer ticks")
    startup = read_records(records, "startup")
    assert len(startup) == 1
    assert startup[0]["next"].startswith("20") and "-01-01T00:00:00" in startup[0]["next"]
