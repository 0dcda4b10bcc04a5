"""The trace dashboard as a real process: fed by the OpenTelemetry SDK's own OTLP/HTTP exporter
(https://opentelemetry.io/docs/specs/otlp/#otlphttp), checked over HTTP and in headless Chromium (Playwright),
which also takes docs/img/timeline.png; its operator routes (entity depths, dead letters and their redrive, Event
Grid's dead letters) against real emulator processes; then a whole stack, as `devstack up` builds it, exporting one
real delivery to its dashboard, whose pages show entity depths and redrive a real dead letter."""
from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from azure.cosmos import CosmosClient
from azure.servicebus import ServiceBusClient, ServiceBusMessage, ServiceBusSubQueue
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from playwright.sync_api import ConsoleMessage, Page, sync_playwright

from devstack.stack.services import stack_services
from devstack.stack.supervisor import Supervisor
from tests.e2e.api import new_delivery
from tests.support.cosmos import CosmosEmulator, run_cosmos
from tests.support.eventgrid import run_eventgrid
from tests.support.processes import REPO_ROOT, devstack_process, free_port
from tests.support.servicebus import Broker, run_broker
from tests.support.stack import e2e_settings, eventually
from tests.support.webhook import Webhook, running
from tests.unit.dashboard.choreography import emit_delivery

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOT = REPO_ROOT / "docs" / "img" / "timeline.png"
TOPOLOGY = REPO_ROOT / "resources" / "Config.json"
EVENTGRID_KEY = "ZGV2c3RhY2stZXZlbnRncmlkLWtleQ=="


@dataclass
class Dashboard:
    port: int
    traces: dict[str, str]  # delivery id -> trace id

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.url + path, timeout=10) as reply:
            return json.loads(reply.read())

    def post(self, body: bytes, content_type: str, path: str = "/v1/traces") -> tuple[int, bytes]:
        request = urllib.request.Request(self.url + path, data=body, method="POST",
                                         headers={"Content-Type": content_type})
        try:
            with urllib.request.urlopen(request, timeout=30) as reply:
                return reply.status, reply.read()
        except urllib.error.HTTPError as refused:
            return refused.code, refused.read()

    def redrive(self, record_id: str, etag: str) -> tuple[int, Any]:
        status, body = self.post(json.dumps({"etag": etag}).encode(), "application/json",
                                 f"/api/deadletters/{urllib.parse.quote(record_id)}/redrive")
        return status, json.loads(body)


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    """The dashboard on a free port, holding three deliveries (one failed) exported by the real SDK exporter."""
    data = tmp_path_factory.mktemp("dashboard")
    port = free_port()
    with devstack_process(["dashboard", "--port", str(port), "--data-dir", str(data / "spans")], port,
                          data / "dashboard.log"):
        exporter = OTLPSpanExporter(endpoint=f"http://127.0.0.1:{port}/v1/traces")
        provider = TracerProvider(resource=Resource.create({"service.name": "drone-delivery"}))
        provider.add_span_processor(SimpleSpanProcessor(_Checked(exporter)))
        tracer = provider.get_tracer("test_dashboard")
        now = time.time_ns()
        traces = {delivery: emit_delivery(tracer, delivery, now - (3 - n) * 30_000_000, fail=delivery.endswith("3"))
                  for n, delivery in enumerate(["delivery-0001", "delivery-0002", "delivery-0003"])}
        provider.shutdown()
        yield Dashboard(port, traces)


class _Checked:
    """The exporter, failing the test when an export is not accepted (it would only log otherwise)."""

    def __init__(self, inner: OTLPSpanExporter) -> None:
        self.inner = inner

    def export(self, spans: Any) -> SpanExportResult:
        result = self.inner.export(spans)
        assert result is SpanExportResult.SUCCESS
        return result

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def test_exported_deliveries_are_summarised(dashboard: Dashboard) -> None:
    summary = dashboard.get("/api/summary")
    assert summary["counts"] == {"in-flight": 0, "announced": 2, "failed": 1, "idle": 0}
    assert summary["spansStored"] == 8 + 8 + 6
    assert summary["perMinute"] == 3.0
    assert dashboard.get("/api/emulators") == {}  # started without --eventgrid-url
    assert [row["deliveryId"] for row in summary["deliveries"]] == ["delivery-0003", "delivery-0002", "delivery-0001"]


def test_a_trace_is_a_waterfall_with_hop_gaps(dashboard: Dashboard) -> None:
    trace = dashboard.get(f"/api/traces/{dashboard.traces['delivery-0001']}")
    spans = trace["spans"]
    assert spans[0]["name"] == "POST /api/deliveries" and spans[0]["depth"] == 0
    hops = {(span["hopFrom"], span["service"]): span["gapMs"] for span in spans if span["hopFrom"]}
    # choreography.py: the send ends at 5 ms, Package starts at 12 ms; the publish ends at 48, Notifications at 70.
    assert hops[("ingestion", "package")] == 7.0
    assert hops[("delivery", "notifications")] == 22.0
    assert trace["durationMs"] == 75.0 and trace["state"] == "announced"


def test_oversized_unknown_and_json_bodies(dashboard: Dashboard) -> None:
    status, _ = dashboard.post(b"\0" * (4 * 1024 * 1024 + 1), "application/x-protobuf")
    assert status == 413
    assert dashboard.post(b"<xml/>", "application/xml")[0] == 415
    assert dashboard.post(b"\xff\xff", "application/x-protobuf")[0] == 400
    span = {"traceId": "ab" * 16, "spanId": "cd" * 8, "name": "POST /api/deliveries", "kind": 2,
            "startTimeUnixNano": str(time.time_ns()), "endTimeUnixNano": str(time.time_ns() + 1_000_000),
            "attributes": [{"key": "delivery.id", "value": {"stringValue": "json-delivery"}},
                           {"key": "drone.service", "value": {"stringValue": "ingestion"}}]}
    body = json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}).encode()
    assert dashboard.post(body, "application/json") == (200, b"{}")
    assert dashboard.get(f"/api/traces/{'ab' * 16}")["deliveryId"] == "json-delivery"


def test_bad_queries_and_flags_are_refused(dashboard: Dashboard, tmp_path: Path) -> None:
    with pytest.raises(urllib.error.HTTPError) as refused:
        dashboard.get("/api/summary?limit=lots")
    assert refused.value.code == 400
    assert json.loads(refused.value.read()) == {"error": "BadRequest", "message": "limit must be a number"}
    for path, status in [("/api/no-such-thing", 404), ("/api/deadletters/package:x/redrive", 405)]:
        with pytest.raises(urllib.error.HTTPError) as refused:
            dashboard.get(path)
        assert refused.value.code == status and "error" in json.loads(refused.value.read())
    with pytest.raises(urllib.error.HTTPError) as missing:
        dashboard.get(f"/api/traces/{'0' * 32}")
    assert missing.value.code == 404
    with pytest.raises(urllib.error.HTTPError) as unknown:
        dashboard.get("/deliveries/no-such-delivery")
    assert unknown.value.code == 404
    port = free_port()
    with devstack_process(["dashboard", "--port", str(port), "--data-dir", str(tmp_path),
                           "--eventgrid-url", f"http://127.0.0.1:{free_port()}"], port, tmp_path / "log"):
        unreachable = Dashboard(port, {}).get("/api/emulators")["eventgrid"]
    assert "ClientConnectorError" in unreachable["error"]
    result = subprocess.run([sys.executable, "-m", "devstack", "dashboard", "--max-spans", "0"], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "--max-spans must be at least 1" in result.stderr
    result = subprocess.run([sys.executable, "-m", "devstack", "dashboard", "--servicebus-config",
                             str(tmp_path / "no-such-Config.json")], cwd=REPO_ROOT, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2 and "cannot use --servicebus-config" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_timeline_in_a_browser(dashboard: Dashboard) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            errors = _collect_errors(page)
            page.goto(dashboard.url + "/")
            link = page.locator("a.delivery-link", has_text="delivery-0001")
            link.wait_for(timeout=15_000)
            assert page.locator("#count-failed").inner_text() == "1"
            assert page.locator("#count-announced").inner_text() == "2"
            assert page.locator("#eventgrid-pending").inner_text() == "–"
            link.click()
            page.wait_for_url(f"**/traces/{dashboard.traces['delivery-0001']}")
            page.locator(".span-row").nth(7).wait_for(timeout=15_000)
            assert page.locator(".span-row").count() == 8
            assert page.locator("#hops tbody tr").count() == 4
            assert "delivery delivery-0001" in page.locator("#title").inner_text()
            page.locator(".span-row", has_text="process delivery-events").click()
            assert '"delivery.id": "delivery-0001"' in page.locator("#detail").inner_text()
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOT), full_page=True)
            assert errors == []
        finally:
            browser.close()


def test_a_missing_trace_is_shown_as_such_without_script_errors(dashboard: Dashboard) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            errors = _collect_errors(page)
            page.goto(dashboard.url + "/traces/" + "0" * 32)
            page.locator("#updated", has_text="HTTP 404").wait_for(timeout=15_000)
            assert [e for e in errors if "404" not in e] == []  # the failed fetch itself is logged by Chromium
        finally:
            browser.close()


def _collect_errors(page: Page) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(f"pageerror: {error}"))

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(f"console: {message.text}")
    page.on("console", console)
    return errors


def test_without_settings_the_operator_routes_say_they_are_off(dashboard: Dashboard) -> None:
    records = dashboard.get("/api/deadletters")
    assert records["enabled"] is False and "--servicebus-config" in records["reason"]
    status, body = dashboard.redrive("package:anything", '"etag"')
    assert status == 503 and body["error"] == "DeadLettersOff"
    assert dashboard.get("/api/eventgrid/deadletters")["enabled"] is False
    broker = dashboard.get("/api/deadletters/broker")
    assert broker["counts"] is None and broker["messages"] is None and "--servicebus-config" in broker["messagesOff"]


@dataclass
class Operator:
    """A dashboard started as `devstack up` starts it, over real emulators: Cosmos DB, the broker with its admin
    endpoint, and Event Grid delivering to a webhook that refuses with 400 (dead-lettered at once)."""

    dashboard: Dashboard
    cosmos: CosmosEmulator
    broker: Broker
    eventgrid_url: str

    def record(self, message_id: str, entity: str = "package") -> dict[str, Any]:
        """A dead-letter record as Remediation writes it (remediation/documents.py), stored in Cosmos DB."""
        container = CosmosClient(self.cosmos.endpoint, self.cosmos.key).get_database_client(
            "drone-delivery").get_container_client("deadletters")
        return dict(container.create_item({
            "id": f"{entity}:{message_id}", "entity": entity, "messageId": message_id, "subject": "DeliveryRequested",
            "sessionId": "d-op", "deliveryId": "d-op", "deadLetterReason": "PackageRejected",
            "deadLetterDescription": "weight 40.0 kg is over the 25.0 kg limit", "reasonCode": "PackageRejected",
            "action": "Recorded", "requiresOperator": False, "deliveryCount": 1, "applicationProperties": {},
            "body": '{"deliveryId": "d-op"}', "traceId": None, "recordedAt": "2026-01-01T00:00:00Z",
            "sendPending": False, "redriveCount": 0}))


@pytest.fixture(scope="module")
def operator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Operator]:
    data = tmp_path_factory.mktemp("operator")
    with running(Webhook(statuses=[400] * 20)) as hook:
        grid_config = data / "eventgrid.json"
        grid_config.write_text(json.dumps({"topics": [{"name": "delivery-events", "subscriptions": [
            {"name": "notifications", "endpointUrl": hook.url}]}]}))
        with run_cosmos(data / "cosmos", REPO_ROOT / "resources" / "cosmos.json") as cosmos, \
                run_broker(data / "servicebus", TOPOLOGY, admin=True) as broker, \
                run_eventgrid(data / "eventgrid", grid_config, extra_args=["--time-scale", "0.01"]) as grid:
            port, grid_url = free_port(), f"http://127.0.0.1:{grid.port}"
            argv = ["dashboard", "--port", str(port), "--data-dir", str(data / "spans"),
                    "--servicebus-admin-url", broker.admin_url, "--servicebus-config", str(TOPOLOGY),
                    "--eventgrid-url", grid_url, "--eventgrid-config", str(grid_config)]
            env = {"ServiceBusConnection": broker.connection_string, "CosmosDBConnection": cosmos.connection_string}
            with devstack_process(argv, port, data / "dashboard.log", env=env):
                yield Operator(Dashboard(port, {}), cosmos, broker, grid_url)


def test_entity_depths_and_the_brokers_dead_letter_queues(operator: Operator) -> None:
    board = operator.dashboard
    with ServiceBusClient.from_connection_string(operator.broker.connection_string) as client:
        with client.get_topic_sender("deliveries") as sender:
            sender.send_messages(ServiceBusMessage("{}", subject="DeliveryRequested", session_id="d-depth",
                                                   message_id="depth-1"))
        entities = eventually(lambda: board.get("/api/emulators")["servicebus"]["entities"],
                              lambda found: found["delivery-inbox"]["active"] == 1, 30, "the forwarded copy")
        assert [entities[f"deliveries/Subscriptions/{name}"]["active"] for name in ("package", "drone-scheduler")] \
            == [1, 1]
        with client.get_subscription_receiver("deliveries", "package") as receiver:
            [message] = receiver.receive_messages(max_message_count=1, max_wait_time=10)
            receiver.dead_letter_message(message, reason="Poison", error_description="a test put it here")
        in_broker = eventually(lambda: board.get("/api/deadletters/broker"),
                               lambda found: bool(found["messages"]), 30, "the dead letter peeked")
        assert in_broker["counts"] == {"deliveries/subscriptions/package": 1}
        assert [(m["entity"], m["messageId"], m["reason"]) for m in in_broker["messages"]] == \
            [("deliveries/package", "depth-1", "Poison")]
        with client.get_subscription_receiver("deliveries", "package",
                                              sub_queue=ServiceBusSubQueue.DEAD_LETTER) as receiver:
            for message in receiver.receive_messages(max_message_count=1, max_wait_time=10):
                receiver.complete_message(message)  # leave the queue empty for the other tests
    assert eventually(lambda: board.get("/api/deadletters/broker"), lambda found: found["counts"] == {}, 30,
                      "an empty dead-letter queue")["messages"] == []


def test_records_are_listed_and_redriven_once_per_listing(operator: Operator) -> None:
    board = operator.dashboard
    stored = operator.record("op-1")
    listed = next(row for row in board.get("/api/deadletters")["records"] if row["id"] == "package:op-1")
    assert (listed["reason"], listed["deliveryId"], listed["redriveCount"], listed["etag"]) == \
        ("PackageRejected", "d-op", 0, stored["_etag"])
    status, body = board.redrive("package:op-1", listed["etag"])
    assert status == 200, body
    assert body == {"recordId": "package:op-1", "messageId": "package:op-1:redrive:1",
                    "target": {"kind": "topic", "entity": "deliveries"}}
    with ServiceBusClient.from_connection_string(operator.broker.connection_string) as client, \
            client.get_subscription_receiver("deliveries", "package") as receiver:
        sent = [m.message_id for m in receiver.peek_messages(max_message_count=50)]
    assert "package:op-1:redrive:1" in sent  # the message is back on the topic, under a new MessageId
    status, body = board.redrive("package:op-1", listed["etag"])  # a second click on the same listing
    assert status == 412 and body["error"] == "PreconditionFailed" and "changed since this page listed it" in \
        body["message"]
    again = next(row for row in board.get("/api/deadletters")["records"] if row["id"] == "package:op-1")
    assert (again["redriveCount"], again["lastRedriveMessageId"]) == (1, "package:op-1:redrive:1")


def test_bad_redrive_requests_are_json_4xx(operator: Operator) -> None:
    board = operator.dashboard
    assert board.redrive("package:no-such-record", '"x"')[0] == 404
    operator.record("op-bad", entity="no-such-entity")
    etag = next(row["etag"] for row in board.get("/api/deadletters")["records"] if row["id"] == "no-such-entity:op-bad")
    status, body = board.redrive("no-such-entity:op-bad", etag)
    assert (status, body["error"]) == (422, "UnknownEntity")
    path = "/api/deadletters/package:op-1/redrive"
    for body_bytes, content_type, expected in [(b"not json", "application/json", 400),
                                               (b'{"etag": 7}', "application/json", 400),
                                               (b"[]", "application/json", 400),
                                               (b'{"etag": "x"}', "text/plain", 415),
                                               (b'{"etag": "' + b"x" * 10_000 + b'"}', "application/json", 413)]:
        status, raw = board.post(body_bytes, content_type, path)
        assert status == expected and "error" in json.loads(raw), (body_bytes[:20], status, raw[:200])
    for bad_id in ("r" * 300, "..", "a%23b", "%20"):
        status, raw = board.post(b'{"etag": "x"}', "application/json", f"/api/deadletters/{bad_id}/redrive")
        assert status == 400 and json.loads(raw)["error"] == "BadRequest", (bad_id, status, raw[:200])
    with pytest.raises(urllib.error.HTTPError) as refused:
        board.get("/api/deadletters?operator=maybe")
    assert refused.value.code == 400
    assert all(row["requiresOperator"] for row in board.get("/api/deadletters?operator=1")["records"])


def test_event_grid_dead_letters_are_counted_and_listed(operator: Operator) -> None:
    event = [{"id": "ev-op-1", "subject": "deliveries/d-op", "eventType": "Fabrikam.DroneDelivery.DeliveryFailed",
              "eventTime": "2026-01-01T00:00:00Z", "data": {"deliveryId": "d-op"}, "dataVersion": "1.0"}]
    request = urllib.request.Request(
        f"{operator.eventgrid_url}/topics/delivery-events/api/events?api-version=2018-01-01",
        data=json.dumps(event).encode(), method="POST",
        headers={"Content-Type": "application/json", "aeg-sas-key": EVENTGRID_KEY})
    with urllib.request.urlopen(request, timeout=10) as reply:
        assert reply.status == 200
    board = operator.dashboard
    listed = eventually(lambda: board.get("/api/eventgrid/deadletters"),
                        lambda found: found["subscriptions"][0].get("count") == 1, 30, "the event dead-lettered")
    [subscription] = listed["subscriptions"]
    assert (subscription["topic"], subscription["subscription"]) == ("delivery-events", "notifications")
    [letter] = subscription["events"]
    assert (letter["id"], letter["eventType"], letter["deadLetterReason"], letter["lastHttpStatusCode"]) == \
        ("ev-op-1", "Fabrikam.DroneDelivery.DeliveryFailed", "UndeliverableDueToClientError", 400)
    assert board.get("/api/emulators")["eventgrid"] == {"pending": 0, "deadLettered": 1}


def test_a_stack_exports_a_real_delivery_to_its_dashboard(tmp_path: Path) -> None:
    settings = e2e_settings(tmp_path / "data", OTEL_BSP_SCHEDULE_DELAY="200")  # export every 0.2 s, not 5 s
    settings = settings.with_ports(replace(settings.ports, dashboard=free_port(), servicebus_admin=free_port()))
    log = open(tmp_path / "stack.log", "a", buffering=1)  # noqa: SIM115 - closed below
    supervisor = Supervisor(stack_services(settings), lambda name, line: log.write(f"{name:>10} | {line}\n"))
    board = Dashboard(settings.ports.dashboard or 0, {})
    delivery_id, heavy_id = f"dash-{uuid.uuid4().hex[:12]}", f"heavy-{uuid.uuid4().hex[:12]}"
    try:
        supervisor.start(timeout=90)
        # A package over the limit (30 kg here): Package dead-letters its request with PackageRejected and
        # Remediation records that, as in tests/e2e/test_failures_and_cancellation.py.
        for body in (new_delivery(delivery_id=delivery_id), new_delivery(weight=40.0, delivery_id=heavy_id)):
            request = urllib.request.Request(f"http://127.0.0.1:{settings.ports.host}/api/deliveries",
                                             method="POST", data=json.dumps(body).encode(),
                                             headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=30) as reply:
                assert reply.status == 202
        listed = eventually(lambda: [row for row in board.get("/api/summary")["deliveries"]
                                     if row["deliveryId"] == delivery_id],
                            lambda rows: bool(rows) and rows[0]["state"] == "announced", 90,
                            f"{delivery_id} announced on the dashboard")[0]
        assert listed["root"] == "POST /api/deliveries" and listed["errors"] == 0
        assert isinstance(board.get("/api/emulators")["eventgrid"]["pending"], int)
        assert {"ingestion", "package", "drone-scheduler", "delivery", "notifications"} <= set(listed["services"])
        record = eventually(lambda: [row for row in board.get("/api/deadletters")["records"]
                                     if row["deliveryId"] == heavy_id and row["entity"] == "package"],
                            bool, 90, f"Remediation's record of {heavy_id}")[0]
        assert record["reason"] == "PackageRejected"
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 900})
                errors = _collect_errors(page)
                page.goto(board.url + "/")
                page.locator("#eventgrid-pending", has_text=re.compile(r"^\d+$")).wait_for(timeout=15_000)
                page.locator("#eventgrid-dead-lettered", has_text=re.compile(r"^\d+$")).wait_for(timeout=15_000)
                page.locator("#entities tr[data-entity='delivery-inbox']").wait_for(timeout=15_000)
                assert page.locator("#entities tbody tr").count() == 5  # the queue, the topic, its 3 subscriptions
                package = page.locator("#entities tr[data-entity='deliveries/Subscriptions/package']")
                assert re.fullmatch(r"\d+", package.locator(".count-deadLettered").inner_text())
                page.goto(f"{board.url}/deliveries/{delivery_id}")
                page.wait_for_url(f"**/traces/{listed['traceId']}")
                page.locator("#hops tbody tr").first.wait_for(timeout=15_000)
                hops = page.locator("#hops tbody").inner_text()
                assert "ingestion" in hops and "notifications" in hops
                assert page.locator(".span-row").count() >= 8
                _redrive_in_the_browser(page, board, record)
                assert [e for e in errors if "status of 412" not in e] == []  # Chromium logs the refused POST itself
            finally:
                browser.close()
    finally:
        supervisor.stop()
        log.close()


def _redrive_in_the_browser(page: Page, board: Dashboard, record: dict[str, Any]) -> None:
    """The dead-letters page lists ``record``; Redrive sends it once, a second click is refused, not resent."""
    page.goto(board.url + "/")
    page.locator("#nav-deadletters").click()
    page.wait_for_url("**/deadletters")
    row = page.locator(f"#records tr[data-record='{record['id']}']")
    row.wait_for(timeout=15_000)
    assert "PackageRejected" in row.inner_text() and record["deliveryId"] in row.inner_text()
    page.locator(".eventgrid-subscription[data-subscription='delivery-events/notifications']").wait_for(timeout=15_000)
    outcome = page.locator("#redrive-outcome")
    row.locator("button.redrive").click()
    outcome.locator("text=redriven to topic deliveries").wait_for(timeout=30_000)
    assert f"as {record['id']}:redrive:1" in outcome.inner_text()
    assert row.locator(".redrive-count").inner_text() == "1"
    row.locator("button.redrive").click()  # the same listing again: the record has changed since
    outcome.locator("text=PreconditionFailed").wait_for(timeout=30_000)
    assert "not redriven" in outcome.inner_text() and "Traceback" not in outcome.inner_text()
