"""Delivery's handlers: plain functions on ports (no Azure SDK), driven by the state machine.

Commit, then announce (docs/app.md): the new state and every effect it owes are saved together in the
delivery document (ETag-conditional), then the effects are sent and marked sent, then the message is completed.
What an earlier transition still owes goes out before the next message is applied; the relay
(`relay_owed_effects`, a timer trigger) retries what stays owed, e.g. during an Event Grid outage."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from contracts.messages import AnyMessage
from contracts.names import DELIVERY_INBOX_QUEUE, EVENT_GRID_TOPIC, message_id
from contracts.reasons import ReasonCode
from core.documents import OutboxEntry
from core.outbound import outcome_event, to_inbox, to_topic
from core.outbox import RelaySchedule, dispatch, earliest_due, event_entry, message_entry
from core.ports import Clock, EventPublisher, MessageBus, PreconditionFailed
from core.settlement import Complete, DeadLetter, Outcome, Received
from core.tracing import trace_id_of
from delivery.documents import DeliveryDocument, ScheduledTimer
from delivery.repository import DeliveryRepository
from delivery.state_machine import Decision, Hop, PublishOutcome, ScheduleSelf, decide, timer_name

log = logging.getLogger(__name__)
# How often a message is applied again at once when the document changed under it (a 412 on the save).
STALE_COPY_ATTEMPTS = 3
# A timer due sooner than this is not worth cancelling: it may be enqueued before the request arrives.
CANCEL_MARGIN = timedelta(seconds=1)


def handle_inbox_message(message: AnyMessage, received: Received, deliveries: DeliveryRepository,
                         bus: MessageBus, events: EventPublisher, clock: Clock,
                         readiness_deadline_seconds: float, schedule: RelaySchedule = RelaySchedule()) -> Outcome:
    """Apply one `delivery-inbox` message: owed effects out first, then decide, save with the new effects, send.

    The session's last saved copy stands in for a read (DeliveryRepository.remembered); its ETag makes the save
    fail if anyone saved since, and then the message is applied again to the stored document, at once. A decision
    to change nothing is only taken on the stored document: a stale copy could miss a timer set elsewhere."""
    for _ in range(STALE_COPY_ATTEMPTS):
        try:
            return _apply(message, received, deliveries, bus, events, clock, readiness_deadline_seconds, schedule)
        except PreconditionFailed:
            log.info("delivery %s changed since this process saved it; applying %s again", message.delivery_id,
                     message.message_type)
    return _apply(message, received, deliveries, bus, events, clock, readiness_deadline_seconds, schedule)


def _apply(message: AnyMessage, received: Received, deliveries: DeliveryRepository, bus: MessageBus,
           events: EventPublisher, clock: Clock, readiness_deadline_seconds: float,
           schedule: RelaySchedule) -> Outcome:
    remembered = deliveries.remembered(message.delivery_id)
    loaded = remembered or deliveries.get(message.delivery_id)
    document, etag = loaded if loaded else (None, None)
    if document is not None and document.outbox:
        document, etag = _send_owed(document, etag, deliveries, bus, events, clock, schedule)
    hop = Hop(message_id=received.message_id or message_id(message.delivery_id, message.message_type),
              trace_id=trace_id_of(received.traceparent), now=clock())
    decision = decide(document, message, hop, readiness_deadline_seconds)
    if decision.unexpected:
        return DeadLetter(ReasonCode.INVALID_MESSAGE, decision.note)
    if decision.document is None:
        if remembered is not None:
            deliveries.forget(message.delivery_id)  # confirm "no effect" on the stored document
            return _apply(message, received, deliveries, bus, events, clock, readiness_deadline_seconds, schedule)
        return Complete(decision.note)
    owed = [*decision.document.outbox, *_entries(decision, received.traceparent, hop, schedule)]
    committed = _with_outbox(decision.document, owed)
    etag = deliveries.save(committed, etag)  # the commit point: nothing was sent for this transition before it
    log.info("delivery %s: %s -> %s", message.delivery_id, message.message_type, decision.note)
    if owed:
        _send_owed(committed, etag, deliveries, bus, events, clock, schedule)
    _cancel_unneeded_timers(document, committed, message, bus, hop.now)
    return Complete(decision.note)


def relay_owed_effects(deliveries: DeliveryRepository, bus: MessageBus, events: EventPublisher, clock: Clock,
                       schedule: RelaySchedule = RelaySchedule(), limit: int = 100) -> int:
    """The relay: send what documents still owe once it is due; returns how many documents it settled fully."""
    settled = 0
    for document, etag in deliveries.with_owed_effects(clock(), limit):
        try:
            after, _ = _send_owed(document, etag, deliveries, bus, events, clock, schedule)
        except PreconditionFailed:
            continue  # the delivery's session moved it on meanwhile; it sends what it owes itself
        except Exception:
            log.warning("relay: delivery %s still owes %d effect(s)", document.id, len(document.outbox), exc_info=True)
            continue
        settled += not after.outbox
    return settled


def _send_owed(document: DeliveryDocument, etag: str | None, deliveries: DeliveryRepository, bus: MessageBus,
               events: EventPublisher, clock: Clock, schedule: RelaySchedule) -> tuple[DeliveryDocument, str | None]:
    """Dispatch the document's outbox and save what remains owed, with the sequence numbers of the timers it
    scheduled (ETag-conditional); the updated document and ETag."""
    dispatched = dispatch(document.outbox, bus, events, clock(), schedule)
    if dispatched.remaining == document.outbox:
        return document, etag
    new = {e.timer: ScheduledTimer(sequence_number=dispatched.timers[e.timer], due_at=e.scheduled_at)
           for e in document.outbox if e.timer in dispatched.timers and e.scheduled_at is not None}
    timers = {name: timer for name, timer in {**document.scheduled_timers, **new}.items() if name in document.timers}
    updated = _with_outbox(document, dispatched.remaining).model_copy(update={"scheduled_timers": timers})
    return updated, deliveries.save(updated, etag)


def _cancel_unneeded_timers(before: DeliveryDocument | None, after: DeliveryDocument, message: AnyMessage,
                            bus: MessageBus, now: datetime) -> None:
    """Cancel the scheduled timers the transition dropped, so they never cost a session visit (best effort: one
    that fires anyway is a stale timer, a no-op). The timer being handled, and one about to fire, are left alone:
    there is nothing left to cancel, and the broker would answer MessageNotFound."""
    if before is None:
        return
    current = timer_name(message)
    numbers = [timer.sequence_number for name, timer in before.scheduled_timers.items()
               if name != current and name in before.timers and after.timers.get(name) != before.timers[name]
               and timer.due_at > now + CANCEL_MARGIN]
    if not numbers:
        return
    try:
        bus.cancel_scheduled(DELIVERY_INBOX_QUEUE, numbers)
    except Exception:
        log.warning("delivery %s: cancelling %d timer(s) no longer needed failed; they fire as stale timers",
                    after.id, len(numbers), exc_info=True)


def _with_outbox(document: DeliveryDocument, entries: list[OutboxEntry]) -> DeliveryDocument:
    return document.model_copy(update={"outbox": entries, "outbox_due_at": earliest_due(entries)})


def _entries(decision: Decision, traceparent: str | None, hop: Hop, schedule: RelaySchedule) -> list[OutboxEntry]:
    """The outbox entries for a decision's effects: timers and topic messages, and the Event Grid announcements."""
    entries: list[OutboxEntry] = []
    for effect in decision.effects:
        if isinstance(effect, ScheduleSelf):
            entries.append(message_entry(to_inbox(effect.message, traceparent, step=effect.step, at=effect.at),
                                         hop.now, schedule, timer=effect.name))
        elif isinstance(effect, PublishOutcome):
            entries.append(message_entry(to_topic(effect.event, traceparent, step=effect.republish_for),
                                         hop.now, schedule))
            if not effect.republish_for:  # a re-publish is for the late step only, not news for outsiders
                entries.append(event_entry(outcome_event(effect.event, traceparent), EVENT_GRID_TOPIC, hop.now,
                                           schedule))
    return entries


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
