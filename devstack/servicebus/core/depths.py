"""How many messages each queue, topic and subscription holds, by state: the broker's runtime properties.

The counts follow Azure's message counters (``QueueRuntimeProperties`` / ``SubscriptionRuntimeProperties``,
https://learn.microsoft.com/azure/service-bus-messaging/message-counters): ``active`` includes messages a
receiver holds locked (they stay in the entity until settled), ``scheduled`` are not yet enqueued, and
``dead_lettered`` is the entity's dead-letter queue. ``locked`` (a subset of active and deferred) and
``deferred`` are extra: Azure does not report them. A topic holds only messages scheduled on it (docs/servicebus.md).

``measure`` walks every message once and must run on the broker's loop thread, the only one that mutates the core;
the snapshot it returns is immutable, so any other thread may read it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from devstack.servicebus.core.broker import Broker
from devstack.servicebus.core.entity import Entity
from devstack.servicebus.core.message import MessageState

QUEUE, TOPIC, SUBSCRIPTION = "queue", "topic", "subscription"


@dataclass(frozen=True)
class EntityDepth:
    """One entity's counts at one instant."""

    path: str  # as configured: ``queue``, ``topic`` or ``topic/Subscriptions/name``
    kind: str  # QUEUE, TOPIC or SUBSCRIPTION
    active: int = 0
    scheduled: int = 0
    dead_lettered: int = 0
    locked: int = 0
    deferred: int = 0
    sessions: int = 0   # sessions with messages, state or a receiver
    receivers: int = 0  # receiver links attached (session receivers still waiting included)

    def view(self) -> dict[str, Any]:
        """JSON-ready form (camelCase like the SDK's runtime properties in JSON)."""
        return {"kind": self.kind, "active": self.active, "scheduled": self.scheduled,
                "deadLettered": self.dead_lettered, "locked": self.locked, "deferred": self.deferred,
                "total": self.active + self.scheduled + self.dead_lettered + self.deferred,
                "sessions": self.sessions, "receivers": self.receivers}


@dataclass(frozen=True)
class DepthSnapshot:
    """Every entity's counts, taken at ``taken_at`` (the broker's clock, Unix seconds)."""

    taken_at: float
    entities: tuple[EntityDepth, ...]

    def view(self) -> dict[str, Any]:
        """``{"takenAt": ..., "entities": {path: counts}}`` in topology order."""
        return {"takenAt": self.taken_at, "entities": {depth.path: depth.view() for depth in self.entities}}


def measure(broker: Broker) -> DepthSnapshot:
    """Count every queue, topic and subscription of ``broker`` (loop thread only)."""
    # A queue's name may contain "/" too, so subscriptions are told apart by the topology, not by their path.
    subscriptions = {sub.path.lower() for topic in broker.topics.values() for sub in topic.subscriptions}
    depths: list[EntityDepth] = []
    for key, entity in broker.entities.items():
        if entity.is_dead_letter:
            continue  # counted with the entity it belongs to
        kind = TOPIC if key in broker.topics else SUBSCRIPTION if key in subscriptions else QUEUE
        depths.append(_depth(entity, kind))
    return DepthSnapshot(broker.clock(), tuple(depths))


def _depth(entity: Entity, kind: str) -> EntityDepth:
    active = scheduled = deferred = locked = 0
    for message in entity.messages.values():
        state = message.state
        if state is MessageState.ACTIVE:
            active += 1
        elif state is MessageState.SCHEDULED:
            scheduled += 1
        else:
            deferred += 1
        if message.lock is not None:
            locked += 1
    dead = entity.dead_letter
    return EntityDepth(entity.settings.path, kind, active, scheduled, len(dead.messages) if dead is not None else 0,
                       locked, deferred, len(entity.sessions), len(entity.consumers))
