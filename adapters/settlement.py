"""The one place Service Bus triggers settle: parse -> handler -> settle by the handler's typed outcome.

Triggers use ``auto_complete_messages=False`` and the message-actions binding of
azurefunctions-extensions-bindings-servicebus (complete / abandon / deadletter); DESIGN.md "Rules":
complete on success, dead-letter at once with a reason for invalid messages and business failures,
raise on transient errors (abandoned, retried up to MaxDeliveryCount, then dead-lettered by the broker).
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from contracts.messages import AnyMessage, InvalidMessage, parse_message
from contracts.reasons import ReasonCode

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Complete:
    """Done (including 'nothing to do'): complete the message."""

    note: str = "handled"


@dataclass(frozen=True)
class DeadLetter:
    """Never retry: dead-letter now with a reason code (any report the step owes is already sent)."""

    reason: str
    description: str


Outcome = Complete | DeadLetter


@dataclass(frozen=True)
class Received:
    """What a handler may know about a received Service Bus message, independent of the SDK type."""

    body: bytes
    message_id: str | None = None
    subject: str | None = None
    session_id: str | None = None
    delivery_count: int | None = None
    sequence_number: int | None = None
    application_properties: dict[str, str] = field(default_factory=dict)
    dead_letter_reason: str | None = None
    dead_letter_error_description: str | None = None

    @property
    def traceparent(self) -> str | None:
        """The W3C traceparent the sender put in the application properties (or Diagnostic-Id)."""
        return self.application_properties.get("traceparent") or self.application_properties.get("Diagnostic-Id")


class MessageActions(Protocol):
    """The settlement methods of ``ServiceBusMessageActions`` this app uses."""

    def complete(self, message: Any) -> None:
        """Complete the message."""

    def abandon(self, message: Any) -> None:
        """Abandon the message (its delivery count grows; it is redelivered)."""

    def deadletter(self, message: Any, deadletter_reason: str | None = None,
                   deadletter_error_description: str | None = None) -> None:
        """Move the message to the dead-letter queue."""


def received_from(msg: Any) -> Received:
    """Copy the fields handlers need from an azure-servicebus ``ServiceBusReceivedMessage``."""
    return Received(
        body=_body_bytes(msg.body),
        message_id=_text(msg.message_id),
        subject=_text(msg.subject),
        session_id=_text(msg.session_id),
        delivery_count=msg.delivery_count,
        sequence_number=getattr(msg, "sequence_number", None),
        application_properties={_text(k) or "": _text(v) or "" for k, v in (msg.application_properties or {}).items()},
        dead_letter_reason=_text(getattr(msg, "dead_letter_reason", None)),
        dead_letter_error_description=_text(getattr(msg, "dead_letter_error_description", None)),
    )


def process(msg: Any, actions: MessageActions, handler: Callable[[Received], Outcome]) -> Outcome:
    """Run ``handler`` on the message and settle by its outcome; on an exception abandon and re-raise."""
    received = received_from(msg)
    try:
        outcome = handler(received)
    except Exception:
        log.exception("transient failure handling %s (%s); abandoning for a retry", received.message_id, received.subject)
        _abandon_quietly(msg, actions)
        raise
    settle(msg, actions, outcome, received)
    return outcome


def settle(msg: Any, actions: MessageActions, outcome: Outcome, received: Received) -> None:
    """Complete or dead-letter, and log which."""
    if isinstance(outcome, DeadLetter):
        log.warning("dead-lettering %s: %s %s", received.message_id, outcome.reason, outcome.description)
        actions.deadletter(msg, deadletter_reason=outcome.reason,
                           deadletter_error_description=outcome.description[:4096])
    else:
        log.info("completing %s (%s): %s", received.message_id, received.subject, outcome.note)
        actions.complete(msg)


def on_contract(handle: Callable[[AnyMessage, Received], Outcome]) -> Callable[[Received], Outcome]:
    """Adapt a handler of parsed contracts: an invalid body is dead-lettered at once with InvalidMessage."""
    def handler(received: Received) -> Outcome:
        try:
            message = parse_message(received.body, received.subject)
        except InvalidMessage as exc:
            return DeadLetter(ReasonCode.INVALID_MESSAGE, str(exc))
        return handle(message, received)
    return handler


def _abandon_quietly(msg: Any, actions: MessageActions) -> None:
    # If abandon itself fails, the lock simply expires and the broker redelivers: the original error matters more.
    try:
        actions.abandon(msg)
    except Exception:  # noqa: BLE001 - logged, the original exception is re-raised by the caller
        log.exception("abandon failed; the message is redelivered when its lock expires")


def _body_bytes(body: Any) -> bytes:
    # azure-servicebus returns a data body as bytes or an iterable of byte chunks (one per data section).
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    return b"".join(chunk if isinstance(chunk, bytes) else str(chunk).encode() for chunk in body)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
