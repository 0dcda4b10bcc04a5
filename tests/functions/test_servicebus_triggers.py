"""Service Bus triggers and outputs, run by the host against the devstack broker with the real SDK."""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.servicebus import ServiceBusClient, ServiceBusMessage, ServiceBusSubQueue

from tests.functions.sample_apps import APPS, poll, prepare_app, read_records
from tests.support.functions_host import FunctionsHost, run_host
from tests.support.servicebus import Broker, run_broker

CONFIG = APPS / "servicebus_app" / "servicebus-config.json"


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    with run_broker(tmp_path_factory.mktemp("broker"), json.loads(CONFIG.read_text())) as running:
        yield running


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("records")


def app_settings(broker: Broker, records: Path, **extra: str) -> dict[str, str]:
    return {"ServiceBusConnection": broker.connection_string, "RECORD_DIR": str(records),
            "FLAKY_QUEUE": "flaky", **extra}


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory, broker: Broker, records: Path) -> Iterator[FunctionsHost]:
    app_dir = prepare_app("servicebus_app", tmp_path_factory.mktemp("app"))
    with run_host(app_dir, app_settings(broker, records, HOST_NAME="a")) as running:
        yield running


def send(broker: Broker, entity: str, *messages: ServiceBusMessage) -> None:
    with ServiceBusClient.from_connection_string(broker.connection_string) as client, \
            client.get_queue_sender(entity) as sender:
        sender.send_messages(list(messages))


def receive(broker: Broker, entity: str, *, count: int, wait: float = 5.0, sub_queue: Any = None,
            subscription: str | None = None) -> list[dict[str, Any]]:
    """Receive and complete up to ``count`` messages; their body and dead-letter fields."""
    with ServiceBusClient.from_connection_string(broker.connection_string) as client:
        receiver = (client.get_subscription_receiver(entity, subscription, sub_queue=sub_queue) if subscription
                    else client.get_queue_receiver(entity, sub_queue=sub_queue))
        got: list[dict[str, Any]] = []
        with receiver:
            while len(got) < count:
                batch = receiver.receive_messages(max_message_count=count - len(got), max_wait_time=wait)
                if not batch:
                    break
                for message in batch:
                    got.append({"body": str(message), "reason": message.dead_letter_reason,
                                "description": message.dead_letter_error_description})
                    receiver.complete_message(message)
        return got


def test_queue_trigger_gets_message_properties_and_output_is_sent(host: FunctionsHost, broker: Broker,
                                                                  records: Path) -> None:
    send(broker, "inbox", ServiceBusMessage("hello", message_id="m-1", application_properties={"trace": "t-1"}))
    entry = poll(lambda: next((r for r in read_records(records, "inbox") if r["message_id"] == "m-1"), None),
                 what="the inbox function")
    assert entry["body"] == "hello"
    assert entry["delivery_count"] == 1  # as the Functions trigger counts: 1 on first delivery
    assert entry["properties"] == {"trace": "t-1"}
    assert entry["enqueued"] is not None
    assert [m["body"] for m in receive(broker, "outbox", count=1)] == ["relayed:hello"]


def test_exception_abandons_until_broker_dead_letters_then_dlq_trigger_runs(host: FunctionsHost, broker: Broker,
                                                                            records: Path) -> None:
    send(broker, "flaky", ServiceBusMessage("poison"))
    dead = poll(lambda: read_records(records, "dead"), what="the dead-letter trigger")
    assert dead == [{"body": "poison", "reason": "MaxDeliveryCountExceeded"}]
    assert [r["delivery_count"] for r in read_records(records, "flaky")] == [1, 2, 3]
    assert "failing on purpose" in host.log_text()


def test_output_failure_fails_the_invocation_so_the_message_is_not_completed(host: FunctionsHost, broker: Broker,
                                                                             records: Path) -> None:
    # MaxDeliveryCount is 1: an abandon (not a completion) sends the message to the dead-letter queue.
    send(broker, "to-missing", ServiceBusMessage("doomed"))
    dead = poll(lambda: receive(broker, "to-missing", count=1, wait=1, sub_queue=ServiceBusSubQueue.DEAD_LETTER),
                timeout=40, what="the message in the dead-letter queue")
    assert dead[0]["body"] == "doomed" and dead[0]["reason"] == "MaxDeliveryCountExceeded"
    assert [r["body"] for r in read_records(records, "to-missing")] == ["doomed"]


def test_message_actions_settle_sdk_typed_messages(host: FunctionsHost, broker: Broker, records: Path) -> None:
    send(broker, "orders", *(ServiceBusMessage(c) for c in ("complete", "deadletter", "abandon-once",
                                                            "raise-after-complete")))
    poll(lambda: len(read_records(records, "settle")) >= 5, what="five settle invocations")
    settled = read_records(records, "settle")
    assert {r["type"] for r in settled} == {"ServiceBusReceivedMessage"}
    assert sorted((r["body"], r["delivery_count"]) for r in settled) == [
        ("abandon-once", 0), ("abandon-once", 1), ("complete", 0), ("deadletter", 0), ("raise-after-complete", 0)]
    dead = receive(broker, "orders", subscription="settle", count=1, sub_queue=ServiceBusSubQueue.DEAD_LETTER)
    assert dead == [{"body": "deadletter", "reason": "Refused", "description": "on purpose"}]
    assert receive(broker, "orders", subscription="settle", count=1, wait=1) == []  # nothing left active


def test_sessions_run_in_order_one_at_a_time_and_idle_sessions_are_released(host: FunctionsHost, broker: Broker,
                                                                            records: Path) -> None:
    # maxConcurrentSessions is 1: session B is served only if A is released after sessionIdleTimeout (1 s).
    send(broker, "sessions", *(ServiceBusMessage(f"A{n}", session_id="A") for n in range(3)))
    poll(lambda: len(read_records(records, "sessions-done")) >= 3, what="session A")
    send(broker, "sessions", ServiceBusMessage("B0", session_id="B"))
    poll(lambda: len(read_records(records, "sessions-done")) >= 4, timeout=10, what="session B after A went idle")
    starts = read_records(records, "sessions")
    assert [r["body"] for r in starts if r["session_id"] == "A"] == ["A0", "A1", "A2"]
    ends = read_records(records, "sessions-done")
    for start, end in zip(starts[1:], ends, strict=False):  # one call at a time: each starts after the previous ended
        assert start["start"] >= end["end"]
    assert session_state(broker, "A") == b"A2"


def session_state(broker: Broker, session_id: str) -> bytes:
    with ServiceBusClient.from_connection_string(broker.connection_string) as client, \
            client.get_queue_receiver("sessions", session_id=session_id) as receiver:
        return receiver.session.get_state()


def test_max_concurrent_calls_bounds_parallel_invocations(host: FunctionsHost, broker: Broker, records: Path) -> None:
    def events() -> list[dict[str, Any]]:
        return [r for r in read_records(records, "parallel") if r["body"][0] == "p"]

    send(broker, "parallel", *(ServiceBusMessage(f"p{n}") for n in range(6)))
    poll(lambda: len(events()) >= 12, timeout=30, what="six parallel invocations")
    running, peak = 0, 0
    for event in sorted(events(), key=lambda r: (r["at"], r["event"] == "start")):
        running += 1 if event["event"] == "start" else -1
        peak = max(peak, running)
    assert peak == 2  # host.json maxConcurrentCalls


def test_lock_is_renewed_while_the_function_runs(host: FunctionsHost, broker: Broker, records: Path) -> None:
    send(broker, "short-lock", ServiceBusMessage("long job"))  # LockDuration 2 s, the function takes 4 s
    poll(lambda: any(r["event"] == "end" for r in read_records(records, "short-lock")), timeout=20,
         what="the long job")
    assert receive(broker, "short-lock", count=1, wait=3) == []
    assert [r["event"] for r in read_records(records, "short-lock")] == ["start", "end"]


def test_hosts_share_a_queue_as_competing_consumers(tmp_path: Path, host: FunctionsHost, broker: Broker,
                                                    records: Path) -> None:
    def starts() -> list[dict[str, Any]]:
        return [r for r in read_records(records, "parallel") if r["event"] == "start" and r["body"][0] == "c"]

    with run_host(prepare_app("servicebus_app", tmp_path), app_settings(broker, records, HOST_NAME="b")) as second:
        poll(lambda: "parallel: receiving" in second.log_text(), what="the second host to attach")
        send(broker, "parallel", *(ServiceBusMessage(f"c{n}") for n in range(12)))
        poll(lambda: len(starts()) >= 12, timeout=30, what="twelve invocations")
    assert sorted(r["body"] for r in starts()) == sorted(f"c{n}" for n in range(12))  # each exactly once
    assert {r["host"] for r in starts()} == {"a", "b"}
