"""One delivery, exported over OTLP/HTTP by the app running in the Functions host, is one connected trace.

The test runs its own OTLP/HTTP receiver (aiohttp on a free loopback port) decoding ExportTraceServiceRequest
(https://opentelemetry.io/docs/specs/otlp/#otlphttp), restarts the host with OTEL_EXPORTER_OTLP_ENDPOINT pointing at
it, and puts the host back as shipped (tracing off) afterwards.
"""
from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import web
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span as ProtoSpan

from tests.e2e.api import Api, new_delivery
from tests.support.processes import free_port
from tests.support.stack import RunningStack, eventually


@dataclass(frozen=True)
class Exported:
    trace_id: str
    span_id: str
    parent_id: str
    name: str
    kind: int
    attributes: dict[str, Any]


class OtlpReceiver:
    """POST /v1/traces: keeps every span of every ExportTraceServiceRequest (http/protobuf)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.spans: list[Exported] = []
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None

    async def _export(self, request: web.Request) -> web.Response:
        export = ExportTraceServiceRequest.FromString(await request.read())
        with self._lock:
            self.spans += [Exported(span.trace_id.hex(), span.span_id.hex(), span.parent_span_id.hex(), span.name,
                                    span.kind, {a.key: _value(a.value) for a in span.attributes})
                           for resource in export.resource_spans for scope in resource.scope_spans
                           for span in scope.spans]
        return web.Response(body=ExportTraceServiceResponse().SerializeToString(),
                            content_type="application/x-protobuf")

    async def _start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/traces", self._export)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    def __enter__(self) -> OtlpReceiver:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def __exit__(self, *_: object) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def snapshot(self) -> list[Exported]:
        with self._lock:
            return list(self.spans)


def _value(value: Any) -> Any:
    kind = value.WhichOneof("value")
    return getattr(value, kind) if kind else None


@pytest.fixture()
def receiver(stack: RunningStack) -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as started:
        # Short batch delay so the test does not wait the default 5 s per export (OTEL_BSP_SCHEDULE_DELAY, ms).
        stack.restart_host(OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{started.port}",
                           OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf", OTEL_BSP_SCHEDULE_DELAY="200")
        try:
            yield started
        finally:
            stack.restart_host()


def test_a_shipped_delivery_is_one_trace_rooted_at_the_post(stack: RunningStack, api: Api,
                                                            receiver: OtlpReceiver) -> None:
    body = new_delivery()
    delivery_id = body["deliveryId"]
    assert api.post(body).status == 202
    document = api.wait_for_state(delivery_id, {"Shipped"})
    trace_id = document["traceId"]

    def of_the_trace() -> list[Exported]:
        return [s for s in receiver.snapshot() if s.trace_id == trace_id]

    def complete(spans: list[Exported]) -> bool:
        services = {s.attributes.get("drone.service") for s in spans if s.kind == ProtoSpan.SPAN_KIND_CONSUMER}
        closed = [s for s in spans if s.kind == ProtoSpan.SPAN_KIND_CONSUMER
                  and s.attributes.get("messaging.message.id") == f"{delivery_id}:DeliveryShipped"]
        return {"package", "drone-scheduler", "delivery", "notifications"} <= services and len(closed) >= 3

    spans = eventually(of_the_trace, complete, 60, "the delivery's spans, up to the announcement, exported")
    ids = {s.span_id for s in spans}
    roots = [s for s in spans if not s.parent_id or s.parent_id not in ids]
    assert [(r.name, r.kind) for r in roots] == [("POST /api/deliveries", ProtoSpan.SPAN_KIND_SERVER)]
    by_id = {s.span_id: s for s in spans}
    for consumer in (s for s in spans if s.kind == ProtoSpan.SPAN_KIND_CONSUMER):
        # The parent is the send that carried the message: the app's span, or the Service Bus SDK's own
        # ServiceBus.message span under it (azure-core-tracing-opentelemetry is on with tracing).
        assert by_id[consumer.parent_id].kind == ProtoSpan.SPAN_KIND_PRODUCER, consumer.name
        assert consumer.attributes["messaging.operation"] == "process"
    inbox = [s for s in spans if s.name == "process delivery-inbox"]
    assert {s.attributes["messaging.message.id"].split(":")[1] for s in inbox} >= {
        "DeliveryRequested", "PackageReady", "DroneScheduled", "FlightProgress"}
