"""Validation of publish requests: Event Grid schema and CloudEvents 1.0 (JSON, structured/batch).

Field rules follow the Event Grid event schema
(https://learn.microsoft.com/azure/event-grid/event-schema) and the CloudEvents 1.0 JSON format
(https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/formats/json-format.md). Limits follow
https://learn.microsoft.com/azure/event-grid/quotas-limits (1 MB per request, 5,000 events per batch).
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from devstack.eventgrid.core.config import CLOUD_EVENT_SCHEMA, EVENT_GRID_SCHEMA
from devstack.eventgrid.core.errors import InvalidEvents, PayloadTooLarge

MAX_REQUEST_BYTES = 1024 * 1024
MAX_EVENTS_PER_REQUEST = 5000
_CLOUDEVENTS_SINGLE = "application/cloudevents+json"
_CLOUDEVENTS_BATCH = "application/cloudevents-batch+json"


@dataclass(frozen=True)
class Event:
    """One accepted event: what filters look at, plus the JSON object delivered to subscribers."""

    id: str
    event_type: str
    subject: str
    body: dict[str, Any]
    data_version: str = ""


def topic_resource_id(topic_name: str) -> str:
    """The ARM resource id Event Grid stamps into ``topic`` (fixed, fake subscription and group)."""
    return ("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/devstack"
            f"/providers/Microsoft.EventGrid/topics/{topic_name}")


def parse_publish(body: bytes, content_type: str, schema: str, topic_name: str) -> list[Event]:
    """Decode and validate a publish request body for a topic with input ``schema``."""
    if len(body) > MAX_REQUEST_BYTES:
        raise PayloadTooLarge(f"request body is {len(body)} bytes; Event Grid accepts at most "
                              f"{MAX_REQUEST_BYTES} bytes (1 MB) per publish request")
    media_type = content_type.split(";")[0].strip().lower()
    decoded = _decode_json(body)
    if media_type == _CLOUDEVENTS_SINGLE and isinstance(decoded, dict):
        decoded = [decoded]  # structured mode: one CloudEvent, not a batch
    if not isinstance(decoded, list) or not decoded:
        raise InvalidEvents("request body must be a non-empty JSON array of events")
    if len(decoded) > MAX_EVENTS_PER_REQUEST:
        raise PayloadTooLarge(f"{len(decoded)} events in one request; at most {MAX_EVENTS_PER_REQUEST}")
    cloud = media_type in (_CLOUDEVENTS_SINGLE, _CLOUDEVENTS_BATCH)
    if schema == EVENT_GRID_SCHEMA:
        if cloud:
            raise InvalidEvents(f"topic {topic_name!r} expects {EVENT_GRID_SCHEMA} (application/json), "
                                f"but the request is CloudEvents ({media_type})")
        return [_event_grid_event(item, i, topic_name) for i, item in enumerate(decoded)]
    if schema == CLOUD_EVENT_SCHEMA and not cloud and decoded and _looks_like_event_grid(decoded[0]):
        raise InvalidEvents(f"topic {topic_name!r} expects {CLOUD_EVENT_SCHEMA} "
                            f"({_CLOUDEVENTS_BATCH}), but the request is in the Event Grid schema")
    return [_cloud_event(item, i) for i, item in enumerate(decoded)]


def _decode_json(body: bytes) -> Any:
    """Strict RFC 8259 JSON: no NaN/Infinity and no lone surrogates, which subscribers' parsers would refuse."""
    try:
        decoded = json.loads(body, parse_constant=_reject_constant, parse_float=_finite_float)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError, int digit limit
        raise InvalidEvents(f"request body is not valid JSON: {exc}") from None
    _reject_lone_surrogates(decoded)
    return decoded


def _reject_lone_surrogates(decoded: Any) -> None:
    """Refuse "\ud800"-style escapes that decode to no Unicode character (RFC 8259 section 8.2).

    JSON allows the escape, but such a string is not Unicode: it cannot be written as UTF-8, which RFC 8259
    section 8.1 requires of JSON exchanged between systems, and the Cosmos DB emulator and the app refuse
    it. One C-speed round trip finds out; only then is the tree walked to name the place.
    """
    try:
        json.dumps(decoded, ensure_ascii=False).encode("utf-8")
    except RecursionError:
        raise InvalidEvents("request body is not valid JSON: it is nested too deeply") from None
    except UnicodeEncodeError:
        raise InvalidEvents(f"request body is not valid JSON text: {_surrogate_path(decoded)} holds a lone "
                            "UTF-16 surrogate escape (such as \\ud800), which is not a Unicode character "
                            "(RFC 8259 section 8.2)") from None


def _surrogate_path(decoded: Any) -> str:
    """Where the first string (a member name or a value) holding a lone surrogate is, e.g. events[0].data.x."""
    stack: list[tuple[str, Any]] = [("events", decoded)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str) and not _is_unicode(value):
            return path
        if isinstance(value, dict):
            for key, child in reversed(value.items()):
                if not _is_unicode(key):
                    return f"a member name in {path}"
                stack.append((f"{path}.{key}", child))
        elif isinstance(value, list):
            stack.extend((f"{path}[{i}]", child) for i, child in reversed(list(enumerate(value))))
    return "a string"


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _reject_constant(name: str) -> Any:
    raise InvalidEvents(f"request body is not valid JSON: {name} is not a JSON number (RFC 8259 section 6)")


def _finite_float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):  # 1e999 would read as inf and be re-sent as Infinity
        raise InvalidEvents(f"request body is not valid JSON: the number {literal[:40]} is out of range "
                            "(it would be Infinity, which JSON cannot represent)")
    return value


def _looks_like_event_grid(item: Any) -> bool:
    return isinstance(item, dict) and "eventType" in item and "specversion" not in item


def _event_grid_event(item: Any, index: int, topic_name: str) -> Event:
    where = f"events[{index}]"
    if not isinstance(item, dict):
        raise InvalidEvents(f"{where} must be a JSON object")
    for name in ("id", "eventType"):
        _require_string(item, name, where, non_empty=True)
    _require_string(item, "subject", where, non_empty=False)
    _require_time(item, "eventTime", where, required=True)
    if "dataVersion" in item and not isinstance(item["dataVersion"], str):
        raise InvalidEvents(f"{where}.dataVersion must be a string")
    if item.get("metadataVersion", "1") != "1":
        raise InvalidEvents(f"{where}.metadataVersion must be \"1\" when given")
    # Event Grid stamps topic, metadataVersion and an empty dataVersion when the publisher omits them.
    body = {**item, "topic": item.get("topic") or topic_resource_id(topic_name),
            "dataVersion": item.get("dataVersion", ""), "metadataVersion": "1"}
    return Event(item["id"], item["eventType"], item["subject"], body, body["dataVersion"])


def _cloud_event(item: Any, index: int) -> Event:
    where = f"events[{index}]"
    if not isinstance(item, dict):
        raise InvalidEvents(f"{where} must be a JSON object")
    for name in ("id", "source", "type"):
        _require_string(item, name, where, non_empty=True)
    if item.get("specversion") != "1.0":
        raise InvalidEvents(f"{where}.specversion must be \"1.0\" (got {item.get('specversion')!r})")
    _require_time(item, "time", where, required=False)
    if "data" in item and "data_base64" in item:
        raise InvalidEvents(f"{where} has both data and data_base64; a CloudEvent carries one")
    subject = item.get("subject", "")
    if not isinstance(subject, str):
        raise InvalidEvents(f"{where}.subject must be a string")
    return Event(item["id"], item["type"], subject, dict(item))


def _require_string(item: dict[str, Any], name: str, where: str, *, non_empty: bool) -> None:
    value = item.get(name)
    if not isinstance(value, str) or (non_empty and not value):
        raise InvalidEvents(f"{where}.{name} is required and must be a {'non-empty ' if non_empty else ''}"
                            f"string (got {value!r})")


def _require_time(item: dict[str, Any], name: str, where: str, *, required: bool) -> None:
    if name not in item and not required:
        return
    value = item.get(name)
    try:
        datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        value = None
    if not isinstance(value, str):
        raise InvalidEvents(f"{where}.{name} is required and must be an ISO 8601 / RFC 3339 time "
                            f"(got {item.get(name)!r})")
