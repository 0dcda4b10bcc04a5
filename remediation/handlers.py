"""Remediation's decision table (docs/design.md "Remediation decision table") as plain functions on ports."""
from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from urllib.parse import quote

from contracts.messages import (
    AnyMessage,
    DeliveryOutcome,
    DeliveryRequested,
    InvalidMessage,
    Step,
    StepFailed,
    parse_message,
)
from contracts.reasons import BROKER_GAVE_UP, ReasonCode
from core.outbound import to_inbox
from core.ports import Clock, MessageBus
from core.retry import NO_RETRY, Backoff
from core.settlement import AttemptCounter, Complete, Defer, Outcome, Received
from core.tracing import trace_id_of
from remediation.documents import DeadLetterAction, DeadLetterRecord
from remediation.repository import DeadLetterRepository

log = logging.getLogger(__name__)
STEP_ENTITIES = {step.value: step for step in Step}  # the subscriptions whose requests Remediation reports


@dataclass(frozen=True)
class Verdict:
    """What the table says to do with one dead letter."""

    action: DeadLetterAction
    reason_code: ReasonCode | None
    step_failed: StepFailed | None = None


MAX_ATTEMPTS = 5  # failed invocations of one dead letter (in this process) before it is deferred for an operator


def handle_dead_letter(received: Received, entity: str, deadletters: DeadLetterRepository, bus: MessageBus,
                       clock: Clock, attempts: AttemptCounter | None = None, backoff: Backoff = NO_RETRY) -> Outcome:
    """Record the dead letter; send StepFailed when the broker gave up on a step's request.

    A failure is retried in-process with ``backoff``; once that is spent it raises (abandon: the dead letter comes
    straight back) until MAX_ATTEMPTS invocations failed; then the dead letter is deferred and logged whole at
    ERROR: a dead-letter queue never moves a message on, so retrying a persistent failure would spin forever.
    Counting invocations, not attempts, keeps a dead letter through an outage as long as MAX_ATTEMPTS budgets."""
    key = f"{entity}#{received.sequence_number if received.sequence_number is not None else received.message_id}"
    message = _parse_quietly(received)
    verdict = decide(entity, message, received.dead_letter_reason, received.dead_letter_error_description, clock)
    try:
        note = backoff.run(lambda: _act(_record(received, entity, message, verdict, clock), verdict, received,
                                        deadletters, bus), f"dead letter {received.message_id} on {entity}")
    except Exception:
        failures = attempts.failed(key) if attempts is not None else 0
        if failures < MAX_ATTEMPTS:
            raise
        log.exception("dead letter on %s failed %d times; deferring it in the dead-letter queue for an operator: %s",
                      entity, failures, _describe(received))
        return Defer(f"dead letter on {entity} could not be recorded after {failures} attempts; "
                     "receive it by its sequence number")
    if attempts is not None:
        attempts.succeeded(key)
    if verdict.action is DeadLetterAction.OPERATOR_REQUIRED:
        log.warning("dead letter on %s needs an operator: %s %s", entity, received.message_id, verdict.reason_code)
    return Complete(note)


def _describe(received: Received) -> str:
    # Everything a redrive needs, for the log an operator reads when the record itself could not be written.
    return json.dumps({"messageId": received.message_id, "sequenceNumber": received.sequence_number,
                       "subject": received.subject, "sessionId": received.session_id,
                       "deadLetterReason": received.dead_letter_reason,
                       "deadLetterErrorDescription": received.dead_letter_error_description,
                       "applicationProperties": received.application_properties,
                       "body": received.body.decode("utf-8", "replace")[:16384]})


def _act(record: DeadLetterRecord, verdict: Verdict, received: Received, deadletters: DeadLetterRepository,
         bus: MessageBus) -> str:
    existing = deadletters.get(record.id)
    if existing is not None and not existing.send_pending:
        # Handled before (its completion was lost): leave the record alone, it may carry an operator's redrive marks.
        return "dead letter already recorded"
    if verdict.step_failed is None:
        deadletters.record(record)
        return f"dead letter recorded: {verdict.action.value}"
    # Commit, then announce (docs/app.md): the record, marked as owing the send, is written first.
    owing = existing or record.model_copy(update={"send_pending": True})
    if existing is None:
        deadletters.record(owing)
    bus.send([to_inbox(verdict.step_failed, received.traceparent, step=record.entity)])
    deadletters.record(owing.model_copy(update={"send_pending": False}))
    return f"dead letter recorded: {verdict.action.value}"


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


# Cosmos DB refuses '/', '\\', '?', '#' (and control characters) in ids, and a dead letter's MessageId comes from
# whoever sent it. Percent-encode everything outside a readable safe set ('%' itself too, so the encoding is
# one-to-one): ordinary ids stay `{entity}:{MessageId}`, the rest becomes e.g. `package:a%2Fb`.
_ID_SAFE = "-._~:@!$&'()*+,;="
_MAX_ID_CHARS = 255


def record_id(entity: str, received: Received) -> str:
    """The dead-letter key `{entity}:{MessageId}`, percent-encoded where Cosmos forbids a character (a redrive gets
    a new MessageId, so a new record); a key too long for an id is replaced by its SHA-256."""
    key = received.message_id or hashlib.sha256(received.body).hexdigest()[:32]
    encoded = quote(f"{entity}:{key}", safe=_ID_SAFE)
    if len(encoded) <= _MAX_ID_CHARS:
        return encoded
    return f"{quote(entity, safe=_ID_SAFE)}:sha256:{hashlib.sha256(key.encode('utf-8')).hexdigest()}"


def _record(received: Received, entity: str, message: AnyMessage | None, verdict: Verdict,
            clock: Clock) -> DeadLetterRecord:
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
