"""The messages' and events' published contract, AsyncAPI 3.0 (docs/asyncapi.yaml), generated from the pydantic
models in contracts/messages.py. AsyncAPI 3.0 payloads are Schema Objects, a superset of JSON Schema, so the
message models are described by what pydantic emits. A developer tool (tools/ is not published): the
running app never imports it.
"""
from __future__ import annotations

import functools
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from contracts import messages as m
from contracts.events import DeliveryEventData
from contracts.names import (
    DEAD_LETTER_SUFFIX,
    DELIVERIES_TOPIC,
    DELIVERY_INBOX_QUEUE,
    DELIVERY_SUBSCRIPTION,
    DRONE_SCHEDULER_SUBSCRIPTION,
    EVENT_GRID_TOPIC,
    PACKAGE_SUBSCRIPTION,
    event_type,
)

_REF = "#/components/schemas/{model}"

# ---- AsyncAPI 3.0 (https://www.asyncapi.com/docs/reference/specification/v3.0.0) ------------------------
_TERMINAL: list[type[BaseModel]] = [m.DeliveryShipped, m.DeliveryFailed, m.DeliveryCancelled]
_INBOX: list[type[BaseModel]] = [m.DeliveryRequested, m.PackageReady, m.PackageRejected, m.DroneScheduled,
                                 m.DroneSchedulingFailed, m.StepFailed, m.ReadinessDeadline, m.FlightProgress,
                                 m.CancelDelivery]
# Who sends what where, and who receives it (docs/app.md "Message flow").
_SENDS: list[tuple[str, str, list[type[BaseModel]]]] = [("ingestion", DELIVERIES_TOPIC, [m.DeliveryRequested]),
          ("ingestion", DELIVERY_INBOX_QUEUE, [m.CancelDelivery]),
          ("package", DELIVERY_INBOX_QUEUE, [m.PackageReady, m.PackageRejected]),
          ("droneScheduler", DELIVERY_INBOX_QUEUE, [m.DroneScheduled, m.DroneSchedulingFailed]),
          ("remediation", DELIVERY_INBOX_QUEUE, [m.StepFailed]),
          ("delivery", DELIVERY_INBOX_QUEUE, [m.ReadinessDeadline, m.FlightProgress]),
          ("delivery", DELIVERIES_TOPIC, _TERMINAL)]
_SUBSCRIPTIONS: dict[str, tuple[str | None, list[type[BaseModel]]]] = {
                  PACKAGE_SUBSCRIPTION: ("package", [m.DeliveryRequested, *_TERMINAL]),
                  DRONE_SCHEDULER_SUBSCRIPTION: ("droneScheduler", [m.DeliveryRequested, *_TERMINAL]),
                  DELIVERY_SUBSCRIPTION: (None, [m.DeliveryRequested])}  # forwarded to delivery-inbox
_HEADERS = {"type": "object",
            "description": "Service Bus message properties every message carries (docs/design.md, Rules)",
            "properties": {
                "subject": {"type": "string", "description": "= messageType"},
                "messageId": {"type": "string", "description": "{deliveryId}:{messageType}[:{step}], deterministic"},
                "sessionId": {"type": "string", "description": "= deliveryId"},
                "traceparent": {"type": "string", "description": "W3C trace context (application property)"}}}


def _subscription_address(subscription: str) -> str:
    return f"{DELIVERIES_TOPIC}/Subscriptions/{subscription}"


@functools.lru_cache(maxsize=1)
def asyncapi_document() -> dict[str, Any]:
    """The AsyncAPI 3.0 description of every Service Bus message and Event Grid event (docs/asyncapi.yaml)."""
    models: list[type[BaseModel]] = [*_INBOX, *_TERMINAL, DeliveryEventData]
    refs, schemas = models_json_schema([(model, "serialization") for model in models], ref_template=_REF, by_alias=True)
    messages: dict[str, Any] = {
        model.__name__: {"name": model.__name__, "title": model.__name__, "summary": (model.__doc__ or "").strip(),
                         "contentType": "application/json", "headers": _HEADERS,
                         "payload": refs[(model, "serialization")]} for model in [*_INBOX, *_TERMINAL]}
    for model in _TERMINAL:
        messages[f"{model.__name__}Event"] = {
            "name": event_type(model.__name__), "title": f"{model.__name__} (Event Grid)",
            "contentType": "application/json",
            "summary": f"Event Grid schema event, eventType {event_type(model.__name__)}; this is its `data`.",
            "payload": refs[(DeliveryEventData, "serialization")]}
    channels: dict[str, Any] = {
        DELIVERIES_TOPIC: _channel(DELIVERIES_TOPIC, "serviceBus", [m.DeliveryRequested, *_TERMINAL],
                                   "Topic (duplicate detection)"),
        DELIVERY_INBOX_QUEUE: _channel(DELIVERY_INBOX_QUEUE, "serviceBus", _INBOX,
                                       "Session queue: one session = one delivery"),
        EVENT_GRID_TOPIC: {"address": EVENT_GRID_TOPIC, "servers": [{"$ref": "#/servers/eventGrid"}],
                           "description": "Event Grid topic for anyone outside the saga",
                           "messages": {f"{c.__name__}Event": {"$ref": f"#/components/messages/{c.__name__}Event"}
                                        for c in _TERMINAL}},
    }
    for subscription, (_, carried) in _SUBSCRIPTIONS.items():
        channels[f"{DELIVERIES_TOPIC}.{subscription}"] = _channel(
            _subscription_address(subscription), "serviceBus", carried,
            f"Subscription `{subscription}` of `{DELIVERIES_TOPIC}`")
        channels[f"{DELIVERIES_TOPIC}.{subscription}.deadLetters"] = _channel(
            f"{_subscription_address(subscription)}/{DEAD_LETTER_SUFFIX}", "serviceBus", carried, "Dead-letter queue")
    channels[f"{DELIVERY_INBOX_QUEUE}.deadLetters"] = _channel(
        f"{DELIVERY_INBOX_QUEUE}/{DEAD_LETTER_SUFFIX}", "serviceBus", _INBOX, "Dead-letter queue")
    operations: dict[str, Any] = {}
    for service, entity, sent in _SENDS:
        operations[f"{service}.send.{entity}." + ".".join(c.__name__ for c in sent)] = _operation("send", entity, sent)
    for subscription, (receiver, carried) in _SUBSCRIPTIONS.items():
        if receiver:
            operations[f"{receiver}.receive.{subscription}"] = _operation(
                "receive", f"{DELIVERIES_TOPIC}.{subscription}", carried)
        operations[f"remediation.receive.{subscription}.deadLetters"] = _operation(
            "receive", f"{DELIVERIES_TOPIC}.{subscription}.deadLetters", carried)
    operations["delivery.receive.delivery-inbox"] = _operation("receive", DELIVERY_INBOX_QUEUE, _INBOX)
    operations["remediation.receive.delivery-inbox.deadLetters"] = _operation(
        "receive", f"{DELIVERY_INBOX_QUEUE}.deadLetters", _INBOX)
    events = [f"{c.__name__}Event" for c in _TERMINAL]
    operations["delivery.send.delivery-events"] = _operation("send", EVENT_GRID_TOPIC, events)
    operations["notifications.receive.delivery-events"] = _operation("receive", EVENT_GRID_TOPIC, events)
    return {
        "asyncapi": "3.0.0",
        "info": {"title": "Drone Delivery messages", "version": "1",
                 "description": "The choreography's Service Bus messages and Event Grid events "
                                "(contracts/messages.py)."},
        "servers": {
            "serviceBus": {"host": "{namespace}.servicebus.windows.net", "protocol": "amqp", "protocolVersion": "1.0",
                           "variables": {"namespace": {"description": "Service Bus namespace"}}},
            "eventGrid": {"host": "{topicEndpointHost}", "protocol": "https", "pathname": "/api/events",
                          "variables": {"topicEndpointHost": {"description": "host of EventGridTopicEndpoint"}}},
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas["$defs"]},
    }


def _channel(address: str, server: str, carried: list[type[BaseModel]], description: str) -> dict[str, Any]:
    return {"address": address, "description": description, "servers": [{"$ref": f"#/servers/{server}"}],
            "messages": {c.__name__: {"$ref": f"#/components/messages/{c.__name__}"} for c in carried}}


def _operation(action: str, channel: str, carried: list[Any]) -> dict[str, Any]:
    names = [c if isinstance(c, str) else c.__name__ for c in carried]
    return {"action": action, "channel": {"$ref": f"#/channels/{channel}"},
            "messages": [{"$ref": f"#/channels/{channel}/messages/{name}"} for name in names]}


def asyncapi_yaml() -> str:
    """docs/asyncapi.yaml exactly as committed (a developer tool: PyYAML is in requirements-dev.txt only)."""
    import yaml  # never imported by the running app

    header = ("# Generated from contracts/messages.py by tools/asyncapi.py (asyncapi_document); do not edit.\n"
              "# Regenerate: .venv/bin/python -c \"from tools.asyncapi import asyncapi_yaml; "
              "open('docs/asyncapi.yaml', 'w').write(asyncapi_yaml())\"\n"
              "# tests/tools/test_infra.py checks that this file is current and consistent with resources/*.json.\n\n")
    return header + yaml.safe_dump(asyncapi_document(), sort_keys=False, width=120)
