"""Remediation's decision table (DESIGN.md "Remediation decision table") as plain functions on ports."""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from adapters.outbound import to_inbox
from adapters.ports import Clock, MessageBus
from adapters.repositories import DeadLetterRepository
from adapters.settlement import Complete, Outcome, Received
from adapters.tracing import trace_id_of
from contracts.documents import DeadLetterAction, DeadLetterRecord
from contracts.messages import AnyMessage, DeliveryOutcome, DeliveryRequested, InvalidMessage, Step, StepFailed, parse_message
from contracts.reasons import BROKER_GAVE_UP, ReasonCode

log = logging.getLogger(__name__)
STEP_ENTITIES = {Step.PACKAGE.value: Step.PACKAGE, Step.DRONE_SCHEDULER.value: Step.DRONE_SCHEDULER}


@dataclass(frozen=True)
class Verdict:
    """What the table says to do with one dead letter."""

    action: DeadLetterAction
    reason_code: ReasonCode | None
    step_failed: StepFailed | None = None


def handle_dead_letter(received: Received, entity: str, deadletters: DeadLetterRepository, bus: MessageBus,
                       clock: Clock) -> Outcome:
    """Record the dead letter; send StepFailed when the broker gave up on a step's request."""
    message = _parse_quietly(received)
    verdict = decide(entity, message, received.dead_letter_reason, received.dead_letter_error_description, clock)
    if verdict.step_failed is not None:
        bus.send([to_inbox(verdict.step_failed, received.traceparent, step=entity)])
    deadletters.record(_record(received, entity, message, verdict, clock))
    if verdict.action is DeadLetterAction.OPERATOR_REQUIRED:
        log.warning("dead letter on %s needs an operator: %s %s", entity, received.message_id, verdict.reason_code)
    return Complete(f"dead letter recorded: {verdict.action.value}")


def decide(entity: str, message: AnyMessage | None, reason: str | None, description: str | None,
           clock: Clock) -> Verdict:
    """The remediation table, row by row."""
    if entity not in STEP_ENTITIES:
        # delivery-inbox (and the forwarding `delivery` subscription): never re-sent automatically.
        return Verdict(DeadLetterAction.OPERATOR_REQUIRED, _known(reason))
    if isinstance(message, DeliveryOutcome):
        # A compensation or completion the step could not apply: a drone or package may be left held.
        return Verdict(DeadLetterAction.OPERATOR_REQUIRED, ReasonCode.COMPENSATION_FAILED)
    if isinstance(message, DeliveryRequested) and reason in BROKER_GAVE_UP:
        failed = StepFailed(delivery_id=message.delivery_id, occurred_at=clock(), step=STEP_ENTITIES[entity],
                            dead_letter_reason=reason or "", detail=description)
        return Verdict(DeadLetterAction.STEP_FAILED_SENT, ReasonCode.STEP_FAILED, failed)
    # Business reasons / InvalidMessage: the step already reported, or there is no valid delivery.
    return Verdict(DeadLetterAction.RECORDED, _known(reason) or (None if message else ReasonCode.INVALID_MESSAGE))


def record_id(entity: str, received: Received) -> str:
    """The dead-letter key: entity and MessageId (a redrive gets a new MessageId, so a new record)."""
    key = received.message_id or hashlib.sha256(received.body).hexdigest()[:32]
    return f"{entity}:{key}".replace("/", "_")


def _record(received: Received, entity: str, message: AnyMessage | None, verdict: Verdict, clock: Clock) -> DeadLetterRecord:
    return DeadLetterRecord(
        id=record_id(entity, received), entity=entity, message_id=received.message_id, subject=received.subject,
        session_id=received.session_id, delivery_id=message.delivery_id if message else received.session_id,
        dead_letter_reason=received.dead_letter_reason, dead_letter_description=received.dead_letter_error_description,
        reason_code=verdict.reason_code, action=verdict.action,
        requires_operator=verdict.action is DeadLetterAction.OPERATOR_REQUIRED,
        delivery_count=received.delivery_count, sequence_number=received.sequence_number,
        application_properties=received.application_properties,
        body=received.body.decode("utf-8", "replace"), trace_id=trace_id_of(received.traceparent),
        recorded_at=clock(),
    )


def _parse_quietly(received: Received) -> AnyMessage | None:
    try:
        return parse_message(received.body, received.subject)
    except InvalidMessage:
        return None


def _known(reason: str | None) -> ReasonCode | None:
    try:
        return ReasonCode(reason) if reason else None
    except ValueError:
        return None
