"""Remediation's documents (container `deadletters`, docs/design.md "Data")."""
from __future__ import annotations

from enum import StrEnum

from contracts.model import Contract, UtcDateTime
from contracts.reasons import ReasonCode


class DeadLetterAction(StrEnum):
    """What Remediation did with a dead letter (docs/design.md "Remediation decision table")."""

    STEP_FAILED_SENT = "StepFailedSent"
    RECORDED = "Recorded"
    OPERATOR_REQUIRED = "OperatorRequired"


class DeadLetterRecord(Contract):
    """Every dead letter, with enough of the message to inspect and redrive it (container `deadletters`)."""

    id: str
    entity: str
    message_id: str | None
    subject: str | None
    session_id: str | None
    delivery_id: str | None
    dead_letter_reason: str | None
    dead_letter_description: str | None
    reason_code: ReasonCode | None
    action: DeadLetterAction
    requires_operator: bool
    delivery_count: int | None
    sequence_number: int | None = None
    application_properties: dict[str, str]
    body: str
    trace_id: str | None
    recorded_at: UtcDateTime
    # Commit, then announce: the record is written before the StepFailed it owes is sent; this stays true
    # until the send succeeded, so a redelivered dead letter sends it (same MessageId) instead of skipping it.
    send_pending: bool = False
    # Written by the operators' redrive (`python -m devstack dlq redrive`, which claims the record with an
    # ETag-conditional replace before it sends); declared so that Remediation's own writes keep them.
    redrive_count: int = 0
    last_redrive_message_id: str | None = None
    last_redriven_at: UtcDateTime | None = None
    last_redrive_error: str | None = None
