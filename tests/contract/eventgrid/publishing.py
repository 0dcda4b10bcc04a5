"""Shared steps of the Event Grid contract tests: a one-subscription config, publish, poll."""
from __future__ import annotations

import json
import time
import urllib.request
from typing import Any

from azure.core.credentials import AzureKeyCredential
from azure.eventgrid import EventGridEvent, EventGridPublisherClient

from tests.support.eventgrid import EventGrid

SCALE = ["--time-scale", "0.01"]  # 10 s -> 0.1 s, 30 s -> 0.3 s, 1 min -> 0.6 s ...
TOPIC, SUBSCRIPTION = "delivery-events", "notifications"


def one_topic(url: str, retry_policy: dict[str, int] | None = None) -> dict[str, Any]:
    """A config with topic ``delivery-events`` and one subscription ``notifications`` to ``url``."""
    sub: dict[str, Any] = {"name": SUBSCRIPTION, "endpointUrl": url}
    if retry_policy:
        sub["retryPolicy"] = retry_policy
    return {"topics": [{"name": TOPIC, "subscriptions": [sub]}]}


def publish(grid: EventGrid, *event_ids: str) -> None:
    """Publish one Event Grid schema event per id with the real SDK and the topic key."""
    client = EventGridPublisherClient(grid.topic_endpoint(TOPIC), AzureKeyCredential(grid.key_for(TOPIC)))
    client.send([EventGridEvent(subject=f"deliveries/{i}", event_type="Delivery.Shipped", data={"id": i},
                                data_version="1", id=i) for i in event_ids])


def wait_until_drained(grid: EventGrid, timeout: float = 20.0) -> None:
    """Poll /health until no delivery is pending (every routed event was delivered or dead-lettered)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"http://127.0.0.1:{grid.port}/health", timeout=5) as response:
            if json.loads(response.read())["pending"] == 0:
                return
        time.sleep(0.05)
    raise AssertionError("deliveries still pending")


def wait_for_dead_letters(grid: EventGrid, count: int, timeout: float = 20.0) -> list[dict[str, Any]]:
    """Poll the dead-letter listing until it holds ``count`` events."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        letters = grid.dead_letters(TOPIC, SUBSCRIPTION)
        if len(letters) >= count:
            return letters
        time.sleep(0.05)
    raise AssertionError(f"expected {count} dead letter(s)")
