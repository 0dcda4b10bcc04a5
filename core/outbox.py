"""Commit, then announce: the effects a saved state owes, kept in the document itself (a transactional outbox,
as NServiceBus, MassTransit and Dapr provide) and dispatched after the save (docs/app.md "Commit, then announce").

Rules (one place for every service that keeps an outbox):
- an entry is written together with the state that owes it (one ETag-conditional save), never sent before;
- Service Bus entries are always attempted, all in one send call, and a failure raises (transient: the caller
  backs off and retries, and nothing later is applied before they are out);
- Event Grid entries are attempted once when new, then only when due: a failure is recorded on the entry with
  its next attempt time and never blocks the caller (Event Grid is a side channel; the relay retries it);
- ids are deterministic, so a re-send after a crash is dropped by the broker's duplicate detection and by
  subscribers deduping on the event id.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from contracts.messages import parse_message
from core.documents import OutboxChannel, OutboxEntry
from core.ports import Event, EventPublisher, MessageBus, Outgoing

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RelaySchedule:
    """When an owed effect is tried again: first after ``first_delay`` (also the grace a fresh entry gets before
    the relay may take it), doubling up to ``max_delay``; never given up (an outage ends)."""

    first_delay: float = 5.0
    max_delay: float = 300.0

    def next_attempt(self, now: datetime, attempts: int) -> datetime:
        """The time of the next try after ``attempts`` failed ones."""
        delay = min(self.first_delay * 2 ** max(attempts - 1, 0), self.max_delay)
        return now + timedelta(seconds=delay)


def message_entry(outgoing: Outgoing, now: datetime, schedule: RelaySchedule, timer: str | None = None) -> OutboxEntry:
    """An owed Service Bus message (``timer``: the name of the timer it is, when scheduled)."""
    return OutboxEntry(id=outgoing.message_id, channel=OutboxChannel.SERVICE_BUS, destination=outgoing.entity,
                       message_type=outgoing.subject, body=outgoing.message.to_json_dict(),
                       session_id=outgoing.session_id, scheduled_at=outgoing.scheduled_at, timer=timer,
                       traceparent=outgoing.traceparent, next_attempt_at=schedule.next_attempt(now, 0))


def event_entry(event: Event, destination: str, now: datetime, schedule: RelaySchedule) -> OutboxEntry:
    """An owed Event Grid event."""
    return OutboxEntry(id=event.id, channel=OutboxChannel.EVENT_GRID, destination=destination,
                       message_type=event.event_type, body=event.data, event_type=event.event_type,
                       subject=event.subject, data_version=event.data_version, event_time=event.event_time,
                       next_attempt_at=schedule.next_attempt(now, 0))


def earliest_due(entries: Sequence[OutboxEntry]) -> datetime | None:
    """The relay's index value for a document: when its outbox next needs attention (None when empty)."""
    return min((e.next_attempt_at for e in entries), default=None)


@dataclass(frozen=True)
class Dispatched:
    """What a dispatch left owed, and the sequence numbers the broker gave the timers it scheduled (by timer name)."""

    remaining: list[OutboxEntry]
    timers: dict[str, int] = field(default_factory=dict)


def dispatch(entries: Sequence[OutboxEntry], bus: MessageBus, events: EventPublisher, now: datetime,
             schedule: RelaySchedule) -> Dispatched:
    """Send what is owed (rules above); returns the entries still owed (Event Grid ones that failed or are not due)
    and the scheduled timers' sequence numbers."""
    messages = [e for e in entries if e.channel is OutboxChannel.SERVICE_BUS]
    numbers = bus.send([_outgoing(e) for e in messages]) if messages else {}  # raises: nothing is marked sent
    timers = {e.timer: numbers[e.id] for e in messages if e.timer is not None and e.id in numbers}
    owed_events = [e for e in entries if e.channel is OutboxChannel.EVENT_GRID]
    due = [e for e in owed_events if e.attempts == 0 or e.next_attempt_at <= now]
    waiting = [e for e in owed_events if e not in due]
    if not due:
        return Dispatched(waiting, timers)
    try:
        events.publish([_event(e) for e in due])
    except Exception as exc:
        log.warning("Event Grid publish of %d event(s) failed (%s: %s); the relay retries them",
                    len(due), type(exc).__name__, exc)
        error = f"{type(exc).__name__}: {exc}"[:512]
        return Dispatched(waiting + [e.model_copy(update={
            "attempts": e.attempts + 1, "last_error": error,
            "next_attempt_at": schedule.next_attempt(now, e.attempts + 1)}) for e in due], timers)
    return Dispatched(waiting, timers)


def _outgoing(entry: OutboxEntry) -> Outgoing:
    message = parse_message(json.dumps(entry.body), entry.message_type)
    return Outgoing(entity=entry.destination, message=message, message_id=entry.id, session_id=entry.session_id,
                    traceparent=entry.traceparent, scheduled_at=entry.scheduled_at)


def _event(entry: OutboxEntry) -> Event:
    return Event(id=entry.id, event_type=entry.event_type or entry.message_type, subject=entry.subject or "",
                 data=entry.body, event_time=entry.event_time or entry.next_attempt_at,
                 data_version=entry.data_version or "1.0")
