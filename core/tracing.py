"""W3C Trace Context (https://www.w3.org/TR/trace-context/): one trace per delivery, one span per hop.

With tracing off (no OpenTelemetry SDK installed, core/telemetry.py) every hop gets a child traceparent made
here: same trace id, new span id. With tracing on, the hop *is* the span the app is running in (the HTTP request,
the message being processed), so that span's context is used instead and every id a message carries names a span
that is really exported — the trace stays one connected tree.
"""
from __future__ import annotations

import re
import secrets

from opentelemetry import trace

_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")


def new_traceparent() -> str:
    """A fresh sampled traceparent (a new trace)."""
    return f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"


def is_valid(traceparent: str | None) -> bool:
    """True for a version-00 traceparent whose ids are not all zeros (spec section 3.2.2)."""
    match = _TRACEPARENT.match(traceparent or "")
    return match is not None and set(match.group(1)) != {"0"} and set(match.group(2)) != {"0"}


def child_of(traceparent: str | None) -> str:
    """A traceparent for the next hop: same trace id, new span id; a new trace if the parent is invalid.

    While an OpenTelemetry span records in that trace (or in a new one, for an invalid parent), that span is the
    next hop: its traceparent is returned, so no id names a span that is never exported."""
    active = active_traceparent()
    if active is not None and (not is_valid(traceparent) or trace_id_of(active) == trace_id_of(traceparent)):
        return active
    if not is_valid(traceparent):
        return new_traceparent()
    _, trace_id, _, flags = traceparent.split("-")  # type: ignore[union-attr]
    return f"00-{trace_id}-{secrets.token_hex(8)}-{flags}"


def sending_context(parent: str | None) -> str:
    """The traceparent an outgoing message is addressed with (kept in an outbox until it is sent).

    Tracing off: a child of ``parent`` — that is what goes on the wire. Tracing on: the context the send continues
    (the active span, or ``parent`` itself when the active span belongs to another trace, e.g. a relay timer
    sending what a delivery owes); the producer span made at send time is its child and goes on the wire."""
    active = active_traceparent()
    if active is None:
        return child_of(parent)
    return parent if is_valid(parent) and trace_id_of(active) != trace_id_of(parent) else active  # type: ignore[return-value]


def event_context(traceparent: str | None) -> str | None:
    """The traceparent an Event Grid event is addressed with: as given when tracing is off (what it always was),
    the sending context (see ``sending_context``) when tracing is on."""
    return traceparent if active_traceparent() is None else sending_context(traceparent)


def active_traceparent() -> str | None:
    """The traceparent of the span recording in this context, or None (tracing off: the API's no-op span)."""
    span = trace.get_current_span()
    if not span.is_recording():
        return None
    return format_traceparent(span.get_span_context())


def format_traceparent(context: trace.SpanContext) -> str:
    """A span context as a version-00 traceparent."""
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}"


def trace_id_of(traceparent: str | None) -> str | None:
    """The trace id part, or None."""
    return traceparent.split("-")[1] if is_valid(traceparent) else None  # type: ignore[union-attr]
