"""The app as a host indexes it: the function list and each binding's JSON, through ``app.get_functions()``."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.unit.app.support import app_functions

ROOT = Path(__file__).resolve().parents[3]
FUNCTIONS = list(app_functions().values())
SB = {"type": "serviceBusTrigger", "name": "msg", "connection": "ServiceBusConnection", "direction": "IN",
      "autoCompleteMessages": False}


def _bindings() -> dict[str, list[dict[str, Any]]]:
    return {f.get_function_name(): [json.loads(b) for b in f.get_raw_bindings()] for f in FUNCTIONS}


def _topic(subscription: str) -> dict[str, Any]:
    return {**SB, "topicName": "deliveries", "subscriptionName": subscription, "isSessionsEnabled": False}


def _http(method: str, route: str) -> list[dict[str, Any]]:
    return [{"type": "httpTrigger", "name": "req", "direction": "IN", "methods": [method], "authLevel": "FUNCTION",
             "route": route}, {"type": "http", "name": "$return", "direction": "OUT"}]


RELAY = [{"type": "timerTrigger", "name": "timer", "direction": "IN", "schedule": "*/5 * * * * *",
          "runOnStartup": False, "useMonitor": False}]

EXPECTED: dict[str, list[dict[str, Any]]] = {
    "ingestion_relay": RELAY,
    "delivery_relay": RELAY,
    "drone_scheduler_waitlist": RELAY,
    "ingest_delivery": _http("POST", "deliveries"),
    "cancel_delivery": _http("DELETE", "deliveries/{deliveryId}"),
    "get_delivery": _http("GET", "deliveries/{deliveryId}"),
    "openapi_document": [{"type": "httpTrigger", "name": "req", "direction": "IN", "methods": ["GET"],
                          "authLevel": "ANONYMOUS", "route": "openapi.json"},
                         {"type": "http", "name": "$return", "direction": "OUT"}],
    "package_on_deliveries": [_topic("package")],
    "drone_scheduler_on_deliveries": [_topic("drone-scheduler")],
    "delivery_on_inbox": [{**SB, "queueName": "delivery-inbox", "isSessionsEnabled": True}],
    "remediate_package_dead_letters": [_topic("package/$deadletterqueue")],
    "remediate_drone_scheduler_dead_letters": [_topic("drone-scheduler/$deadletterqueue")],
    "remediate_delivery_subscription_dead_letters": [_topic("delivery/$deadletterqueue")],
    "remediate_inbox_dead_letters": [{**SB, "queueName": "delivery-inbox/$deadletterqueue",
                                      "isSessionsEnabled": False}],
    "notify_owner": [
        {"type": "cosmosDB", "name": "notification", "direction": "OUT", "connection": "CosmosDBConnection",
         "databaseName": "drone-delivery", "containerName": "notifications"},
        {"type": "eventGridTrigger", "name": "event", "direction": "IN"},
    ],
}


def test_function_list_is_exactly_the_designed_one() -> None:
    assert sorted(_bindings()) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_binding_json(name: str) -> None:
    key = lambda b: (b["direction"], b["type"])  # noqa: E731
    assert sorted(_bindings()[name], key=key) == sorted(EXPECTED[name], key=key)


def test_every_service_bus_trigger_settles_through_message_actions() -> None:
    for function in FUNCTIONS:
        trigger = function.get_trigger()
        if trigger.get_dict_repr()["type"] != "serviceBusTrigger":
            continue
        annotations = function.get_user_function().__annotations__
        assert "ServiceBusMessageActions" in str(annotations["message_actions"]), function.get_function_name()
        assert "ServiceBusReceivedMessage" in str(annotations["msg"]), function.get_function_name()


def test_service_bus_entities_exist_in_the_shipped_config() -> None:
    config = json.loads((ROOT / "resources" / "Config.json").read_text())
    namespace = config["UserConfig"]["Namespaces"][0]
    queues = {q["Name"]: q["Properties"] for q in namespace["Queues"]}
    topics = {t["Name"]: {s["Name"]: s for s in t["Subscriptions"]} for t in namespace["Topics"]}
    for bindings in _bindings().values():
        for b in bindings:
            if "queueName" in b:
                assert b["queueName"].split("/")[0] in queues
            if "topicName" in b:
                assert b["subscriptionName"].split("/")[0] in topics[b["topicName"]]
    assert queues["delivery-inbox"]["RequiresSession"] and queues["delivery-inbox"]["RequiresDuplicateDetection"]
    delivery = topics["deliveries"]["delivery"]
    assert delivery["Properties"]["ForwardTo"] == "delivery-inbox"
    assert delivery["Rules"][0]["Properties"]["CorrelationFilter"] == {"Label": "DeliveryRequested"}


def test_event_grid_subscription_targets_the_notifications_function() -> None:
    config = json.loads((ROOT / "resources" / "eventgrid.json").read_text())
    url = config["topics"][0]["subscriptions"][0]["endpointUrl"]
    assert url.endswith("/runtime/webhooks/EventGrid?functionName=notify_owner") and "notify_owner" in _bindings()


def test_host_json_settles_manually_and_keeps_sessions_moving() -> None:
    host = json.loads((ROOT / "host.json").read_text())
    assert host["extensionBundle"]["version"] == "[4.*, 5.0.0)" and host["extensions"]["http"]["routePrefix"] == "api"
    sb = host["extensions"]["serviceBus"]
    assert sb["autoCompleteMessages"] is False and sb["sessionIdleTimeout"] and sb["maxConcurrentSessions"] >= 1
