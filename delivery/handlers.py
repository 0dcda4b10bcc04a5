"""Delivery's handlers: plain functions on ports (no Azure SDK), driven by the state machine."""
from __future__ import annotations

import logging
from typing import Any

from adapters.outbound import outcome_event, to_inbox, to_topic
from adapters.ports import Clock, EventPublisher, MessageBus, Outgoing
from adapters.repositories import DeliveryRepository
from adapters.settlement import Complete, DeadLetter, Outcome, Received
from adapters.tracing import trace_id_of
from contracts.messages import AnyMessage
from contracts.names import message_id
from contracts.reasons import ReasonCode
from delivery.state_machine import Decision, Hop, PublishOutcome, ScheduleSelf, decide

log = logging.getLogger(__name__)


def handle_inbox_message(message: AnyMessage, received: Received, deliveries: DeliveryRepository,
                         bus: MessageBus, events: EventPublisher, clock: Clock,
                         readiness_deadline_seconds: float) -> Outcome:
    """Apply one `delivery-inbox` message; send what the transition owes *before* saving and completing."""
    loaded = deliveries.get(message.delivery_id)
    document, etag = loaded if loaded else (None, None)
    hop = Hop(message_id=received.message_id or message_id(message.delivery_id, message.message_type),
              trace_id=trace_id_of(received.traceparent), now=clock())
    decision = decide(document, message, hop, readiness_deadline_seconds)
    if decision.unexpected:
        return DeadLetter(ReasonCode.INVALID_MESSAGE, decision.note)
    if decision.document is None:
        return Complete(decision.note)
    # Effects first: their MessageIds and event ids are deterministic, so if saving fails the retry
    # re-sends the same ids and the broker / subscribers drop the copies (DESIGN.md "Idempotent").
    _perform(decision, received.traceparent, bus, events)
    deliveries.save(decision.document, etag)
    log.info("delivery %s: %s -> %s", message.delivery_id, message.message_type, decision.note)
    return Complete(decision.note)


def _perform(decision: Decision, traceparent: str | None, bus: MessageBus, events: EventPublisher) -> None:
    sends: list[Outgoing] = []
    for effect in decision.effects:
        if isinstance(effect, ScheduleSelf):
            sends.append(to_inbox(effect.message, traceparent, step=effect.step, at=effect.at))
        elif isinstance(effect, PublishOutcome) and effect.republish_for:
            sends.append(to_topic(effect.event, traceparent, step=effect.republish_for))
        elif isinstance(effect, PublishOutcome):
            sends.append(to_topic(effect.event, traceparent))
    if sends:
        bus.send(sends)
    published = [e.event for e in decision.effects if isinstance(e, PublishOutcome) and not e.republish_for]
    if published:
        events.publish([outcome_event(event, traceparent) for event in published])


def delivery_status(delivery_id: str, deliveries: DeliveryRepository) -> dict[str, Any] | None:
    """The `GET /api/deliveries/{id}` body, or None when the delivery is unknown (not yet requested)."""
    loaded = deliveries.get(delivery_id)
    if loaded is None or loaded[0].state is None:
        return None
    doc = loaded[0].to_json_dict()
    request = doc["request"]
    return {
        "deliveryId": delivery_id, "state": doc["state"], "reason": doc["reason"],
        "package": request["packageInfo"], "ownerId": request["ownerId"],
        "drone": doc["drone"], "eta": doc["eta"], "readinessDeadlineAt": doc["readinessDeadlineAt"],
        "traceId": doc["traceId"], "history": doc["history"],
    }
