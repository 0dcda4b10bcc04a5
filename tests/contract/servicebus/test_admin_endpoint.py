"""The broker's admin endpoint (``--admin-port``) against the real broker process, driven by the real azure-servicebus
SDK: the counts it reports follow what the SDK did (send, schedule, lock, defer, dead-letter)."""
from __future__ import annotations

import datetime as dt
import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.servicebus import ServiceBusClient, ServiceBusMessage

from tests.support.processes import REPO_ROOT, free_port
from tests.support.servicebus import Broker, run_broker

CONFIG = {"UserConfig": {"Namespaces": [{"Name": "ns", "Queues": [
    {"Name": "work", "Properties": {"LockDuration": "PT1M"}},
    {"Name": "sessions", "Properties": {"RequiresSession": True}},
], "Topics": [{"Name": "events", "Subscriptions": [
    {"Name": "all"},
    {"Name": "red", "Rules": [{"Name": "red", "Properties": {"FilterType": "Correlation",
                                                            "CorrelationFilter": {"Properties": {"color": "red"}}}}]},
]}]}]}}


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    with run_broker(tmp_path_factory.mktemp("admin"), CONFIG, admin=True) as running:
        yield running


def entities(broker: Broker) -> dict[str, Any]:
    with urllib.request.urlopen(broker.admin_url + "/entities", timeout=10) as reply:
        return dict(json.loads(reply.read())["entities"])


def counts_until(broker: Broker, done: Callable[[dict[str, Any]], bool], timeout: float = 15.0) -> dict[str, Any]:
    """Poll ``GET /entities`` until ``done`` holds (the loop publishes at its next tick, a snapshot lives 0.5 s)."""
    deadline = time.monotonic() + timeout
    while True:
        found = entities(broker)
        if done(found):
            return found
        assert time.monotonic() < deadline, f"counts never matched; last: {json.dumps(found, indent=1)}"
        time.sleep(0.1)


def pick(counts: dict[str, Any], *names: str) -> tuple[int, ...]:
    return tuple(counts[name] for name in names)


def test_an_idle_broker_reports_every_entity_empty(tmp_path: Path) -> None:
    with run_broker(tmp_path, CONFIG, admin=True) as fresh:
        found = entities(fresh)
    assert list(found) == ["work", "sessions", "events", "events/Subscriptions/all", "events/Subscriptions/red"]
    assert [found[path]["kind"] for path in found] == ["queue", "queue", "topic", "subscription", "subscription"]
    assert all(counts["total"] == 0 for counts in found.values())


def test_queue_counts_follow_what_the_sdk_does(broker: Broker) -> None:
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    with ServiceBusClient.from_connection_string(broker.connection_string) as client:
        with client.get_queue_sender("work") as sender:
            sender.send_messages([ServiceBusMessage(f"m{i}") for i in range(4)])
            sender.schedule_messages(ServiceBusMessage("later"), later)
        assert pick(counts_until(broker, lambda found: found["work"]["active"] == 4)["work"], "scheduled") == (1,)
        with client.get_queue_receiver("work") as receiver:
            received: list[Any] = []
            deadline = time.monotonic() + 15
            while len(received) < 4 and time.monotonic() < deadline:
                received += receiver.receive_messages(max_message_count=4 - len(received), max_wait_time=2)
            deferred, poison, done, held = received
            receiver.defer_message(deferred)
            receiver.dead_letter_message(poison, reason="Poison", error_description="bad body")
            receiver.complete_message(done)
            # ``held`` stays locked: still active, as Azure counts it.
            work = counts_until(broker, lambda found: found["work"]["deadLettered"] == 1)["work"]
            assert pick(work, "active", "scheduled", "deadLettered", "locked", "deferred", "receivers") == \
                (1, 1, 1, 1, 1, 1)
            receiver.complete_message(held)
    work = counts_until(broker, lambda found: found["work"]["active"] == 0)["work"]
    assert pick(work, "active", "scheduled", "deadLettered", "locked", "deferred", "total") == (0, 1, 1, 0, 1, 3)


def test_topic_subscription_and_session_counts(broker: Broker) -> None:
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    with ServiceBusClient.from_connection_string(broker.connection_string) as client:
        with client.get_topic_sender("events") as sender:
            sender.send_messages([ServiceBusMessage("r", application_properties={"color": "red"}),
                                  ServiceBusMessage("b", application_properties={"color": "blue"})])
            sender.schedule_messages(ServiceBusMessage("t", application_properties={"color": "red"}), later)
        with client.get_queue_sender("sessions") as sender:
            sender.send_messages([ServiceBusMessage("a", session_id="s-1"), ServiceBusMessage("b", session_id="s-2"),
                                  ServiceBusMessage("c", session_id="s-2")])
    found = counts_until(broker, lambda found: found["sessions"]["active"] == 3)
    assert pick(found["events"], "scheduled", "active") == (1, 0)  # a topic keeps only what is scheduled on it
    assert found["events/Subscriptions/all"]["active"] == 2
    assert found["events/Subscriptions/red"]["active"] == 1
    assert found["sessions"]["sessions"] == 2


def test_the_admin_port_taken_is_a_clear_error_and_a_bad_one_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps(CONFIG))
    base = [sys.executable, "-m", "devstack", "servicebus", "--port", str(free_port()), "--config", str(config),
            "--data-dir", str(tmp_path / "data")]
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = subprocess.run([*base, "--admin-port", str(taken.getsockname()[1])], cwd=REPO_ROOT,
                                capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "for the admin endpoint (--admin-port)" in result.stderr and "Traceback" not in result.stderr
    result = subprocess.run([*base, "--admin-port", "70000"], cwd=REPO_ROOT, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2 and "70000 is not a TCP port" in result.stderr
