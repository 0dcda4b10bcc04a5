"""Several host processes of one app, like a scaled-out Function App: one HTTP port shared with SO_REUSEPORT,
Service Bus sessions spread among the instances, and the survivors serving when one instance dies."""
from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest
from azure.servicebus import ServiceBusClient, ServiceBusMessage

from tests.functions.sample_apps import APPS, http, poll, prepare_app, read_records
from tests.support.functions_host import FunctionsHost, run_host
from tests.support.processes import free_port
from tests.support.servicebus import Broker, run_broker

CONFIG = APPS / "servicebus_app" / "servicebus-config.json"  # its `sessions` queue is session-enabled


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    with run_broker(tmp_path_factory.mktemp("broker"), json.loads(CONFIG.read_text())) as running:
        yield running


@contextmanager
def instances(tmp_path: Path, broker: Broker, names: list[str]) -> Iterator[tuple[Path, list[FunctionsHost]]]:
    """One host process per name, all on one port with --reuse-port, each listening before we go on."""
    records = tmp_path / "records"
    records.mkdir()
    app_dir = prepare_app("scaleout_app", tmp_path)
    port = free_port()
    with ExitStack() as stack:
        hosts = []
        for name in names:
            settings = {"ServiceBusConnection": broker.connection_string, "RECORD_DIR": str(records),
                        "HOST_NAME": name}
            host = stack.enter_context(run_host(app_dir, settings, port=port, extra_args=["--reuse-port"],
                                                log_path=tmp_path / f"{name}.log"))
            # The port answers as soon as the first instance listens: wait for this one's own line.
            poll(lambda h=host: "listening on" in h.log_text(), timeout=60, what=f"instance {name} to listen")
            hosts.append(host)
        yield records, hosts


def who_answers(port: int) -> str:
    """GET /api/whoami on a new connection (the kernel picks the instance per connection)."""
    status, _, body = http("GET", f"http://127.0.0.1:{port}/api/whoami", headers={"Connection": "close"})
    assert status == 200
    return str(json.loads(body)["host"])


def at_least(records: Path, count: int) -> list[dict[str, Any]] | None:
    """The session records once there are ``count`` of them."""
    found = read_records(records, "sessions")
    return found if len(found) >= count else None


def send_sessions(broker: Broker, sessions: int, per_session: int) -> None:
    with ServiceBusClient.from_connection_string(broker.connection_string) as client, \
            client.get_queue_sender("sessions") as sender:
        sender.send_messages([ServiceBusMessage(f"{s}-{n}", session_id=f"s{s}")
                              for n in range(per_session) for s in range(sessions)])


def test_two_instances_both_serve_http_and_share_the_sessions(tmp_path: Path, broker: Broker) -> None:
    with instances(tmp_path, broker, ["a", "b"]) as (records, hosts):
        seen: set[str] = set()
        poll(lambda: seen.add(who_answers(hosts[0].port)) or seen == {"a", "b"}, timeout=30,
             what="both instances to answer HTTP")
        send_sessions(broker, sessions=8, per_session=2)
        done = poll(lambda: at_least(records, 16), timeout=60, what="16 session messages")
    assert {r["host"] for r in done} == {"a", "b"}  # 2 slots per instance, 8 sessions: both had to serve
    for session in {r["session_id"] for r in done}:  # in order within each session, whoever held it
        assert [r["body"] for r in done if r["session_id"] == session] == [f"{session[1:]}-0", f"{session[1:]}-1"]
    assert sorted(r["body"] for r in done) == sorted(f"{s}-{n}" for s in range(8) for n in range(2))


def test_killing_one_instance_leaves_the_other_serving(tmp_path: Path, broker: Broker) -> None:
    with instances(tmp_path, broker, ["a", "b"]) as (records, hosts):
        hosts[1].process.kill()
        assert {who_answers(hosts[0].port) for _ in range(10)} == {"a"}  # every connection reaches a
        send_sessions(broker, sessions=3, per_session=1)
        done = poll(lambda: at_least(records, 3), timeout=60, what="the survivor to serve every session")
    assert {r["host"] for r in done} == {"a"}
