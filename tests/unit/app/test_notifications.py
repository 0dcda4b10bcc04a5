"""Notifications: one notification per delivery event, deduped by event id through the output binding's upsert."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import azure.functions as func
import pytest

from adapters import bootstrap
from adapters.memory import InMemoryContainer, ManualClock
from contracts.messages import DeliveryFailed, DeliveryShipped
from contracts.reasons import ReasonCode
from core.outbound import outcome_event
from tests.unit.app.support import T0, user_function


class CollectingOut:
    """Stands in for ``func.Out[func.Document]``; upserts into a container as the Cosmos output binding does."""

    def __init__(self, container: InMemoryContainer) -> None:
        self.container = container
        self.value: Any = None

    def set(self, value: func.Document) -> None:
        self.value = value
        self.container.upsert(dict(value))

    def get(self) -> Any:
        return self.value


@pytest.fixture()
def clock() -> Iterator[ManualClock]:
    clock = ManualClock(T0)
    bootstrap.install(bootstrap.in_memory(clock=clock))
    yield clock
    bootstrap.install(None)


def grid_event(outcome: Any) -> func.EventGridEvent:
    event = outcome_event(outcome, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
    return func.EventGridEvent(id=event.id, data=event.data, topic="/topics/delivery-events", subject=event.subject,
                               event_type=event.event_type, event_time=datetime.now(UTC),
                               data_version=event.data_version)


def test_one_notification_per_event_even_when_redelivered(clock: ManualClock) -> None:
    container = InMemoryContainer("/id")
    shipped = DeliveryShipped(delivery_id="d1", occurred_at=T0, owner_id="owner-1", package_id="p", drone_id="drone-1")
    for _ in range(2):
        user_function("notify_owner")(grid_event(shipped), CollectingOut(container))
    [doc] = container.all()
    assert doc["id"] == "d1:DeliveryShipped" and doc["ownerId"] == "owner-1" and doc["state"] == "Shipped"
    assert doc["traceId"] == "0af7651916cd43dd8448eb211c80319c" and "arrived" in doc["text"]


def test_failed_event_names_the_reason(clock: ManualClock) -> None:
    container = InMemoryContainer("/id")
    failed = DeliveryFailed(delivery_id="d2", occurred_at=T0, owner_id="o", package_id="p",
                            reason=ReasonCode.NO_DRONE_AVAILABLE)
    user_function("notify_owner")(grid_event(failed), CollectingOut(container))
    assert "NoDroneAvailable" in container.all()[0]["text"]


def test_unreadable_event_is_ignored_not_retried(clock: ManualClock) -> None:
    out = CollectingOut(InMemoryContainer("/id"))
    event = func.EventGridEvent(id="x", data={"unexpected": True}, topic="t", subject="s", event_type="Other",
                                event_time=None, data_version="1")
    user_function("notify_owner")(event, out)
    assert out.get() is None
