"""The one place Service Bus triggers settle: parse -> handler -> settle by the handler's typed outcome.

Triggers use ``auto_complete_messages=False`` and the message-actions binding of
azurefunctions-extensions-bindings-servicebus (complete / abandon / deadletter); docs/design.md "Rules":
complete on success, dead-letter at once with a reason for invalid messages and business failures;
transient errors are retried in-process with back-off (core/retry.py), and only when its budget is spent
abandoned (redelivered up to MaxDeliveryCount, then dead-lettered by the broker).
"""
from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from contracts.messages import AnyMessage, InvalidMessage, parse_message
from contracts.reasons import ReasonCode
from core import telemetry
from core.retry import NO_RETRY, Backoff

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


@dataclass(frozen=True)
class Defer:
    """Set the message aside: it stays in its entity, is never delivered again by itself and can only be
    received by its sequence number. For a dead letter that cannot be processed (a dead-letter queue never
    moves a message on, so abandoning it would redeliver it at once, forever); the caller logs it for an operator."""

    description: str


Outcome = Complete | DeadLetter | Defer


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

    def defer(self, message: Any) -> None:
        """Defer the message (kept, receivable only by sequence number)."""


class AttemptCounter:
    """Failed attempts per message in this process (bounded: the oldest keys are forgotten first).

    Used where the broker's own MaxDeliveryCount cannot stop a retry loop: a dead-letter queue redelivers an
    abandoned message at once and never moves it on."""

    def __init__(self, capacity: int = 10_000) -> None:
        self._counts: OrderedDict[str, int] = OrderedDict()
        self._capacity = capacity
        self._lock = threading.Lock()

    def failed(self, key: str) -> int:
        """Count one more failure of ``key``; returns how many there were so far."""
        with self._lock:
            count = self._counts.pop(key, 0) + 1
            self._counts[key] = count
            while len(self._counts) > self._capacity:
                self._counts.popitem(last=False)
            return count

    def succeeded(self, key: str) -> None:
        """Forget ``key``."""
        with self._lock:
            self._counts.pop(key, None)


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


def process(msg: Any, actions: MessageActions, handler: Callable[[Received], Outcome],
            backoff: Backoff = NO_RETRY, *, service: str = "", destination: str = "",
            subscription: str | None = None) -> Outcome:
    """Run ``handler`` on the message (retrying transient failures with ``backoff``) and settle by its outcome;
    once the back-off budget is spent, abandon and re-raise. With tracing on, all of it is one CONSUMER span of
    step ``service`` reading ``destination`` (a queue, or a topic and ``subscription``; core/telemetry.py), child of
    the context the message carries."""
    received = received_from(msg)
    with telemetry.consuming(service, "servicebus", destination, received.message_id, received.session_id,
                             received.traceparent, subscription) as span:
        try:
            outcome = backoff.run(lambda: handler(received), f"{received.subject} {received.message_id}")
        except Exception:
            log.exception("transient failure handling %s (%s); abandoning for a retry", received.message_id,
                          received.subject)
            telemetry.set_outcome(span, "abandon")
            _abandon_quietly(msg, actions)
            raise
        settle(msg, actions, outcome, received)
        if span is not None:
            telemetry.set_outcome(span, *_disposition(outcome))
    return outcome


def _disposition(outcome: Outcome) -> tuple[str, str | None]:
    # messaging.servicebus.disposition_status values (OTel semantic conventions, Azure Service Bus).
    if isinstance(outcome, DeadLetter):
        return "dead_letter", outcome.reason
    return ("defer", None) if isinstance(outcome, Defer) else ("complete", None)


def settle(msg: Any, actions: MessageActions, outcome: Outcome, received: Received) -> None:
    """Complete, dead-letter or defer, and log which."""
    if isinstance(outcome, Defer):
        log.error("deferring %s (sequence number %s) for an operator: %s", received.message_id,
                  received.sequence_number, outcome.description)
        actions.defer(msg)
    elif isinstance(outcome, DeadLetter):
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
    except Exception:
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
