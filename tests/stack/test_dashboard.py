"""The trace dashboard as a real process: fed by the OpenTelemetry SDK's own OTLP/HTTP exporter
(https://opentelemetry.io/docs/specs/otlp/#otlphttp), checked over HTTP and in headless Chromium (Playwright),
which also takes docs/img/timeline.png; then a whole stack, as `devstack up` builds it, exporting one real
delivery to its dashboard."""
from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from playwright.sync_api import ConsoleMessage, Page, sync_playwright

from devstack.stack.services import stack_services
from devstack.stack.supervisor import Supervisor
from tests.e2e.api import new_delivery
from tests.support.processes import REPO_ROOT, devstack_process, free_port
from tests.support.stack import e2e_settings, eventually
from tests.unit.dashboard.choreography import emit_delivery

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOT = REPO_ROOT / "docs" / "img" / "timeline.png"


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

    def post(self, body: bytes, content_type: str) -> tuple[int, bytes]:
        request = urllib.request.Request(self.url + "/v1/traces", data=body, method="POST",
                                         headers={"Content-Type": content_type})
        try:
            with urllib.request.urlopen(request, timeout=30) as reply:
                return reply.status, reply.read()
        except urllib.error.HTTPError as refused:
            return refused.code, refused.read()


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


def test_a_stack_exports_a_real_delivery_to_its_dashboard(tmp_path: Path) -> None:
    settings = e2e_settings(tmp_path / "data", OTEL_BSP_SCHEDULE_DELAY="200")  # export every 0.2 s, not 5 s
    settings = settings.with_ports(replace(settings.ports, dashboard=free_port()))
    log = open(tmp_path / "stack.log", "a", buffering=1)  # noqa: SIM115 - closed below
    supervisor = Supervisor(stack_services(settings), lambda name, line: log.write(f"{name:>10} | {line}\n"))
    board = Dashboard(settings.ports.dashboard or 0, {})
    delivery_id = f"dash-{uuid.uuid4().hex[:12]}"
    try:
        supervisor.start(timeout=90)
        request = urllib.request.Request(f"http://127.0.0.1:{settings.ports.host}/api/deliveries", method="POST",
                                         data=json.dumps(new_delivery(delivery_id=delivery_id)).encode(),
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
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 900})
                errors = _collect_errors(page)
                page.goto(board.url + "/")
                page.locator("#eventgrid-pending", has_text=re.compile(r"^\d+$")).wait_for(timeout=15_000)
                page.goto(f"{board.url}/deliveries/{delivery_id}")
                page.wait_for_url(f"**/traces/{listed['traceId']}")
                page.locator("#hops tbody tr").first.wait_for(timeout=15_000)
                hops = page.locator("#hops tbody").inner_text()
                assert "ingestion" in hops and "notifications" in hops
                assert page.locator(".span-row").count() >= 8
                assert errors == []
            finally:
                browser.close()
    finally:
        supervisor.stop()
        log.close()
