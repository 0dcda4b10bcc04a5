"""OTLP/HTTP bodies decode to the spans the SDK made: protobuf, JSON with hex ids, gzip; bad ones are refused."""
from __future__ import annotations

import base64
import gzip
import json
import time

import pytest
from google.protobuf import json_format
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from devstack.dashboard.http.otlp import JSON, MAX_REQUEST_BYTES, PROTOBUF, OtlpError, decode, success
from tests.unit.dashboard.choreography import emit_delivery


def exported_request(delivery_id: str = "d-1", fail: bool = False):
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "drone-delivery"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace_id = emit_delivery(provider.get_tracer("test"), delivery_id, time.time_ns(), fail)
    return trace_id, encode_spans(exporter.get_finished_spans())


def test_protobuf_export_decodes_to_the_sdk_spans() -> None:
    trace_id, request = exported_request()
    spans = decode(request.SerializeToString(), PROTOBUF)
    assert {span.trace_id for span in spans} == {trace_id}
    assert len(spans) == 8
    root = next(span for span in spans if not span.parent_span_id)
    assert root.name == "POST /api/deliveries" and root.kind == 2 and root.service == "ingestion"
    assert root.attributes["http.response.status_code"] == 202
    assert root.resource_service == "drone-delivery"
    consumer = next(span for span in spans if span.name == "process delivery-events")
    assert consumer.service == "notifications" and consumer.delivery_id == "d-1" and consumer.kind == 5
    assert consumer.end_ns - consumer.start_ns == 5_000_000


def test_json_export_with_hex_ids_decodes_like_protobuf() -> None:
    _, request = exported_request()
    document = json_format.MessageToDict(request)
    for resource in document["resourceSpans"]:  # OTLP/JSON carries ids as hex, not proto3 JSON's base64
        for scope in resource["scopeSpans"]:
            for span in scope["spans"]:
                for key in ("traceId", "spanId", "parentSpanId"):
                    if key in span:
                        span[key] = base64.b64decode(span[key]).hex()
    document["unknownField"] = 1
    assert decode(json.dumps(document).encode(), JSON) == decode(request.SerializeToString(), PROTOBUF)
    assert success(JSON) == b"{}"


def test_gzip_bodies_are_inflated() -> None:
    _, request = exported_request()
    body = request.SerializeToString()
    assert decode(gzip.compress(body), PROTOBUF, "gzip") == decode(body, PROTOBUF)


def test_a_gzip_bomb_is_refused_with_413() -> None:
    with pytest.raises(OtlpError) as refused:
        decode(gzip.compress(b"\0" * (MAX_REQUEST_BYTES + 10)), PROTOBUF, "gzip")
    assert refused.value.status == 413


@pytest.mark.parametrize(("body", "content_type", "encoding", "status"), [
    (b"\xff\xff\xff", PROTOBUF, "", 400),
    (b"{not json", JSON, "", 400),
    (b"{}", "text/plain", "", 415),
    (b"", PROTOBUF, "br", 415),
    (b"not gzip", PROTOBUF, "gzip", 400),
])
def test_bad_requests_are_refused_with_their_status(body: bytes, content_type: str, encoding: str,
                                                    status: int) -> None:
    with pytest.raises(OtlpError) as refused:
        decode(body, content_type, encoding)
    assert refused.value.status == status


def test_an_empty_request_has_no_spans() -> None:
    assert decode(b"", PROTOBUF) == []
