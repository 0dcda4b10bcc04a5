"""How the saga's messages and events are addressed: session, MessageId, trace (docs/design.md "Rules")."""
from __future__ import annotations

from datetime import datetime

from contracts.events import DeliveryEventData
from contracts.messages import DeliveryOutcome, Message
from contracts.names import DELIVERIES_TOPIC, DELIVERY_INBOX_QUEUE, EVENT_DATA_VERSION, event_id, event_type, message_id
from core.ports import Event, Outgoing
from core.tracing import event_context, sending_context


def to_inbox(message: Message, parent_traceparent: str | None, step: str | None = None,
             at: datetime | None = None) -> Outgoing:
    """A message for the delivery's session on `delivery-inbox` (optionally scheduled)."""
    return _addressed(DELIVERY_INBOX_QUEUE, message, parent_traceparent, step, at)


def to_topic(message: Message, parent_traceparent: str | None, step: str | None = None) -> Outgoing:
    """A message for the `deliveries` topic (SessionId set too: the `delivery` subscription forwards to a session
    queue)."""
    return _addressed(DELIVERIES_TOPIC, message, parent_traceparent, step, None)


def outcome_event(outcome: DeliveryOutcome, traceparent: str | None) -> Event:
    """The Event Grid event for a terminal outcome; its id is deterministic so subscribers can dedupe."""
    kind = str(outcome.message_type)
    data = DeliveryEventData(
        delivery_id=outcome.delivery_id, owner_id=outcome.owner_id, state=outcome.state, reason=outcome.reason,
        package_id=outcome.package_id, drone_id=outcome.drone_id, traceparent=event_context(traceparent),
        occurred_at=outcome.occurred_at,
    )
    return Event(id=event_id(outcome.delivery_id, kind), event_type=event_type(kind),
                 subject=f"deliveries/{outcome.delivery_id}", data=data.to_json_dict(),
                 event_time=outcome.occurred_at, data_version=EVENT_DATA_VERSION)


def _addressed(entity: str, message: Message, parent: str | None, step: str | None, at: datetime | None) -> Outgoing:
    kind = str(message.message_type)
    return Outgoing(entity=entity, message=message, message_id=message_id(message.delivery_id, kind, step),
                    session_id=message.delivery_id, traceparent=sending_context(parent), scheduled_at=at)
