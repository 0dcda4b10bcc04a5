"""OTLP/HTTP trace export bodies → Spans (https://opentelemetry.io/docs/specs/otlp/#otlphttp).

Binary protobuf (``application/x-protobuf``) is what the Python exporter sends by default; JSON
(``application/json``) is the same ExportTraceServiceRequest in proto3 JSON, except that trace and span ids are
hex strings, not base64 (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding).
"""
from __future__ import annotations

import base64
import json
import zlib
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from devstack.dashboard.core.spans import Span

MAX_REQUEST_BYTES = 4 * 1024 * 1024
PROTOBUF, JSON = "application/x-protobuf", "application/json"


class OtlpError(ValueError):
    """A request the receiver refuses; ``status`` is the HTTP status it maps to."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def decode(body: bytes, content_type: str, encoding: str = "") -> list[Span]:
    """The spans of one export request; raises OtlpError (400, 413, 415)."""
    body = _decompressed(body, encoding.strip().lower())
    if content_type == PROTOBUF:
        try:
            request = ExportTraceServiceRequest.FromString(body)
        except DecodeError as exc:
            raise OtlpError(400, f"not an ExportTraceServiceRequest: {exc}") from None
    elif content_type == JSON:
        request = _from_json(body)
    else:
        raise OtlpError(415, f"unsupported content type {content_type!r}; send {PROTOBUF} or {JSON}")
    return spans_of(request)


def success(content_type: str) -> bytes:
    """An empty ExportTraceServiceResponse (full success) in the request's encoding."""
    return b"{}" if content_type == JSON else ExportTraceServiceResponse().SerializeToString()


def spans_of(request: ExportTraceServiceRequest) -> list[Span]:
    """Flatten resource_spans → scope_spans → spans."""
    found = []
    for resource_spans in request.resource_spans:
        resource = {a.key: value_of(a.value) for a in resource_spans.resource.attributes}
        service = str(resource.get("service.name", ""))
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                found.append(Span(span.trace_id.hex(), span.span_id.hex(), span.parent_span_id.hex(), span.name,
                                  int(span.kind), int(span.start_time_unix_nano), int(span.end_time_unix_nano),
                                  int(span.status.code), span.status.message,
                                  {a.key: value_of(a.value) for a in span.attributes}, service))
    return found


def value_of(value: AnyValue) -> Any:
    """An AnyValue as a plain JSON-ready value."""
    which = value.WhichOneof("value")
    if which == "array_value":
        return [value_of(item) for item in value.array_value.values]
    if which == "kvlist_value":
        return {kv.key: value_of(kv.value) for kv in value.kvlist_value.values}
    if which == "bytes_value":
        return value.bytes_value.hex()
    return getattr(value, which) if which else None


def _decompressed(body: bytes, encoding: str) -> bytes:
    if encoding in ("", "identity"):
        return body
    if encoding != "gzip":
        raise OtlpError(415, f"unsupported content encoding {encoding!r}")
    # Bounded: a small gzip body must not inflate past the same limit as a plain one.
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        plain = inflater.decompress(body, MAX_REQUEST_BYTES + 1)
    except zlib.error as exc:
        raise OtlpError(400, f"bad gzip body: {exc}") from None
    if len(plain) > MAX_REQUEST_BYTES:
        raise OtlpError(413, f"request larger than {MAX_REQUEST_BYTES} bytes once decompressed")
    return plain


def _from_json(body: bytes) -> ExportTraceServiceRequest:
    try:
        document = json.loads(body)
        for resource_spans in document.get("resourceSpans", []):
            for scope_spans in resource_spans.get("scopeSpans", []):
                for span in scope_spans.get("spans", []):
                    _hex_ids_to_base64(span)
                    for link in span.get("links", []):
                        _hex_ids_to_base64(link)
        # Receivers must ignore unknown fields (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding).
        return json_format.ParseDict(document, ExportTraceServiceRequest(), ignore_unknown_fields=True)
    except (ValueError, AttributeError, TypeError, json_format.ParseError) as exc:
        raise OtlpError(400, f"not an OTLP/JSON ExportTraceServiceRequest: {exc}") from None


def _hex_ids_to_base64(item: dict[str, Any]) -> None:
    for key in ("traceId", "spanId", "parentSpanId"):
        if item.get(key):
            item[key] = base64.b64encode(bytes.fromhex(item[key])).decode()
