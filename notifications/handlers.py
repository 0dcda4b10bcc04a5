"""Turn a delivery event into the owner's notification (no Azure SDK here)."""
from __future__ import annotations

import logging

from pydantic import ValidationError

from contracts.events import DeliveryEventData, DeliveryState
from core.ports import Clock
from core.tracing import trace_id_of
from notifications.documents import NotificationDocument

log = logging.getLogger(__name__)
_TEXT = {
    DeliveryState.SHIPPED: "Your delivery {id} has arrived.",
    DeliveryState.FAILED: "Your delivery {id} could not be completed ({reason}).",
    DeliveryState.CANCELLED: "Your delivery {id} was cancelled.",
}


def notification_for(event_id: str, event_type: str, data: object, clock: Clock) -> NotificationDocument | None:
    """The notification to record, keyed by the event id (so a redelivered event overwrites, not duplicates);
    None for an event this subscriber cannot read (logged; retrying would not help)."""
    try:
        event = DeliveryEventData.model_validate(data)
    except ValidationError as exc:
        log.warning("ignoring event %s (%s): %s", event_id, event_type, exc)
        return None
    text = _TEXT.get(event.state, "Your delivery {id} is {state}.")
    return NotificationDocument(
        id=event_id, delivery_id=event.delivery_id, owner_id=event.owner_id, event_type=event_type, state=event.state,
        reason=event.reason, text=text.format(id=event.delivery_id, reason=event.reason, state=event.state),
        trace_id=trace_id_of(event.traceparent), recorded_at=clock(),
    )
