"""Stopping the host: SIGTERM lets in-flight invocations finish and settle, then exits 0."""
from __future__ import annotations

import json
from pathlib import Path

from azure.servicebus import ServiceBusMessage

from tests.functions.sample_apps import APPS, poll, prepare_app, read_records
from tests.functions.test_servicebus_triggers import app_settings, receive, send
from tests.support.functions_host import run_host
from tests.support.servicebus import run_broker


def test_sigterm_finishes_in_flight_invocation_completes_it_and_exits_zero(tmp_path: Path) -> None:
    records = tmp_path / "records"
    records.mkdir()
    config = json.loads((APPS / "servicebus_app" / "servicebus-config.json").read_text())
    with run_broker(tmp_path / "broker", config) as broker:
        settings = app_settings(broker, records, PARALLEL_SLEEP="2")
        with run_host(prepare_app("servicebus_app", tmp_path), settings) as host:
            send(broker, "parallel", ServiceBusMessage("in flight"))
            poll(lambda: read_records(records, "parallel"), what="the invocation to start")
            exit_code = host.process.stop(timeout=30)
        assert exit_code == 0
        assert [r["event"] for r in read_records(records, "parallel")] == ["start", "end"]
        assert "host stopped" in host.log_text()
        assert receive(broker, "parallel", count=1, wait=2) == []  # completed, not left to be redelivered
