"""Decoding what is POSTed to the Event Grid webhook, with bounds: sans-I/O, so hostile input is unit-testable.

The real trigger (azure-sdk-for-net, `Microsoft.Azure.WebJobs.Extensions.EventGrid`,
`TriggerBinding/HttpRequestProcessor.cs` and `Config/EventGridExtensionConfigProvider.cs`) reads the
whole body as a string, parses it with Newtonsoft's `JToken.Parse` and runs the function once per array
element, with no bound of its own beyond the host's 100 MB request limit; malformed input surfaces as an
unhandled exception. This host answers 4xx with a reason instead, and bounds the request by what Event Grid
itself can send (https://learn.microsoft.com/azure/event-grid/delivery-and-retry, *Batched event
delivery*: at most 5,000 events and a preferred batch size of at most 1,024 KB;
https://learn.microsoft.com/azure/event-grid/quotas-limits: 1 MB per event and per request). Anything
larger cannot come from Event Grid, so it is refused before a single invocation runs.
"""
from __future__ import annotations

import json
from typing import Any

from azure.functions import meta
from azure.functions.eventgrid import EventGridEventInConverter

MAX_WEBHOOK_BYTES = 1024 * 1024
MAX_WEBHOOK_EVENTS = 5000
# Newtonsoft.Json 13's JsonReader refuses documents nested deeper than 64 (its default MaxDepth), so the
# real host never runs a function on deeper input; refusing here also keeps recursion out of the host.
MAX_JSON_DEPTH = 64


class WebhookRejected(Exception):
    """The webhook request cannot be processed; ``status`` is the 4xx to answer, the message says why."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status


def too_large(size: int | None) -> WebhookRejected:
    """The 413 for a body over the limit (``size`` when the client announced it)."""
    announced = f"{size} bytes" if size is not None else f"more than {MAX_WEBHOOK_BYTES} bytes"
    return WebhookRejected(413, f"request body is {announced}; Event Grid delivers at most "
                                f"{MAX_WEBHOOK_BYTES} bytes (1 MB) per request")


def decode_events(body: bytes) -> list[dict[str, Any]]:
    """The events of a webhook body (one object or an array of objects), bounded in size, count and depth."""
    if len(body) > MAX_WEBHOOK_BYTES:
        raise too_large(len(body))
    try:
        decoded = json.loads(body or b"null")
    except RecursionError:
        raise WebhookRejected(400, f"request body is nested more than {MAX_JSON_DEPTH} levels deep") from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, the int digit limit
        raise WebhookRejected(400, f"request body is not JSON: {exc}") from None
    events = decoded if isinstance(decoded, list) else [decoded]
    if len(events) > MAX_WEBHOOK_EVENTS:
        raise WebhookRejected(413, f"{len(events)} events in one request; Event Grid delivers at most "
                                   f"{MAX_WEBHOOK_EVENTS} per request")
    if not all(isinstance(event, dict) for event in events):
        raise WebhookRejected(400, "expected an event object or an array of event objects")
    if _depth_exceeds(decoded, MAX_JSON_DEPTH):
        raise WebhookRejected(400, f"request body is nested more than {MAX_JSON_DEPTH} levels deep")
    return events


def validation_code(events: list[dict[str, Any]]) -> str:
    """``data.validationCode`` of a SubscriptionValidation request."""
    data = events[0].get("data") if events else None
    code = data.get("validationCode") if isinstance(data, dict) else None
    if not isinstance(code, str) or not code:
        raise WebhookRejected(400, "SubscriptionValidation event needs data.validationCode, a non-empty string "
                                   f"(got data {_preview(data)})")
    return code


def trigger_values(events: list[dict[str, Any]]) -> list[Any]:
    """Each event as the function receives it (``func.EventGridEvent`` / ``func.CloudEvent``), all or none."""
    values = []
    for index, event in enumerate(events):
        try:
            values.append(EventGridEventInConverter.decode(meta.Datum(json.dumps(event), "json"),
                                                           trigger_metadata={}))
        except (ValueError, TypeError) as exc:  # e.g. an eventTime that is not a time
            raise WebhookRejected(400, f"events[{index}] cannot be decoded: {type(exc).__name__}: {exc}") from None
    return values


def _depth_exceeds(value: Any, limit: int) -> bool:
    """True when arrays/objects nest deeper than ``limit``; iterative, so it cannot recurse itself."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        for child in children:
            if isinstance(child, (dict, list)):
                if depth + 1 > limit:
                    return True
                stack.append((child, depth + 1))
    return False


def _preview(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 80 else text[:77] + "..."
