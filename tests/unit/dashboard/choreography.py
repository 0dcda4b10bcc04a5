"""A delivery's trace shaped like the app's (docs/app.md "Tracing"), made by the real OpenTelemetry SDK.

Times are explicit so the waterfall has known durations and gaps: the root POST at ``t0``, then each hop waits a
little in the broker before its consumer span starts.
"""
from __future__ import annotations

from typing import Any

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

MS = 1_000_000  # nanoseconds


def emit_delivery(tracer: trace.Tracer, delivery_id: str, t0: int, fail: bool = False) -> str:
    """One delivery: POST → Package and Drone Scheduler → Delivery → Notifications; returns the trace id (hex)."""
    root = tracer.start_span("POST /api/deliveries", kind=SpanKind.SERVER, start_time=t0,
                             attributes={"drone.service": "ingestion", "http.request.method": "POST",
                                         "http.route": "/api/deliveries"})
    context = trace.set_span_in_context(root)
    send = _span(tracer, "send deliveries", SpanKind.PRODUCER, context, t0 + 2 * MS, 3 * MS,
                 {"drone.service": "ingestion", "messaging.system": "servicebus",
                  "messaging.destination.name": "deliveries", "delivery.id": delivery_id})
    root.set_attribute("http.response.status_code", 202)
    root.end(end_time=t0 + 6 * MS)
    after_send = trace.set_span_in_context(send)
    package = _span(tracer, "process deliveries/package", SpanKind.CONSUMER, after_send, t0 + 12 * MS, 8 * MS,
                    _consumer("package", "deliveries", delivery_id, "package"))
    scheduler = _span(tracer, "process deliveries/drone-scheduler", SpanKind.CONSUMER, after_send, t0 + 15 * MS,
                      20 * MS, _consumer("drone-scheduler", "deliveries", delivery_id, "drone-scheduler"),
                      error="dead-lettered: no drone" if fail else None)
    report = _span(tracer, "send delivery-inbox", SpanKind.PRODUCER, trace.set_span_in_context(package),
                   t0 + 18 * MS, 1 * MS, {"drone.service": "package", "messaging.system": "servicebus",
                                          "messaging.destination.name": "delivery-inbox", "delivery.id": delivery_id})
    visit = _span(tracer, "process delivery-inbox", SpanKind.CONSUMER, trace.set_span_in_context(report),
                  t0 + 40 * MS, 10 * MS, _consumer("delivery", "delivery-inbox", delivery_id))
    if not fail:
        publish = _span(tracer, "publish delivery-events", SpanKind.PRODUCER, trace.set_span_in_context(visit),
                        t0 + 45 * MS, 3 * MS, {"drone.service": "delivery", "messaging.system": "eventgrid",
                                               "messaging.destination.name": "delivery-events",
                                               "delivery.id": delivery_id})
        _span(tracer, "process delivery-events", SpanKind.CONSUMER, trace.set_span_in_context(publish),
              t0 + 70 * MS, 5 * MS, _consumer("notifications", "delivery-events", delivery_id, system="eventgrid"))
    return f"{scheduler.get_span_context().trace_id:032x}"


def _consumer(service: str, destination: str, delivery_id: str, subscription: str | None = None,
              system: str = "servicebus") -> dict[str, Any]:
    attributes = {"drone.service": service, "messaging.system": system, "messaging.destination.name": destination,
                  "messaging.operation.type": "process", "delivery.id": delivery_id}
    if subscription:
        attributes["messaging.destination.subscription.name"] = subscription
    return attributes


def _span(tracer: trace.Tracer, name: str, kind: SpanKind, context: Any, start: int, duration: int,
          attributes: dict[str, Any], error: str | None = None) -> trace.Span:
    span = tracer.start_span(name, context=context, kind=kind, start_time=start, attributes=attributes)
    if error:
        span.set_status(Status(StatusCode.ERROR, error))
    span.end(end_time=start + duration)
    return span
