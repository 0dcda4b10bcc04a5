"""Event Grid and Cosmos DB output bindings, sent by the host to the devstack emulators with the real SDKs."""
from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from azure.cosmos import CosmosClient

from tests.functions.sample_apps import http, poll, prepare_app, read_records
from tests.support.cosmos import CosmosEmulator, run_cosmos
from tests.support.eventgrid import EventGrid, run_eventgrid
from tests.support.functions_host import FunctionsHost, run_host
from tests.support.processes import free_port

TOPIC = "samples"
HOOK = "http://127.0.0.1:${HOST_PORT}/runtime/webhooks/EventGrid?functionName=on_event"
EVENTGRID_CONFIG = {"topics": [{
    "name": TOPIC, "key": "ZGV2c3RhY2stZXZlbnRncmlkLWtleQ==", "inputSchema": "EventGridSchema",
    "subscriptions": [{"name": "to-host", "filter": {"includedEventTypes": ["Sample.Published"]},
                       "endpointUrl": HOOK}],
}]}


@dataclass
class Stack:
    host: FunctionsHost
    grid: EventGrid
    cosmos: CosmosEmulator
    records: Path


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("outputs")
    records = tmp / "records"
    records.mkdir()
    host_port = free_port()
    with run_eventgrid(tmp / "eventgrid", EVENTGRID_CONFIG, env={"HOST_PORT": str(host_port)},
                       extra_args=["--time-scale", "0.01"]) as grid, run_cosmos(tmp / "cosmos") as cosmos:
        settings = {"RECORD_DIR": str(records), "YEARLY_SCHEDULE": "0 0 0 1 1 *",
                    "EventGridTopicEndpoint": grid.topic_endpoint(TOPIC), "EventGridTopicKey": grid.key_for(TOPIC),
                    "CosmosDBConnection": cosmos.connection_string}
        with run_host(prepare_app("events_app", tmp), settings, port=host_port) as host:
            yield Stack(host, grid, cosmos, records)


def delivered(stack: Stack, prefix: str) -> list[dict]:
    return [r for r in read_records(stack.records, "events") if r["id"].startswith(prefix)]


def test_event_grid_output_events_reach_a_subscriber(stack: Stack) -> None:
    body = json.dumps({"id": "batch", "subject": "orders/1", "count": 2}).encode()
    assert http("POST", stack.host.base_url + "/api/publish", body)[0] == 200
    events = poll(lambda: len(delivered(stack, "batch-")) == 2 and delivered(stack, "batch-"),
                  what="both events delivered back to the host's Event Grid trigger")
    assert sorted((e["id"], e["type"], e["subject"], e["data"]["n"]) for e in events) == [
        ("batch-0", "Sample.Published", "orders/1", 0), ("batch-1", "Sample.Published", "orders/1", 1)]


def test_event_grid_output_accepts_a_json_string(stack: Stack) -> None:
    event = {"id": "json-1", "subject": "s", "eventType": "Sample.Published", "data": {"via": "str"},
             "dataVersion": "1.0", "eventTime": "2026-01-01T00:00:00Z"}
    assert http("POST", stack.host.base_url + "/api/publish-json", json.dumps(event).encode())[0] == 200
    poll(lambda: delivered(stack, "json-1"), what="the event from a JSON string")
    assert delivered(stack, "json-1")[0]["data"] == {"via": "str"}


def test_cosmos_output_upserts_documents_creating_the_container(stack: Stack) -> None:
    one = {"id": "d1", "kind": "note", "text": "first"}
    assert http("POST", stack.host.base_url + "/api/documents", json.dumps(one).encode())[0] == 200
    many = [{"id": "d1", "kind": "note", "text": "replaced"}, {"id": "d2", "kind": "memo", "text": "second"}]
    assert http("POST", stack.host.base_url + "/api/documents", json.dumps(many).encode())[0] == 200
    container = CosmosClient(stack.cosmos.endpoint, stack.cosmos.key).get_database_client("samples") \
        .get_container_client("docs")
    assert container.read_item("d1", partition_key="note")["text"] == "replaced"
    assert container.read_item("d2", partition_key="memo")["text"] == "second"
