"""Dead letters as the pages list them: Remediation's records (container ``deadletters``, docs/design.md "Data"),
messages still in the broker's dead-letter queues, and Event Grid's dead-lettered events (docs/eventgrid.md
"Dead letters"). Plain dictionaries in, JSON-ready rows out; no I/O."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

LISTED_RECORDS = 200  # the newest this many records are listed (the rest are counted)
LISTED_EVENTS = 50    # per Event Grid subscription
MAX_TEXT = 500        # characters of a description shown; the whole record is one `dlq show` away

# Remediation's fields (remediation/documents.py DeadLetterRecord, camelCase in Cosmos) the page shows, under the
# names the page uses.
RECORD_FIELDS = {"id": "id", "entity": "entity", "deadLetterReason": "reason", "deadLetterDescription": "description",
                 "reasonCode": "reasonCode", "action": "action", "deliveryId": "deliveryId", "messageId": "messageId",
                 "subject": "subject", "recordedAt": "recordedAt", "requiresOperator": "requiresOperator",
                 "redriveCount": "redriveCount", "lastRedriveMessageId": "lastRedriveMessageId",
                 "lastRedrivenAt": "lastRedrivenAt", "lastRedriveError": "lastRedriveError", "_etag": "etag"}
EVENT_FIELDS = ("id", "subject", "deadLetterReason", "deliveryAttempts", "lastDeliveryOutcome", "lastHttpStatusCode",
                "publishTime", "lastDeliveryAttemptTime")


def record_rows(records: list[dict[str, Any]], limit: int = LISTED_RECORDS) -> list[dict[str, Any]]:
    """The newest ``limit`` records (already newest first, as devstack/dlq lists them) as page rows."""
    rows = []
    for record in records[:limit]:
        row = {shown: _short(record.get(field)) for field, shown in RECORD_FIELDS.items()}
        row["redriveCount"] = _int(record.get("redriveCount"))
        row["requiresOperator"] = record.get("requiresOperator") is True
        rows.append(row)
    return rows


def event_rows(letters: Iterable[dict[str, Any]], limit: int = LISTED_EVENTS) -> list[dict[str, Any]]:
    """Event Grid dead letters, newest first (by last attempt), as page rows; CloudEvents' ``type`` is shown as
    ``eventType`` like Event Grid schema's."""
    newest = sorted(letters, key=lambda letter: str(letter.get("lastDeliveryAttemptTime", "")), reverse=True)
    rows = []
    for letter in newest[:limit]:
        row = {field: _short(letter.get(field)) for field in EVENT_FIELDS}
        row["eventType"] = _short(letter.get("eventType", letter.get("type")))
        rows.append(row)
    return rows


def dead_lettered_entities(depths: dict[str, Any]) -> dict[str, int]:
    """Entity path (lower-case) → messages in its dead-letter queue, for the entities that have any
    (from the broker's ``GET /entities``)."""
    found = {}
    for path, counts in depths.get("entities", {}).items():
        count = _int(counts.get("deadLettered") if isinstance(counts, dict) else 0)
        if count:
            found[str(path).lower()] = count
    return found


def _short(value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_TEXT:
        return value[:MAX_TEXT] + "…"
    return value if value is None or isinstance(value, str | int | float | bool) else str(value)


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
