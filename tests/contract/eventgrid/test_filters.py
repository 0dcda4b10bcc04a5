"""Subscription filters route events published with the real SDK to the right webhooks."""
from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

from azure.core.credentials import AzureKeyCredential
from azure.eventgrid import EventGridEvent, EventGridPublisherClient

from tests.contract.eventgrid.publishing import wait_until_drained
from tests.support.eventgrid import run_eventgrid
from tests.support.webhook import Webhook, running

SUBSCRIPTIONS = {
    "everything": {},
    "heavy": {"advancedFilters": [{"operatorType": "NumberGreaterThan", "key": "data.weight", "value": 10}]},
    "shipped-deliveries": {"includedEventTypes": ["Delivery.Shipped"], "subjectBeginsWith": "deliveries/"},
    "json-subjects": {"subjectEndsWith": ".JSON"},
    "express-or-small": {"advancedFilters": [
        {"operatorType": "StringIn", "key": "data.tier", "values": ["express", "priority"]},
        {"operatorType": "NumberInRange", "key": "data.weight", "values": [[0, 5]]},
        {"operatorType": "BoolEquals", "key": "data.fragile", "value": False},
    ]},
    "untagged": {"advancedFilters": [
        {"operatorType": "IsNullOrUndefined", "key": "data.tag"},
        {"operatorType": "StringNotIn", "key": "eventType", "values": ["Delivery.Failed"]},
    ]},
}

EVENTS = [  # id -> (event type, subject, data)
    ("e1", "Delivery.Shipped", "deliveries/1", {"weight": 12, "tier": "standard", "fragile": False}),
    ("e2", "Delivery.Failed", "deliveries/2.json", {"weight": 3, "tier": "EXPRESS", "fragile": False}),
    ("e3", "Delivery.Shipped", "archive/3.json", {"weight": 4, "tier": "express", "fragile": False, "tag": "x"}),
    ("e4", "Delivery.Cancelled", "deliveries/4", {"weight": "heavy", "fragile": True}),
]

EXPECTED = {
    "everything": {"e1", "e2", "e3", "e4"},
    "heavy": {"e1"},  # "heavy" is not a number, so e4 does not match
    "shipped-deliveries": {"e1"},
    "json-subjects": {"e2", "e3"},  # subject matching is case-insensitive
    "express-or-small": {"e2", "e3"},  # string values compare case-insensitively
    "untagged": {"e1", "e4"},
}


def test_filters_route_each_event_only_to_matching_subscriptions(tmp_path: Path) -> None:
    with ExitStack() as stack:
        hooks = {name: stack.enter_context(running(Webhook())) for name in SUBSCRIPTIONS}
        config = {"topics": [{"name": "delivery-events", "subscriptions": [
            {"name": name, "endpointUrl": hooks[name].url, "filter": flt} for name, flt in SUBSCRIPTIONS.items()]}]}
        grid = stack.enter_context(run_eventgrid(tmp_path, config, extra_args=["--time-scale", "0.01"]))
        client = EventGridPublisherClient(grid.topic_endpoint("delivery-events"),
                                          AzureKeyCredential(grid.key_for("delivery-events")))
        client.send([EventGridEvent(subject=subject, event_type=kind, data=data, data_version="1", id=event_id)
                     for event_id, kind, subject, data in EVENTS])
        hooks["everything"].wait_for_notifications(len(EVENTS))
        wait_until_drained(grid)
        received = {name: {n.body[0]["id"] for n in hook.notifications()} for name, hook in hooks.items()}
    assert received == EXPECTED
