"""Hostile requests to a real host subprocess get a bounded 4xx naming the fault, never a 500 or a crash.

Limits under test: the Event Grid webhook takes what Event Grid can send (1 MB, 5,000 events per
request, JSON nested at most 64 deep, as Newtonsoft's default MaxDepth); HTTP triggers take the
host's 100 MB (FUNCTIONS_REQUEST_BODY_SIZE_LIMIT's default).
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from http.client import HTTPConnection
from pathlib import Path

import pytest

from tests.functions.sample_apps import http, prepare_app, read_records
from tests.support.functions_host import FunctionsHost, run_host

MASTER, HOST_KEY = "master-secret", "host-secret"
HOOK = "/runtime/webhooks/EventGrid?functionName=on_event"


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("records")


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory, records: Path) -> Iterator[FunctionsHost]:
    app_dir = prepare_app("events_app", tmp_path_factory.mktemp("hostile"),
                          {"RECORD_DIR": str(records), "YEARLY_SCHEDULE": "0 0 0 1 1 *",
                           "EventGridTopicEndpoint": "http://127.0.0.1:9/unused", "EventGridTopicKey": "k",
                           "CosmosDBConnection": "AccountEndpoint=http://127.0.0.1:9/;AccountKey=a2V5;",
                           "FUNCTIONS_MASTER_KEY": MASTER, "FUNCTIONS_HOST_KEY": HOST_KEY})
    with run_host(app_dir, {}, extra_args=["--enable-auth"]) as running:
        yield running


def raw(host: FunctionsHost, method: str, path: str, body: bytes | Iterator[bytes] | None = None,
        headers: dict[str, str | bytes] | None = None) -> tuple[int, bytes]:
    """One request through http.client, which sends header bytes as given (urllib would refuse them)."""
    connection = HTTPConnection("127.0.0.1", host.port, timeout=30)
    try:
        connection.putrequest(method, path, skip_accept_encoding=True)
        chunked = body is not None and not isinstance(body, bytes)
        for name, value in {**({"Transfer-Encoding": "chunked"} if chunked else
                               {"Content-Length": str(len(body or b""))}), **(headers or {})}.items():
            connection.putheader(name, value)
        connection.endheaders()
        if isinstance(body, bytes):
            connection.send(body)
        elif body is not None:
            for chunk in body:
                connection.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            connection.send(b"0\r\n\r\n")
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def hook(host: FunctionsHost, body: bytes | Iterator[bytes], kind: str = "Notification",
         **headers: str | bytes) -> tuple[int, bytes]:
    return raw(host, "POST", HOOK, body, {"aeg-event-type": kind, "x-functions-key": HOST_KEY,
                                          "Content-Type": "application/json", **headers})


def detail(body: bytes) -> str:
    return str(json.loads(body)["detail"])


def events(count: int, prefix: str) -> bytes:
    return json.dumps([{"id": f"{prefix}{n}", "eventType": "T", "subject": "s", "data": {},
                        "eventTime": "2026-01-01T00:00:00Z", "dataVersion": "1"} for n in range(count)]).encode()


def invoked(records: Path, prefix: str) -> int:
    return sum(1 for r in read_records(records, "events") if str(r["id"]).startswith(prefix))


def peak_memory_kb(host: FunctionsHost) -> int:
    assert host.process.proc is not None
    status = Path(f"/proc/{host.process.proc.pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")))


def test_a_3_mb_batch_of_20000_events_is_413_and_runs_nothing(host: FunctionsHost, records: Path) -> None:
    status, body = hook(host, events(20_000, "flood-"))
    assert status == 413 and "at most 1048576 bytes (1 MB)" in detail(body)
    assert invoked(records, "flood-") == 0


def test_more_than_5000_events_under_1_mb_is_413_and_runs_nothing(host: FunctionsHost, records: Path) -> None:
    status, body = hook(host, json.dumps([{"id": f"many-{n}"} for n in range(5001)]).encode())
    assert status == 413 and "5001 events in one request; Event Grid delivers at most 5000" in detail(body)
    assert invoked(records, "many-") == 0


def test_a_chunked_body_without_length_is_cut_at_1_mb_without_buffering_it(host: FunctionsHost) -> None:
    before = peak_memory_kb(host)
    status, body = hook(host, iter([b"[" + b" " * (1024 * 1024 - 1)] + [b" " * (1024 * 1024)] * 40))
    assert status == 413 and "more than 1048576 bytes" in detail(body)
    assert peak_memory_kb(host) - before < 16 * 1024  # 41 MB sent; far less ever held


def test_deep_json_is_400(host: FunctionsHost) -> None:
    status, body = hook(host, b"[" * 100_000)
    assert status == 400 and "nested more than 64 levels deep" in detail(body)
    deep_but_parseable = b'[{"id":"d","data":' + b"[" * 100 + b"]" * 100 + b"}]"
    status, body = hook(host, deep_but_parseable)
    assert status == 400 and "nested more than 64 levels deep" in detail(body)


def test_validation_event_with_data_5_is_400(host: FunctionsHost) -> None:
    status, body = hook(host, b'[{"id":"v","eventType":"Microsoft.EventGrid.SubscriptionValidationEvent",'
                              b'"data":5}]', kind="SubscriptionValidation")
    assert status == 400 and "needs data.validationCode" in detail(body) and "got data 5" in detail(body)


def test_an_event_the_library_cannot_decode_is_400_and_runs_nothing(host: FunctionsHost, records: Path) -> None:
    batch = [{"id": "undecodable-ok", "eventType": "T", "subject": "s", "eventTime": "2026-01-01T00:00:00Z"},
             {"id": "undecodable-bad", "eventType": "T", "subject": "s", "eventTime": 5}]
    status, body = hook(host, json.dumps(batch).encode())
    assert status == 400 and detail(body).startswith("events[1] cannot be decoded: TypeError")
    assert invoked(records, "undecodable-") == 0  # all or nothing: the good event did not run either


def test_not_json_and_not_utf8_bodies_are_400(host: FunctionsHost) -> None:
    assert hook(host, b"\xff\xfe[]")[0] == 400
    status, body = hook(host, b"[1, 2]")
    assert status == 400 and "array of event objects" in detail(body)


def test_non_utf8_function_key_is_401(host: FunctionsHost) -> None:
    status, body = hook(host, events(1, "badkey-"), **{"x-functions-key": b"\xff\xfe\xfd"})
    assert status == 401 and "not valid UTF-8" in detail(body)
    status, body = raw(host, "GET", "/admin/host/status", headers={"x-functions-key": b"\xc3\x28"})
    assert status == 401 and b"not valid UTF-8" in body
    assert raw(host, "GET", HOOK.replace("?", "?code=%FF%FE&"), headers={"aeg-event-type": "x"})[0] == 401


def test_missing_or_wrong_webhook_key_is_401_with_a_reason(host: FunctionsHost) -> None:
    status, body = raw(host, "POST", HOOK, events(1, "nokey-"), {"aeg-event-type": "Notification"})
    assert status == 401 and "a key is required" in detail(body)
    status, body = hook(host, events(1, "wrongkey-"), **{"x-functions-key": "guess"})
    assert status == 401 and "not valid here" in detail(body)


def test_host_status_needs_the_master_key_with_enable_auth(host: FunctionsHost) -> None:
    assert raw(host, "GET", "/admin/host/status")[0] == 401
    status, body = raw(host, "GET", "/admin/host/status", headers={"x-functions-key": HOST_KEY})
    assert status == 401 and b"only the master key" in body
    status, body = raw(host, "GET", "/admin/host/status", headers={"x-functions-key": MASTER})
    assert status == 200 and "on_event" in json.loads(body)["functions"]


def test_http_body_over_100_mb_is_413_before_it_is_read(host: FunctionsHost) -> None:
    connection = HTTPConnection("127.0.0.1", host.port, timeout=30)
    try:  # announce 100 MB + 1 and send nothing: the answer must not wait for the body
        connection.putrequest("POST", "/api/publish")
        connection.putheader("Content-Length", str(100 * 1024 * 1024 + 1))
        connection.endheaders()
        response = connection.getresponse()
        assert response.status == 413 and b"at most 104857600 bytes" in response.read()
    finally:
        connection.close()


def test_the_host_still_serves_after_all_of_it(host: FunctionsHost, records: Path) -> None:
    assert hook(host, events(2, "after-"))[0] == 200
    assert invoked(records, "after-") == 2
    assert http("GET", host.base_url + "/admin/host/status", headers={"x-functions-key": MASTER})[0] == 200
    assert "Traceback" not in host.log_text()
