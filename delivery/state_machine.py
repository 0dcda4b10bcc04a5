"""The Delivery state machine (docs/design.md "Delivery state machine"), sans-I/O: document + message in,
new document + effects out. The handler saves the effects with the document and sends them after the save
(core/outbox.py); nothing here touches a port."""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, get_args

from contracts.api import DroneAssignment, HistoryEntry
from contracts.events import DeliveryState
from contracts.messages import (
    AnyMessage,
    CancelDelivery,
    DeliveryOutcome,
    DeliveryRequested,
    DroneScheduled,
    DroneSchedulingFailed,
    FlightProgress,
    FlightStage,
    Message,
    PackageReady,
    PackageRejected,
    ReadinessDeadline,
    Step,
    StepFailed,
    TerminalEvent,
)
from contracts.reasons import ReasonCode, first_by_precedence
from delivery.documents import DeliveryDocument, StepReport

S = DeliveryState
_JOINING = (S.REQUESTED, S.AWAITING_READINESS)
_CANCELLABLE = (S.REQUESTED, S.AWAITING_READINESS, S.SCHEDULED)
_SUCCESS_REPORTS = ("PackageReady", "DroneScheduled")
_OUTCOME_TYPES: dict[DeliveryState, type[DeliveryOutcome]] = {t.state: t for t in get_args(TerminalEvent)}


@dataclass(frozen=True)
class Hop:
    """The triggering message's identity and trace, and the time it is handled."""

    message_id: str
    trace_id: str | None
    now: datetime


@dataclass(frozen=True)
class ScheduleSelf:
    """Send ``message`` to this delivery's own session, enqueued at ``at`` (a timer). ``step`` is the MessageId
    suffix: it carries the timer's token, so a timer set by another state instance has another MessageId."""

    message: ReadinessDeadline | FlightProgress
    at: datetime
    step: str | None = None
    name: str = ""  # the timer's name in ``DeliveryDocument.timers``


DEADLINE_TIMER = "ReadinessDeadline"


def timer_token(message_id: str) -> str:
    """The token of the state instance a message creates: derived from its MessageId, so a retry of the same
    message sets the same token (and MessageIds) while a redrive, which has a new MessageId, sets fresh ones."""
    return hashlib.sha256(message_id.encode("utf-8")).hexdigest()[:12]


def _flight_timer(stage: FlightStage) -> str:
    return f"FlightProgress:{stage.value}"


@dataclass(frozen=True)
class PublishOutcome:
    """Publish a terminal event: first time to the topic and Event Grid; a re-publish (``republish_for``
    = the late report's type) only to the topic, under its own MessageId, so the late step compensates."""

    event: DeliveryOutcome
    republish_for: str | None = None


Effect = ScheduleSelf | PublishOutcome


@dataclass(frozen=True)
class Decision:
    """The result of applying one message: None document means 'no effect at all' (a duplicate)."""

    document: DeliveryDocument | None
    note: str
    effects: list[Effect] = field(default_factory=list)
    unexpected: bool = False


class _Draft:
    """Mutable working copy of the document while one message is applied."""

    def __init__(self, doc: DeliveryDocument, hop: Hop, deadline_seconds: float) -> None:
        self.values = doc.model_dump()
        self.hop = hop
        self.deadline_seconds = deadline_seconds
        self.effects: list[Effect] = []

    def __getattr__(self, name: str) -> Any:
        # Read access to the document's fields by name, e.g. ``draft.state``.
        return self.values[name]

    def set(self, **changes: Any) -> None:
        """Change fields of the document."""
        self.values.update(changes)

    def freeze(self, message: AnyMessage, note: str) -> DeliveryDocument:
        """The new document, with the message recorded in history and in the applied ids."""
        entry = HistoryEntry(message_type=message.message_type, message_id=self.hop.message_id,
                             at=self.hop.now, trace_id=self.hop.trace_id, note=note)
        self.values["history"] = [*self.values["history"], entry.model_dump()]
        self.values["applied_message_ids"] = [*self.values["applied_message_ids"], self.hop.message_id]
        self.values["updated_at"] = self.hop.now
        return DeliveryDocument.model_validate(self.values)


def decide(doc: DeliveryDocument | None, message: AnyMessage, hop: Hop, deadline_seconds: float) -> Decision:
    """Apply one inbox message to the delivery document."""
    current = doc or DeliveryDocument(id=message.delivery_id)
    if hop.message_id in current.applied_message_ids:
        return Decision(None, "duplicate of a message already applied; no effect")
    draft = _Draft(current, hop, deadline_seconds)
    handler = _HANDLERS.get(type(message))
    if handler is None:
        note = f"{message.message_type} is not a delivery-inbox message"
        return Decision(None, note, unexpected=True)
    stale = _stale_timer(current, message)
    if stale is not None:
        # No write at all: a timer of an earlier state instance (or one no longer needed) costs no save.
        return Decision(None, stale)
    note = handler(draft, message)
    return Decision(draft.freeze(message, note), note, draft.effects)


def timer_name(message: AnyMessage) -> str | None:
    """The name a timer message has in ``DeliveryDocument.timers``; None for any other message."""
    if isinstance(message, ReadinessDeadline):
        return DEADLINE_TIMER
    if isinstance(message, FlightProgress):
        return _flight_timer(message.stage)
    return None


def _stale_timer(doc: DeliveryDocument, message: AnyMessage) -> str | None:
    """Why a timer has no effect, or None when it belongs to the document's current state instance."""
    name = timer_name(message)
    if name is None or not isinstance(message, (ReadinessDeadline, FlightProgress)):
        return None
    if message.token is None and name not in doc.timers:
        return None  # a timer sent before tokens existed: the state checks alone decide (schemaVersion 1)
    if doc.timers.get(name) != message.token:
        return f"stale {name} timer (not set by the current state instance); no effect"
    return None


def _set_timer(draft: _Draft, name: str, message: ReadinessDeadline | FlightProgress, at: datetime,
               step: str | None) -> None:
    token = message.token or ""
    draft.set(timers={**draft.timers, name: token})
    draft.effects.append(ScheduleSelf(message, at, step=f"{step}:{token}" if step else token, name=name))


def _on_requested(draft: _Draft, message: DeliveryRequested) -> str:
    if draft.state is not None:
        return "delivery already requested (first wins); ignored"
    deadline_at = draft.hop.now + timedelta(seconds=draft.deadline_seconds)
    draft.set(request=message.model_dump(), state=S.REQUESTED, readiness_deadline_at=deadline_at,
              trace_id=draft.trace_id or draft.hop.trace_id)
    deadline = ReadinessDeadline(delivery_id=message.delivery_id, occurred_at=draft.hop.now,
                                 token=timer_token(draft.hop.message_id))
    _set_timer(draft, DEADLINE_TIMER, deadline, deadline_at, None)
    if draft.cancel_requested:
        return _finish(draft, S.CANCELLED, ReasonCode.CANCELLED, "requested; cancellation received earlier")
    return _join(draft, "requested")


def _on_report(draft: _Draft, message: AnyMessage) -> str:
    slot = "package_report" if _is_package_step(message) else "drone_report"
    success = message.message_type in _SUCCESS_REPORTS
    state = draft.state
    if state is not None and state.is_terminal:
        if success:
            draft.effects.append(PublishOutcome(_outcome_event(draft, state), republish_for=message.message_type))
            return f"late {message.message_type} after {state}; terminal event re-published for compensation"
        return f"late {message.message_type} after {state}; recorded"
    if draft.values[slot] is not None:
        return f"step already reported {draft.values[slot]['message_type']}; ignored (first report wins)"
    reason = getattr(message, "reason", None) if not isinstance(message, StepFailed) else ReasonCode.STEP_FAILED
    detail = getattr(message, "detail", None)
    draft.set(**{slot: StepReport(message_type=message.message_type, reason=reason, detail=detail).model_dump()})
    if isinstance(message, DroneScheduled):
        draft.set(drone=DroneAssignment(drone_id=message.drone_id, seconds_to_pickup=message.seconds_to_pickup,
                                        seconds_to_dropoff=message.seconds_to_dropoff).model_dump())
    if state is None:
        return f"{message.message_type} recorded before the request arrived"
    return _join(draft, f"{message.message_type} recorded")


def _join(draft: _Draft, note: str) -> str:
    reports = [r for r in (draft.package_report, draft.drone_report) if r is not None]
    failures = [ReasonCode(r["reason"]) for r in reports if r["reason"] is not None]
    if len(reports) < 2:
        draft.set(state=S.AWAITING_READINESS if reports else S.REQUESTED)
        return note
    if failures:
        return _finish(draft, S.FAILED, first_by_precedence(failures), note)
    return _schedule_flight(draft, note)


def _schedule_flight(draft: _Draft, note: str) -> str:
    drone = draft.drone
    pickup_at = draft.hop.now + timedelta(seconds=drone["seconds_to_pickup"])
    draft.set(state=S.SCHEDULED, eta=pickup_at + timedelta(seconds=drone["seconds_to_dropoff"]), timers={})
    progress = FlightProgress(delivery_id=draft.id, occurred_at=draft.hop.now, stage=FlightStage.PICKED_UP,
                              token=timer_token(draft.hop.message_id))
    _set_timer(draft, _flight_timer(FlightStage.PICKED_UP), progress, pickup_at, FlightStage.PICKED_UP)
    return f"{note}; scheduled, flight started"


def _on_deadline(draft: _Draft, message: ReadinessDeadline) -> str:
    if draft.state not in _JOINING:
        return f"readiness deadline in {draft.state}; ignored"
    reports = [r for r in (draft.package_report, draft.drone_report) if r is not None]
    failures = [ReasonCode(r["reason"]) for r in reports if r["reason"] is not None]
    return _finish(draft, S.FAILED, first_by_precedence(failures), "readiness deadline passed")


def _on_flight(draft: _Draft, message: FlightProgress) -> str:
    if message.stage is FlightStage.PICKED_UP and draft.state == S.SCHEDULED:
        at = draft.hop.now + timedelta(seconds=draft.drone["seconds_to_dropoff"])
        draft.set(state=S.IN_TRANSIT, eta=at, timers={})
        delivered = FlightProgress(delivery_id=draft.id, occurred_at=draft.hop.now, stage=FlightStage.DELIVERED,
                                   token=timer_token(draft.hop.message_id))
        _set_timer(draft, _flight_timer(FlightStage.DELIVERED), delivered, at, FlightStage.DELIVERED)
        return "picked up; in transit"
    if message.stage is FlightStage.DELIVERED and draft.state == S.IN_TRANSIT:
        return _finish(draft, S.SHIPPED, None, "delivered")
    return f"flight progress {message.stage} in {draft.state}; ignored"


def _on_cancel(draft: _Draft, message: CancelDelivery) -> str:
    state = draft.state
    if state is None:
        draft.set(cancel_requested=True)
        return "cancellation recorded before the request arrived"
    if state in _CANCELLABLE:
        return _finish(draft, S.CANCELLED, ReasonCode.CANCELLED, "cancelled")
    if state in (S.IN_TRANSIT, S.SHIPPED):
        return f"cancellation refused: {state} (the package is in the air or delivered)"
    return f"cancellation ignored: already {state}"


def _finish(draft: _Draft, state: DeliveryState, reason: ReasonCode | None, note: str) -> str:
    draft.set(state=state, reason=reason, timers={})  # an ended delivery holds no timer: any still due is stale
    draft.effects = [e for e in draft.effects if not isinstance(e, ScheduleSelf)]  # nor sets one (cancel first)
    draft.effects.append(PublishOutcome(_outcome_event(draft, state)))
    return f"{note}; {state}" + (f" ({reason})" if reason and state is S.FAILED else "")


def _outcome_event(draft: _Draft, state: DeliveryState) -> DeliveryOutcome:
    request = DeliveryRequested.model_validate(draft.request)
    drone = draft.drone
    return _OUTCOME_TYPES[state](
        delivery_id=draft.id, occurred_at=draft.hop.now, owner_id=request.owner_id,
        package_id=request.package_info.package_id, drone_id=drone["drone_id"] if drone else None,
        reason=draft.reason,
    )


def _is_package_step(message: AnyMessage) -> bool:
    if isinstance(message, StepFailed):
        return message.step is Step.PACKAGE
    return isinstance(message, (PackageReady, PackageRejected))


_HANDLERS: dict[type[Message], Callable[[_Draft, Any], str]] = {
    DeliveryRequested: _on_requested,
    PackageReady: _on_report, PackageRejected: _on_report,
    DroneScheduled: _on_report, DroneSchedulingFailed: _on_report, StepFailed: _on_report,
    ReadinessDeadline: _on_deadline,
    FlightProgress: _on_flight,
    CancelDelivery: _on_cancel,
}
