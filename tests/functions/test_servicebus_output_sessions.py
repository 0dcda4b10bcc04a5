"""A Service Bus output binding carries only a body, so sending it to a session-enabled queue fails the
invocation (the broker refuses a message without SessionId there), exactly as on Azure."""
from __future__ import annotations

import json
import time
from pathlib import Path

from tests.functions.sample_apps import APPS, http, prepare_app
from tests.functions.test_servicebus_triggers import app_settings
from tests.support.functions_host import run_host
from tests.support.servicebus import run_broker


def test_output_to_session_queue_without_session_id_fails_the_invocation_promptly(tmp_path: Path) -> None:
    config = json.loads((APPS / "servicebus_app" / "servicebus-config.json").read_text())
    with run_broker(tmp_path / "broker", config) as broker:
        with run_host(prepare_app("servicebus_app", tmp_path), app_settings(broker, tmp_path)) as host:
            started = time.monotonic()
            status, _, _ = http("POST", host.base_url + "/api/send-to-session-queue", b"no session id", timeout=40)
            elapsed = time.monotonic() - started
    assert status == 500
    assert elapsed < 10, f"the refusal took {elapsed:.1f}s: the send should fail, not time out"
