"""Ingestion's handlers: validate the request, record it first-wins, publish (no Azure SDK here)."""
from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Callable

from pydantic import ValidationError

from adapters.http import HttpResult, problem
from adapters.outbound import to_inbox, to_topic
from adapters.ports import Clock, MessageBus
from adapters.repositories import IngestionRepository
from adapters.tracing import child_of
from contracts.api import DeliveryRequestBody
from contracts.documents import IngestionRecord
from contracts.messages import CancelDelivery, DeliveryRequested

log = logging.getLogger(__name__)
MAX_BODY_BYTES = 64 * 1024          # DESIGN.md "HTTP API": body over 64 KB -> 413
RETRY_AFTER_SECONDS = "2"           # async request-reply: how long a client should wait before polling GET
_JSON_MEDIA_TYPE = re.compile(r"^application/(?:[\w.+-]+\+)?json$")
_DELIVERY_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def accept_delivery(body: bytes, content_type: str | None, traceparent: str | None, requests: IngestionRepository,
                    bus: MessageBus, clock: Clock, new_id: Callable[[], str] = lambda: str(uuid.uuid4())) -> HttpResult:
    """`POST /api/deliveries`: 202 with Location and Retry-After, or 400/413/415 problem details."""
    media_type = (content_type or "").split(";")[0].strip().lower()
    if not _JSON_MEDIA_TYPE.match(media_type):
        return problem(415, "Unsupported Media Type", f"expected application/json, got {content_type or 'nothing'}")
    if len(body) > MAX_BODY_BYTES:
        return problem(413, "Payload Too Large", f"the body is {len(body)} bytes; the limit is {MAX_BODY_BYTES}")
    parsed = _parse(body)
    if isinstance(parsed, HttpResult):
        return parsed
    delivery_id = parsed.delivery_id or new_id()
    candidate = IngestionRecord(
        id=delivery_id, traceparent=child_of(traceparent), accepted_at=clock(),
        request=DeliveryRequested(delivery_id=delivery_id, occurred_at=clock(),
                                  **parsed.model_dump(exclude={"delivery_id"})),
    )
    record = requests.add_first(candidate)   # first wins: a repeated deliveryId changes nothing
    if not record.published:
        bus.send([to_topic(record.request, record.traceparent)])
        requests.mark_published(record)
    return _accepted(delivery_id, "Accepted")


def request_cancellation(delivery_id: str, requests: IngestionRepository, bus: MessageBus, clock: Clock) -> HttpResult:
    """`DELETE /api/deliveries/{id}`: 202 (the outcome shows in GET), 404 if never accepted."""
    if not _DELIVERY_ID.match(delivery_id):
        return problem(400, "Bad Request", "deliveryId has an invalid format", errors=[
            {"field": "deliveryId", "message": "1-64 letters, digits, '.', '_' or '-'"}])
    record = requests.get(delivery_id)
    if record is None:
        return problem(404, "Not Found", f"no delivery {delivery_id}")
    cancel = CancelDelivery(delivery_id=delivery_id, occurred_at=clock())
    bus.send([to_inbox(cancel, record.traceparent)])
    return _accepted(delivery_id, "CancellationRequested")


def _parse(body: bytes) -> DeliveryRequestBody | HttpResult:
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return problem(400, "Bad Request", f"the body is not valid JSON: {exc}")
    try:
        return DeliveryRequestBody.model_validate(document)
    except ValidationError as exc:
        errors = [{"field": ".".join(str(p) for p in err["loc"]) or "(body)", "message": err["msg"]}
                  for err in exc.errors()]
        return problem(400, "Bad Request", f"{len(errors)} invalid field(s)", errors=errors)


def _accepted(delivery_id: str, status: str) -> HttpResult:
    return HttpResult(202, {"deliveryId": delivery_id, "status": status},
                      headers={"Location": f"/api/deliveries/{delivery_id}", "Retry-After": RETRY_AFTER_SECONDS})
