"""One stored span, independent of the wire format it arrived in (OTLP protobuf or JSON)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# The app's own attributes (core/telemetry.py): the step that made the span and the delivery it serves.
SERVICE_ATTRIBUTE = "drone.service"
DELIVERY_ID_ATTRIBUTE = "delivery.id"

# Span kinds and status codes as OTLP numbers them
# (https://github.com/open-telemetry/opentelemetry-proto/blob/main/opentelemetry/proto/trace/v1/trace.proto).
KIND_NAMES = {0: "unspecified", 1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}
STATUS_ERROR = 2


@dataclass(frozen=True)
class Span:
    """A finished span: ids are lower-case hex, times are Unix nanoseconds."""

    trace_id: str
    span_id: str
    parent_span_id: str
    name: str
    kind: int
    start_ns: int
    end_ns: int
    status_code: int = 0
    status_message: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)
    resource_service: str = ""  # the resource's service.name

    @property
    def service(self) -> str:
        """The step that made the span (``drone.service``), else the resource's ``service.name``."""
        return str(self.attributes.get(SERVICE_ATTRIBUTE) or self.resource_service or "unknown")

    @property
    def delivery_id(self) -> str:
        """The ``delivery.id`` attribute, or ''."""
        return str(self.attributes.get(DELIVERY_ID_ATTRIBUTE) or "")

    @property
    def step(self) -> str | None:
        """The app's step (``drone.service``), or None for spans the app did not make (e.g. Azure SDK calls)."""
        value = self.attributes.get(SERVICE_ATTRIBUTE)
        return str(value) if value else None

    @property
    def is_error(self) -> bool:
        """True when the span's status is ERROR."""
        return self.status_code == STATUS_ERROR

    @property
    def marks_failure(self) -> bool:
        """An error on one of the app's own spans (a dead letter, a 5xx). The Azure SDKs' spans are left out: they
        record expected outcomes such as a Cosmos DB 404 on an idempotency read as errors too."""
        return self.is_error and self.step is not None
