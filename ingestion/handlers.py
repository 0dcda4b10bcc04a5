"""Ingestion's handlers: validate the request, record it first-wins, publish (no Azure SDK here).

Commit, then announce (docs/app.md): the first-wins record is the commit point of a POST. Once it is stored
the answer is 202 even if publishing fails: the record stays unpublished and the relay
(`relay_unpublished`, a timer trigger) publishes it. Nothing stored -> 503, so the client retries."""
from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Callable
from datetime import timedelta

from pydantic import ValidationError

from contracts.api import DeliveryRequestBody
from contracts.messages import CancelDelivery, DeliveryRequested
from contracts.model import IDENTIFIER_PATTERN
from core.http import HttpResult, problem
from core.outbound import to_inbox, to_topic
from core.outbox import RelaySchedule
from core.ports import Clock, MessageBus
from core.tracing import child_of
from ingestion.documents import IngestionRecord
from ingestion.repository import IngestionRepository

log = logging.getLogger(__name__)
MAX_BODY_BYTES = 64 * 1024          # docs/design.md "HTTP API": body over 64 KB -> 413
RETRY_AFTER_SECONDS = "2"           # async request-reply: how long a client should wait before polling GET
_JSON_MEDIA_TYPE = re.compile(r"^application/(?:[\w.+-]+\+)?json$")
_DELIVERY_ID = re.compile(IDENTIFIER_PATTERN)


def accept_delivery(body: bytes, content_type: str | None, traceparent: str | None, requests: IngestionRepository,
                    bus: MessageBus, clock: Clock, new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
                    schedule: RelaySchedule = RelaySchedule()) -> HttpResult:
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
    now = clock()
    candidate = IngestionRecord(
        id=delivery_id, traceparent=child_of(traceparent), accepted_at=now,
        publish_due_at=schedule.next_attempt(now, 0),
        request=DeliveryRequested(delivery_id=delivery_id, occurred_at=now,
                                  **parsed.model_dump(exclude={"delivery_id"})),
    )
    try:
        record = requests.add_first(candidate)   # first wins: a repeated deliveryId changes nothing
    except Exception:
        log.warning("could not record delivery %s", delivery_id, exc_info=True)
        return _unavailable("the request could not be stored; nothing was accepted")
    if not record.published:
        _publish(record, requests, bus, clock, schedule)
    return _accepted(delivery_id, "Accepted")


def relay_unpublished(requests: IngestionRepository, bus: MessageBus, clock: Clock,
                      schedule: RelaySchedule = RelaySchedule(), limit: int = 100) -> int:
    """The relay: publish accepted requests whose DeliveryRequested did not go out; returns how many went out."""
    return sum(_publish(record, requests, bus, clock, schedule) for record in requests.unpublished(clock(), limit))


def _publish(record: IngestionRecord, requests: IngestionRepository, bus: MessageBus, clock: Clock,
             schedule: RelaySchedule) -> bool:
    """Publish DeliveryRequested for a stored record and mark it; on failure leave it to the relay (False)."""
    try:
        bus.send([to_topic(record.request, record.traceparent)])
    except Exception:
        log.warning("publishing delivery %s failed; the relay retries it", record.id, exc_info=True)
        _quietly(lambda: requests.retry_publish_later(record, clock() + timedelta(seconds=schedule.first_delay)))
        return False
    # If marking fails the relay publishes again under the same MessageId: the broker drops the copy.
    _quietly(lambda: requests.mark_published(record))
    return True


def _quietly(write: Callable[[], None]) -> None:
    try:
        write()
    except Exception:
        log.warning("updating an ingestion record failed", exc_info=True)


def request_cancellation(delivery_id: str, requests: IngestionRepository, bus: MessageBus, clock: Clock) -> HttpResult:
    """`DELETE /api/deliveries/{id}`: 202 (the outcome shows in GET), 404 if never accepted."""
    if not _DELIVERY_ID.match(delivery_id):
        return problem(400, "Bad Request", "deliveryId has an invalid format", errors=[
            {"field": "deliveryId", "message": "1-64 letters, digits, '.', '_' or '-'"}])
    record = requests.get(delivery_id)
    if record is None:
        return problem(404, "Not Found", f"no delivery {delivery_id}")
    cancel = CancelDelivery(delivery_id=delivery_id, occurred_at=clock())
    try:
        bus.send([to_inbox(cancel, record.traceparent)])
    except Exception:
        log.warning("sending CancelDelivery for %s failed", delivery_id, exc_info=True)
        return _unavailable("the cancellation could not be sent; retry")
    return _accepted(delivery_id, "CancellationRequested")


def _parse(body: bytes) -> DeliveryRequestBody | HttpResult:
    try:
        document = json.loads(body)
    except RecursionError:
        # 60 KB of `[` fits under the 413 limit but nests past the interpreter's recursion limit; the C
        # decoder stops cleanly with RecursionError, which is the client's fault, not a 500.
        return problem(400, "Bad Request", "the body is not a delivery request: JSON nested too deeply")
    except ValueError as exc:
        # JSONDecodeError and UnicodeDecodeError are ValueErrors, and so is Python's limit on integer
        # strings (4,300 digits, https://docs.python.org/3/library/stdtypes.html#int-max-str-digits).
        return problem(400, "Bad Request", f"the body is not valid JSON: {str(exc)[:200]}")
    try:
        return DeliveryRequestBody.model_validate(document)
    except ValidationError as exc:
        errors = [{"field": ".".join(str(p) for p in err["loc"]) or "(body)", "message": err["msg"]}
                  for err in exc.errors()]
        return problem(400, "Bad Request", f"{len(errors)} invalid field(s)", errors=errors)


def _unavailable(detail: str) -> HttpResult:
    result = problem(503, "Service Unavailable", detail)
    return HttpResult(result.status, result.body, {"Retry-After": RETRY_AFTER_SECONDS}, result.content_type)


def _accepted(delivery_id: str, status: str) -> HttpResult:
    return HttpResult(202, {"deliveryId": delivery_id, "status": status},
                      headers={"Location": f"/api/deliveries/{delivery_id}", "Retry-After": RETRY_AFTER_SECONDS})
