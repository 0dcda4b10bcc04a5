"""OpenTelemetry for the app: one delivery reads as one trace (docs/app.md "Tracing").

Spans: one SERVER span per HTTP request, one CONSUMER span per Service Bus or Event Grid invocation (its parent is
the context in the incoming message, so the whole choreography forms one tree), one INTERNAL span per timer run,
and one PRODUCER span per send or publish, whose context is what the message carries. Every span names its step in
``drone.service`` (all six steps run in one process, so the resource's ``service.name`` cannot).

Export is configuration only (adapters/tracing_export.py ``configure``): OTLP when ``OTEL_EXPORTER_OTLP_ENDPOINT``
(or ``…_TRACES_ENDPOINT``) is set, Azure Monitor when ``APPLICATIONINSIGHTS_CONNECTION_STRING`` is set; otherwise
nothing is installed, every helper here returns at its first line, and core/tracing.py keeps propagating W3C
traceparents as it always did.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import replace
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Link, Span, SpanKind, Status, StatusCode, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from contracts.names import (
    APP_NAME,
    DELIVERY_STEP,
    DRONE_SCHEDULER_STEP,
    EVENT_GRID_TOPIC,
    INGESTION_STEP,
    NOTIFICATIONS_STEP,
    PACKAGE_STEP,
    REMEDIATION_STEP,
)
from core.ports import Event, EventPublisher, MessageBus, Outgoing
from core.tracing import format_traceparent, is_valid, trace_id_of

log = logging.getLogger(__name__)

# The steps, as ``drone.service`` names them (contracts/names.py).
INGESTION, PACKAGE, DRONE_SCHEDULER, DELIVERY, REMEDIATION, NOTIFICATIONS = (
    INGESTION_STEP, PACKAGE_STEP, DRONE_SCHEDULER_STEP, DELIVERY_STEP, REMEDIATION_STEP, NOTIFICATIONS_STEP)
SERVICE_ATTRIBUTE = "drone.service"
DELIVERY_ID_ATTRIBUTE = "delivery.id"

_tracer: Tracer | None = None           # None: tracing is off
_provider: Any = None                   # the SDK TracerProvider behind _tracer (flushed by tests and shutdown)
_lock = threading.Lock()
_service: ContextVar[str | None] = ContextVar("drone_service", default=None)
_PROPAGATOR = TraceContextTextMapPropagator()


# -- configuration ---------------------------------------------------------------------------------------------
def tracer() -> Tracer | None:
    """The app's tracer, or None when tracing is off."""
    return _tracer


def install(provider: Any) -> None:
    """Trace through ``provider`` (an SDK TracerProvider), or stop tracing with None. The global provider is left
    alone: tests use their own provider, ``configure`` sets the global one for the Azure SDKs' spans."""
    global _tracer, _provider
    with _lock:
        _provider = provider
        _tracer = provider.get_tracer(APP_NAME) if provider is not None else None
    if provider is not None:
        _install_log_correlation()


def flush() -> None:
    """Export what the batch processor still holds (process shutdown, tests)."""
    if _provider is not None and hasattr(_provider, "force_flush"):
        _provider.force_flush()


# -- log correlation ---------------------------------------------------------------------------------------------
_log_correlation = False


def _install_log_correlation() -> None:
    """Every log record gets ``trace_id`` and ``span_id`` (empty outside a span), for a formatter's ``%(trace_id)s``."""
    global _log_correlation
    with _lock:
        if _log_correlation:
            return
        _log_correlation = True
        previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        context = trace.get_current_span().get_span_context()
        record.trace_id = f"{context.trace_id:032x}" if context.is_valid else ""
        record.span_id = f"{context.span_id:016x}" if context.is_valid else ""
        return record

    logging.setLogRecordFactory(factory)


# -- spans at the edges ------------------------------------------------------------------------------------------
def parent_context(traceparent: str | None) -> Context | None:
    """The context a W3C traceparent names (None for a missing or invalid one: the span starts a new trace)."""
    return _PROPAGATOR.extract({"traceparent": traceparent}) if is_valid(traceparent) else None


_Response = TypeVar("_Response", bound="_HasStatus")


class _HasStatus(Protocol):
    """What ``HttpSpan.respond`` reads of a response (``func.HttpResponse`` has it; core never imports it)."""

    @property
    def status_code(self) -> int: ...


class HttpSpan:
    """The SERVER span of one request: the traceparent the handler continues from, and the status to record."""

    def __init__(self, span: Span | None, header: str | None) -> None:
        self.span = span
        self.traceparent = format_traceparent(span.get_span_context()) if span is not None else header

    def respond(self, response: _Response) -> _Response:
        """Record the response's status (https://opentelemetry.io/docs/specs/semconv/http/http-spans/) and return
        it."""
        if self.span is not None:
            status = int(response.status_code)
            self.span.set_attribute("http.response.status_code", status)
            if status >= 500:
                self.span.set_status(Status(StatusCode.ERROR))
        return response


@contextmanager
def http_request(service: str, req: Any, route: str) -> Iterator[HttpSpan]:
    """A SERVER span ``{method} /api/{route}``, child of the request's ``traceparent`` header."""
    header = req.headers.get("traceparent")
    t = _tracer
    if t is None:
        yield HttpSpan(None, header)
        return
    method = str(req.method).upper()
    attributes = {SERVICE_ATTRIBUTE: service, "http.request.method": method, "http.route": f"/api/{route}",
                  "url.path": urlsplit(req.url).path, "faas.trigger": "http"}
    token = _service.set(service)
    try:
        with t.start_as_current_span(f"{method} /api/{route}", context=parent_context(header), kind=SpanKind.SERVER,
                                     attributes=attributes) as span:
            yield HttpSpan(span, header)
    finally:
        _service.reset(token)


@contextmanager
def consuming(service: str, system: str, destination: str, message_id: str | None, delivery_id: str | None,
              traceparent: str | None, subscription: str | None = None) -> Iterator[Span | None]:
    """A CONSUMER ``process {destination}`` span whose PARENT is the incoming message's context, so the steps of a
    delivery form one tree (https://opentelemetry.io/docs/specs/semconv/messaging/messaging-spans/)."""
    t = _tracer
    if t is None:
        yield None
        return
    attributes: dict[str, Any] = {
        SERVICE_ATTRIBUTE: service, "messaging.system": system, "messaging.destination.name": destination,
        "messaging.operation": "process", "messaging.operation.type": "process", "messaging.operation.name": "process",
        "faas.trigger": "pubsub"}
    if subscription:
        attributes["messaging.destination.subscription.name"] = subscription
    if message_id:
        attributes["messaging.message.id"] = message_id
    if delivery_id:
        attributes[DELIVERY_ID_ATTRIBUTE] = delivery_id
    token = _service.set(service)
    try:
        name = f"process {destination}/{subscription}" if subscription else f"process {destination}"
        with t.start_as_current_span(name, context=parent_context(traceparent),
                                     kind=SpanKind.CONSUMER, attributes=attributes) as span:
            yield span
    finally:
        _service.reset(token)


@contextmanager
def timer_run(service: str, function: str) -> Iterator[None]:
    """An INTERNAL span per timer run: its own trace (one run serves many deliveries); what it sends for a delivery
    continues that delivery's trace and links back here."""
    t = _tracer
    if t is None:
        yield
        return
    token = _service.set(service)
    try:
        with t.start_as_current_span(f"timer {function}", kind=SpanKind.INTERNAL,
                                     attributes={SERVICE_ATTRIBUTE: service, "faas.trigger": "timer",
                                                 "faas.name": function}):
            yield
    finally:
        _service.reset(token)


def set_outcome(span: Span | None, disposition: str, reason: str | None = None) -> None:
    """Record how a message was settled (``messaging.servicebus.disposition_status``; a dead letter is an error)."""
    if span is None:
        return
    span.set_attribute("messaging.servicebus.disposition_status", disposition)
    if reason is not None:
        span.set_attribute("messaging.servicebus.dead_letter_reason", reason)
        span.set_status(Status(StatusCode.ERROR, reason))


# -- producer spans: wrappers of the ports ---------------------------------------------------------------------------
def traced_bus(bus: MessageBus) -> MessageBus:
    """``bus`` with a PRODUCER span per send when tracing is on; ``bus`` itself (no cost at all) when it is off."""
    return TracedMessageBus(bus) if _tracer is not None else bus


def traced_events(events: EventPublisher) -> EventPublisher:
    """``events`` with a PRODUCER span per publish when tracing is on; ``events`` itself when it is off."""
    return TracedEventPublisher(events) if _tracer is not None else events


class TracedMessageBus:
    """Sends each (entity, sending context) group under a PRODUCER ``send {entity}`` span whose context replaces the
    messages' traceparent; the Azure SDK's own message spans (when azure-core tracing is on) become its children."""

    def __init__(self, inner: MessageBus) -> None:
        self.inner = inner

    def send(self, messages: Sequence[Outgoing]) -> dict[str, int]:
        """Send, one producer span per entity and parent context."""
        groups: dict[tuple[str, str | None], list[Outgoing]] = {}
        for message in messages:
            groups.setdefault((message.entity, message.traceparent), []).append(message)
        scheduled: dict[str, int] = {}
        for (entity, parent), batch in groups.items():
            with _producer(f"send {entity}", "servicebus", entity, parent,
                           [m.message_id for m in batch], [m.message.delivery_id for m in batch]) as traceparent:
                scheduled.update(self.inner.send([replace(m, traceparent=traceparent) for m in batch]))
        return scheduled

    def cancel_scheduled(self, entity: str, sequence_numbers: Sequence[int]) -> None:
        """Cancel (no span of its own: the Azure SDK's, when azure-core tracing is on)."""
        self.inner.cancel_scheduled(entity, sequence_numbers)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)  # the fakes' inspection helpers (tests)


class TracedEventPublisher:
    """Publishes under a PRODUCER ``publish {topic}`` span whose context replaces the events' data.traceparent."""

    def __init__(self, inner: EventPublisher, topic: str = EVENT_GRID_TOPIC) -> None:
        self.inner, self.topic = inner, topic

    def publish(self, events: Sequence[Event]) -> None:
        """Publish, one producer span per parent context."""
        groups: dict[str | None, list[Event]] = {}
        for event in events:
            groups.setdefault(event.data.get("traceparent"), []).append(event)
        for parent, batch in groups.items():
            with _producer(f"publish {self.topic}", "eventgrid", self.topic, parent, [e.id for e in batch],
                           [e.data.get("deliveryId") for e in batch]) as traceparent:
                self.inner.publish([replace(e, data={**e.data, "traceparent": traceparent}) for e in batch])

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@contextmanager
def _producer(name: str, system: str, destination: str, parent: str | None, ids: list[str],
              delivery_ids: list[str | None]) -> Iterator[str]:
    # One span for a batch to one destination (semconv: "send" spans, kind PRODUCER, are the creation context of the
    # messages they carry when no "create" spans exist). Its parent is the context the message was addressed with;
    # when the code running now is another trace (a timer relaying owed effects), that is linked instead.
    t = _tracer
    assert t is not None
    current = trace.get_current_span()
    links = []
    if current.is_recording() and trace_id_of(format_traceparent(current.get_span_context())) != trace_id_of(parent):
        links.append(Link(current.get_span_context()))
    attributes: dict[str, Any] = {
        "messaging.system": system, "messaging.destination.name": destination, "messaging.operation": "send",
        "messaging.operation.type": "send", "messaging.operation.name": "send"}
    if _service.get():
        attributes[SERVICE_ATTRIBUTE] = _service.get()
    if len(ids) == 1:
        attributes["messaging.message.id"] = ids[0]
    else:
        attributes["messaging.batch.message_count"] = len(ids)
    if len(set(delivery_ids)) == 1 and delivery_ids[0]:
        attributes[DELIVERY_ID_ATTRIBUTE] = delivery_ids[0]
    with t.start_as_current_span(name, context=parent_context(parent), kind=SpanKind.PRODUCER,
                                 links=links, attributes=attributes) as span:
        yield format_traceparent(span.get_span_context())

