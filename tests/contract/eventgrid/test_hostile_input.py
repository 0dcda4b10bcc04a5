"""Hostile publish requests to a real emulator subprocess: a 4xx naming the fault, nothing stored, no crash."""
from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.client import HTTPConnection

import pytest
from azure.core.credentials import AzureKeyCredential, AzureSasCredential
from azure.eventgrid import EventGridEvent, EventGridPublisherClient, generate_sas

from tests.support.eventgrid import EventGrid, run_eventgrid

KEY = "ZGV2c3RhY2stZXZlbnRncmlkLWtleQ=="
PATH = "/topics/delivery-events/api/events?api-version=2018-01-01"


@pytest.fixture(scope="module")
def grid(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EventGrid]:
    # Port 9 (discard) refuses connections: stored deliveries stay pending, so /health counts what was kept.
    config = {"topics": [{"name": "delivery-events", "key": KEY, "subscriptions": [
        {"name": "nowhere", "endpointUrl": "http://127.0.0.1:9/api/updates"}]}]}
    with run_eventgrid(tmp_path_factory.mktemp("hostile-eg"), config) as running:
        yield running


def post(grid: EventGrid, body: bytes, headers: dict[str, str | bytes]) -> tuple[int, dict]:
    """One publish through http.client, which sends header bytes as given."""
    connection = HTTPConnection("127.0.0.1", grid.port, timeout=15)
    try:
        connection.putrequest("POST", PATH)
        for name, value in {"Content-Type": "application/json", "Content-Length": str(len(body)),
                            **headers}.items():
            connection.putheader(name, value)
        connection.endheaders(body)
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        connection.close()


def pending(grid: EventGrid) -> int:
    connection = HTTPConnection("127.0.0.1", grid.port, timeout=15)
    try:
        connection.request("GET", "/health")
        return int(json.loads(connection.getresponse().read())["pending"])
    finally:
        connection.close()


def event_json(data: str) -> bytes:
    return (b'[{"id":"e1","eventType":"T","subject":"s","eventTime":"2026-01-01T00:00:00Z","dataVersion":"1",'
            b'"data":' + data.encode() + b"}]")


@pytest.mark.parametrize("header", ["aeg-sas-key", "aeg-sas-token"])
def test_a_non_utf8_credential_header_is_401_naming_it(grid: EventGrid, header: str) -> None:
    status, body = post(grid, event_json("{}"), {header: b"\xff\xfe\x80"})
    assert status == 401
    assert body["error"] == {"code": "Unauthorized", "message": f"the {header} header is not valid UTF-8"}


def test_a_token_with_undecodable_escapes_is_401(grid: EventGrid) -> None:
    status, body = post(grid, event_json("{}"), {"aeg-sas-token": "r=%FF%FE&e=%C3%28&s=%80"})
    assert status == 401 and "signature is not valid" in body["error"]["message"]


@pytest.mark.parametrize("data, where", [
    (r'{"note": "\ud800"}', "events[0].data.note"),
    (r'{"list": ["fine", "x\udfffy"]}', "events[0].data.list[1]"),
    (r'{"\udbff": 1}', "a member name in events[0].data"),
])
def test_a_lone_surrogate_is_400_naming_where_and_nothing_is_stored(grid: EventGrid, data: str,
                                                                     where: str) -> None:
    before = pending(grid)
    status, body = post(grid, event_json(data), {"aeg-sas-key": KEY})
    assert status == 400 and body["error"]["code"] == "BadRequest"
    assert f"{where} holds a lone UTF-16 surrogate" in body["error"]["message"]
    assert pending(grid) == before


def test_a_surrogate_pair_is_one_character_and_accepted(grid: EventGrid) -> None:
    before = pending(grid)
    assert post(grid, event_json(r'{"emoji": "\ud83d\ude00"}'), {"aeg-sas-key": KEY})[0] == 200
    assert pending(grid) == before + 1


def test_the_sdk_still_publishes_with_key_and_token_afterwards(grid: EventGrid) -> None:
    endpoint = grid.topic_endpoint("delivery-events")
    event = EventGridEvent(subject="s", event_type="T", data={"ok": True}, data_version="1")
    EventGridPublisherClient(endpoint, AzureKeyCredential(KEY)).send([event])
    token = generate_sas(endpoint, KEY, datetime.now(UTC) + timedelta(minutes=5))
    EventGridPublisherClient(endpoint, AzureSasCredential(token)).send([event])
    assert "Traceback" not in grid.process.log_tail(400)
