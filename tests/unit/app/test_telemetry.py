"""OpenTelemetry in the app (core/telemetry.py): the SDK's InMemorySpanExporter records what the app's real
functions emit while the in-memory saga router drives whole deliveries through them.

One delivery must read as ONE trace with a single root (the POST): every consumer span is the child of the producer
span whose context the message carried (https://opentelemetry.io/docs/specs/semconv/messaging/messaging-spans/,
"Context propagation"), and the W3C traceparent on the wire names that producer span
(https://www.w3.org/TR/trace-context/#traceparent-header).
"""
from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from adapters import tracing_export
from adapters.memory import ManualClock
from core import telemetry
from core.settings import Settings
from tests.support.saga_router import SagaRouter
from tests.unit.app.support import T0

ENV = {"TransientRetryBudgetSeconds": "0"}
CLIENT_TRACE, CLIENT_SPAN = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"


def body(delivery_id: str = "d1", weight: float = 2.5) -> dict[str, Any]:
    return {"deliveryId": delivery_id, "ownerId": "owner-1",
            "pickupLocation": {"latitude": 47.61, "longitude": -122.33},
            "dropoffLocation": {"latitude": 47.62, "longitude": -122.35},
            "packageInfo": {"packageId": f"pkg-{delivery_id}", "size": "Small", "weight": weight}}


@pytest.fixture()
def exporter() -> Iterator[InMemorySpanExporter]:
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    telemetry.install(provider)
    try:
        yield spans
    finally:
        telemetry.install(None)


@pytest.fixture()
def router(exporter: InMemorySpanExporter) -> Iterator[SagaRouter]:
    with SagaRouter(Settings.from_env(ENV), clock=ManualClock(T0)) as installed:
        yield installed


def the_post(spans: tuple[ReadableSpan, ...], delivery_id: str = "d1") -> ReadableSpan:
    [post] = [s for s in spans if s.name == "POST /api/deliveries"
              and any(m.attributes.get("delivery.id") == delivery_id for m in children(spans, s))]
    return post


def children(spans: tuple[ReadableSpan, ...], parent: ReadableSpan) -> list[ReadableSpan]:
    return [s for s in spans if s.parent is not None and s.parent.span_id == parent.context.span_id]


def trace_of(spans: tuple[ReadableSpan, ...], root: ReadableSpan) -> list[ReadableSpan]:
    return [s for s in spans if s.context.trace_id == root.context.trace_id]


def assert_one_tree(trace_spans: list[ReadableSpan], root: ReadableSpan) -> None:
    ids = {s.context.span_id for s in trace_spans}
    assert [s for s in trace_spans if s.parent is None or s.parent.span_id not in ids] == [root], "one root"
    for span in trace_spans:
        if span.kind is SpanKind.CONSUMER:
            parent = next(p for p in trace_spans if p.context.span_id == span.parent.span_id)  # type: ignore[union-attr]
            assert parent.kind is SpanKind.PRODUCER, f"{span.name} is the child of the send that carried it"


def consumed(trace_spans: list[ReadableSpan], destination: str, subscription: str | None = None) -> list[str]:
    return [str(s.attributes["messaging.message.id"]) for s in trace_spans if s.kind is SpanKind.CONSUMER
            and s.attributes["messaging.destination.name"] == destination
            and s.attributes.get("messaging.destination.subscription.name") == subscription]


def test_one_delivery_is_one_trace_whose_only_root_is_the_post(router: SagaRouter,
                                                                 exporter: InMemorySpanExporter) -> None:
    assert router.post("/api/deliveries", body()).status_code == 202
    router.run_until_idle()
    spans = exporter.get_finished_spans()
    post = the_post(spans)
    delivery = trace_of(spans, post)
    assert_one_tree(delivery, post)
    assert {s.attributes["drone.service"] for s in delivery} == {
        "ingestion", "package", "drone-scheduler", "delivery", "notifications"}
    # Every Delivery visit the router made (reports, both flight timers; the readiness deadline was cancelled once
    # the delivery was scheduled) is a span here.
    inbox = [d for d in router.log if d.entity == "delivery-inbox"]
    assert sorted(d.subject for d in inbox) == ["DeliveryRequested", "DroneScheduled", "FlightProgress",
                                                "FlightProgress", "PackageReady"]
    visits = [d.message_id for d in inbox]
    assert consumed(delivery, "delivery-inbox") == visits
    # Both steps: the request, then the terminal announcement that closes the package and releases the drone.
    assert consumed(delivery, "deliveries", "package") == ["d1:DeliveryRequested", "d1:DeliveryShipped"]
    assert consumed(delivery, "deliveries", "drone-scheduler") == ["d1:DeliveryRequested", "d1:DeliveryShipped"]
    assert consumed(delivery, "delivery-events") == ["d1:DeliveryShipped"], "the Event Grid announcement"
    history = json.loads(router.get("/api/deliveries/d1").get_body())
    assert history["traceId"] == f"{post.context.trace_id:032x}", "the document keeps the trace id it is exported as"


def test_the_traceparent_on_the_wire_is_the_producer_span(router: SagaRouter, exporter: InMemorySpanExporter) -> None:
    router.post("/api/deliveries", body())
    [to_package] = router.pending("deliveries/package")
    [send] = [s for s in exporter.get_finished_spans() if s.kind is SpanKind.PRODUCER]
    context = send.context
    wire = f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}"
    assert to_package.application_properties[b"traceparent"].decode() == wire
    assert to_package.application_properties[b"Diagnostic-Id"].decode() == wire
    assert send.name == "send deliveries" and send.attributes["messaging.operation"] == "send"
    assert send.attributes["messaging.message.id"] == "d1:DeliveryRequested"
    assert send.attributes["drone.service"] == "ingestion" and send.attributes["delivery.id"] == "d1"


def test_spans_carry_the_semantic_convention_attributes(router: SagaRouter, exporter: InMemorySpanExporter) -> None:
    router.post("/api/deliveries", body())
    router.run_until_idle()
    spans = exporter.get_finished_spans()
    post = the_post(spans)
    assert post.kind is SpanKind.SERVER and post.attributes["http.request.method"] == "POST"
    assert post.attributes["http.route"] == "/api/deliveries" and post.attributes["http.response.status_code"] == 202
    [package] = [s for s in spans if s.name == "process deliveries/package"
                 and s.attributes["messaging.message.id"] == "d1:DeliveryRequested"]
    assert package.kind is SpanKind.CONSUMER
    assert {k: package.attributes[k] for k in (
        "messaging.system", "messaging.destination.name", "messaging.destination.subscription.name",
        "messaging.operation", "messaging.operation.type", "delivery.id", "drone.service",
        "messaging.servicebus.disposition_status")} == {
        "messaging.system": "servicebus", "messaging.destination.name": "deliveries",
        "messaging.destination.subscription.name": "package", "messaging.operation": "process",
        "messaging.operation.type": "process", "delivery.id": "d1", "drone.service": "package",
        "messaging.servicebus.disposition_status": "complete"}
    [notify] = [s for s in spans if s.attributes.get("drone.service") == "notifications"]
    assert notify.attributes["messaging.system"] == "eventgrid" and notify.attributes["delivery.id"] == "d1"
    [publish] = [s for s in spans if s.name == "publish delivery-events"]
    assert publish.kind is SpanKind.PRODUCER and publish.attributes["drone.service"] == "delivery"
    timers = [s for s in spans if s.name.startswith("timer ")]
    assert {s.attributes["faas.trigger"] for s in timers} == {"timer"} and all(s.parent is None for s in timers)
    assert {s.name for s in timers} == {"timer ingestion_relay", "timer drone_scheduler_waitlist",
                                        "timer delivery_relay"}


def test_a_rejected_package_fails_the_delivery_in_the_same_tree(router: SagaRouter,
                                                                   exporter: InMemorySpanExporter) -> None:
    router.post("/api/deliveries", body(weight=40.0))
    router.run_until_idle()
    spans = exporter.get_finished_spans()
    post = the_post(spans)
    delivery = trace_of(spans, post)
    assert_one_tree(delivery, post)
    [rejected] = [s for s in delivery if s.name == "process deliveries/package"
                  and s.attributes["messaging.message.id"] == "d1:DeliveryRequested"]
    assert rejected.attributes["messaging.servicebus.disposition_status"] == "dead_letter"
    assert rejected.status.status_code is trace.StatusCode.ERROR
    # The dead letter reaches Remediation, and the compensations (DeliveryFailed) reach both steps: all one tree.
    assert "remediation" in {s.attributes["drone.service"] for s in delivery}
    assert consumed(delivery, "deliveries", "drone-scheduler") == ["d1:DeliveryRequested", "d1:DeliveryFailed"]


def test_a_client_traceparent_is_continued(router: SagaRouter, exporter: InMemorySpanExporter) -> None:
    router.post("/api/deliveries", body(), headers={"traceparent": f"00-{CLIENT_TRACE}-{CLIENT_SPAN}-01"})
    router.run_until_idle()
    spans = exporter.get_finished_spans()
    post = the_post(spans)
    assert f"{post.context.trace_id:032x}" == CLIENT_TRACE and f"{post.parent.span_id:016x}" == CLIENT_SPAN  # type: ignore[union-attr]
    assert post.parent.is_remote  # type: ignore[union-attr]
    assert_one_tree(trace_of(spans, post), post)


def test_a_cancellation_joins_the_delivery_trace_and_links_the_delete(router: SagaRouter,
                                                                        exporter: InMemorySpanExporter) -> None:
    router.post("/api/deliveries", body())
    assert router.delete("/api/deliveries/d1").status_code == 202
    router.run_until_idle()
    spans = exporter.get_finished_spans()
    post = the_post(spans)
    delivery = trace_of(spans, post)
    assert_one_tree(delivery, post)
    [delete] = [s for s in spans if s.name == "DELETE /api/deliveries/{deliveryId}"]
    [send_cancel] = [s for s in delivery if s.attributes.get("messaging.message.id") == "d1:CancelDelivery"
                     and s.kind is SpanKind.PRODUCER]
    assert send_cancel.parent.span_id == post.context.span_id, "the cancel continues the delivery"  # type: ignore[union-attr]
    assert [link.context.span_id for link in send_cancel.links] == [delete.context.span_id]
    assert "d1:CancelDelivery" in consumed(delivery, "delivery-inbox")


def test_an_announcement_the_relay_sends_stays_in_the_delivery_trace(router: SagaRouter,
                                                                       exporter: InMemorySpanExporter) -> None:
    router.fail_next("events", 1)  # the first publish fails: the relay timer sends it later
    router.post("/api/deliveries", body())
    router.run_until_idle()
    router.run_for(120)
    spans = exporter.get_finished_spans()
    post = the_post(spans)
    delivery = trace_of(spans, post)
    assert_one_tree(delivery, post)
    publishes = [s for s in delivery if s.name == "publish delivery-events"]
    assert len(publishes) == 2, "the failed attempt and the relay's"
    relayed = publishes[-1]
    [timer] = [s for s in spans if s.context.span_id == relayed.links[0].context.span_id]
    assert timer.name == "timer delivery_relay" and timer.context.trace_id != post.context.trace_id
    assert consumed(delivery, "delivery-events") == ["d1:DeliveryShipped"]


def test_log_records_carry_the_trace_and_span_ids(router: SagaRouter, exporter: InMemorySpanExporter,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="core.settlement"):
        router.post("/api/deliveries", body())
        router.run_until_idle()
    post = the_post(exporter.get_finished_spans())
    completing = [r for r in caplog.records if r.getMessage().startswith("completing d1:")]
    assert completing and {r.trace_id for r in completing} == {f"{post.context.trace_id:032x}"}
    span_ids = {f"{s.context.span_id:016x}" for s in exporter.get_finished_spans()}
    assert all(r.span_id in span_ids for r in completing)


def test_with_no_exporter_configured_nothing_is_installed_and_traceparents_still_propagate() -> None:
    assert tracing_export.configure({}) is None
    disabled = {"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1"}
    assert tracing_export.configure(disabled) is None
    assert telemetry.tracer() is None
    assert not hasattr(trace.get_tracer_provider(), "add_span_processor"), "the API's no-op provider, not the SDK's"
    with SagaRouter(Settings.from_env(ENV), clock=ManualClock(T0)) as router:
        assert not isinstance(router.deps.bus, telemetry.TracedMessageBus), "no wrapper: no per-message cost"
        assert not isinstance(router.deps.events, telemetry.TracedEventPublisher)
        router.post("/api/deliveries", body(), headers={"traceparent": f"00-{CLIENT_TRACE}-{CLIENT_SPAN}-01"})
        [to_package] = router.pending("deliveries/package")
        _, trace_id, span_id, _ = to_package.application_properties[b"traceparent"].decode().split("-")
        assert trace_id == CLIENT_TRACE and span_id != CLIENT_SPAN, "a child hop, as before OpenTelemetry"
        router.run_until_idle()
        document = json.loads(router.get("/api/deliveries/d1").get_body())
        assert document["state"] == "Shipped" and {e["traceId"] for e in document["history"]} == {CLIENT_TRACE}


def test_the_otlp_protocol_setting_picks_the_exporter() -> None:
    for env, kind in (({}, HttpExporter), ({"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}, HttpExporter),
                      ({"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, GrpcExporter),
                      ({"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "grpc"},
                       GrpcExporter)):
        exporter = tracing_export.otlp_exporter(env)
        try:
            assert isinstance(exporter, kind), env
        finally:
            exporter.shutdown()
    provider = tracing_export.build_provider({})
    try:
        assert provider.resource.attributes["service.name"] == "drone-delivery"
    finally:
        provider.shutdown()
