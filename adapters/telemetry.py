"""OpenTelemetry for the app: one delivery reads as one trace (docs/app.md "Tracing").

Spans: one SERVER span per HTTP request, one CONSUMER span per Service Bus or Event Grid invocation (its parent is
the context in the incoming message, so the whole choreography forms one tree), one INTERNAL span per timer run,
and one PRODUCER span per send or publish, whose context is what the message carries. Every span names its step in
``drone.service`` (all six steps run in one process, so the resource's ``service.name`` cannot).

Export is configuration only (``configure``): OTLP when ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``…_TRACES_ENDPOINT``)
is set, Azure Monitor when ``APPLICATIONINSIGHTS_CONNECTION_STRING`` is set; otherwise nothing is installed, every
helper here returns at its first line, and adapters/tracing.py keeps propagating W3C traceparents as it always did.
"""
from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Link, Span, SpanKind, Status, StatusCode, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from adapters.ports import Event, EventPublisher, MessageBus, Outgoing
from adapters.tracing import format_traceparent, is_valid, trace_id_of
from contracts.names import EVENT_GRID_TOPIC

log = logging.getLogger(__name__)

# The steps, as ``drone.service`` names them (the Functions app's folders).
INGESTION, PACKAGE, DRONE_SCHEDULER, DELIVERY, REMEDIATION, NOTIFICATIONS = (
    "ingestion", "package", "drone-scheduler", "delivery", "remediation", "notifications")
SERVICE_ATTRIBUTE = "drone.service"
DELIVERY_ID_ATTRIBUTE = "delivery.id"
DEFAULT_SERVICE_NAME = "drone-delivery"
INSTRUMENTATION_NAME = "drone-delivery"

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
        _tracer = provider.get_tracer(INSTRUMENTATION_NAME) if provider is not None else None
    if provider is not None:
        _install_log_correlation()


def configure(env: Mapping[str, str] | None = None) -> str | None:
    """Install tracing as the settings ask (once per process); returns which exporters run, or None (tracing off)."""
    env = os.environ if env is None else env
    if _tracer is not None or env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    otlp = bool(env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))
    monitor = bool(env.get("APPLICATIONINSIGHTS_CONNECTION_STRING"))
    if not (otlp or monitor):
        return None  # the API's no-op tracer stays: nothing is recorded, nothing exported
    provider, mode = _installed_sdk_provider(), "the provider already installed"
    if provider is not None and otlp:
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
        provider.add_span_processor(BatchSpanProcessor(otlp_exporter(env)))
    if provider is None and monitor:
        provider, mode = _azure_monitor(env, otlp), "azure-monitor" + (" + otlp" if otlp else "")
    if provider is None and otlp:
        provider, mode = build_provider(env), "otlp"
        trace.set_tracer_provider(provider)
    if provider is None:
        return None
    _trace_azure_sdks()
    install(provider)
    log.info("OpenTelemetry tracing on (%s)", mode)
    return mode


def build_provider(env: Mapping[str, str]) -> Any:
    """An SDK TracerProvider exporting OTLP in batches. The SDK and the exporters read the standard OTEL_* variables
    themselves (endpoint, headers, timeout, compression, sampler, resource): https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/"""
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    named = env.get("OTEL_SERVICE_NAME") or "service.name=" in env.get("OTEL_RESOURCE_ATTRIBUTES", "")
    provider = TracerProvider(resource=Resource.create({} if named else {"service.name": DEFAULT_SERVICE_NAME}))
    provider.add_span_processor(BatchSpanProcessor(otlp_exporter(env)))
    return provider


def otlp_exporter(env: Mapping[str, str]) -> Any:
    """The OTLP span exporter for OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL: ``grpc`` or ``http/protobuf`` (the default,
    https://opentelemetry.io/docs/specs/otel/protocol/exporter/#specify-protocol)."""
    protocol = (env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or env.get("OTEL_EXPORTER_OTLP_PROTOCOL")
                or "http/protobuf").strip().lower()
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
        return GrpcExporter()
    if protocol != "http/protobuf":
        log.warning("OTEL_EXPORTER_OTLP_PROTOCOL=%s is not supported by the Python exporters; using http/protobuf",
                    protocol)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter
    return HttpExporter()


def flush() -> None:
    """Export what the batch processor still holds (process shutdown, tests)."""
    if _provider is not None and hasattr(_provider, "force_flush"):
        _provider.force_flush()


def _installed_sdk_provider() -> Any:
    # The Functions Python worker configures Azure Monitor itself when PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY
    # is set; a second configure_azure_monitor would export everything twice.
    provider = trace.get_tracer_provider()
    return provider if hasattr(provider, "add_span_processor") else None


def _azure_monitor(env: Mapping[str, str], otlp: bool) -> Any:
    try:
        from azure.monitor.opentelemetry import configure_azure_monitor  # lazily: it pulls in many instrumentations
    except ImportError:
        log.error("APPLICATIONINSIGHTS_CONNECTION_STRING is set but azure-monitor-opentelemetry is not installed "
                  "(pip install azure-monitor-opentelemetry); %s", "exporting OTLP only" if otlp else "tracing stays off")
        return None
    extra = []
    if otlp:  # both at once: Azure Monitor's provider gets the OTLP exporter as one more span processor
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
        extra.append(BatchSpanProcessor(otlp_exporter(env)))
    configure_azure_monitor(connection_string=env["APPLICATIONINSIGHTS_CONNECTION_STRING"], span_processors=extra)
    return trace.get_tracer_provider()


def _trace_azure_sdks() -> None:
    # azure-core's OpenTelemetry plugin: Service Bus, Cosmos DB and Event Grid calls become spans of the global
    # provider (https://learn.microsoft.com/python/api/overview/azure/core-tracing-opentelemetry-readme).
    try:
        from azure.core.settings import settings
        settings.tracing_implementation = "opentelemetry"
    except Exception:
        log.warning("azure-core-tracing-opentelemetry is not usable; Azure SDK calls are not traced", exc_info=True)


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


class HttpSpan:
    """The SERVER span of one request: the traceparent the handler continues from, and the status to record."""

    def __init__(self, span: Span | None, header: str | None) -> None:
        self.span = span
        self.traceparent = format_traceparent(span.get_span_context()) if span is not None else header

    def respond(self, response: Any) -> Any:
        """Record the response's status (https://opentelemetry.io/docs/specs/semconv/http/http-spans/) and return it."""
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

    def send(self, messages: Sequence[Outgoing]) -> None:
        """Send, one producer span per entity and parent context."""
        groups: dict[tuple[str, str | None], list[Outgoing]] = {}
        for message in messages:
            groups.setdefault((message.entity, message.traceparent), []).append(message)
        for (entity, parent), batch in groups.items():
            with _producer(f"send {entity}", "servicebus", entity, parent,
                           [m.message_id for m in batch], [m.message.delivery_id for m in batch]) as traceparent:
                self.inner.send([replace(m, traceparent=traceparent) for m in batch])

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

