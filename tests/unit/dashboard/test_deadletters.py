"""Dead letters as the dashboard lists them (core/deadletters.py), and where the dead-letter desk takes its settings
from (dlq_desk.py, sources.py)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from devstack.dashboard.core.deadletters import MAX_TEXT, dead_lettered_entities, event_rows, record_rows
from devstack.dashboard.dlq_desk import entity_path
from devstack.dashboard.sources import sources_from
from devstack.eventgrid.core.errors import ConfigError

REPO = Path(__file__).resolve().parents[3]
COSMOS = "AccountEndpoint=http://127.0.0.1:1/;AccountKey=a2V5;"
SERVICEBUS = "Endpoint=sb://127.0.0.1:2;SharedAccessKeyName=k;SharedAccessKey=v;UseDevelopmentEmulator=true;"


def record(n: int, **fields: object) -> dict[str, object]:
    return {"id": f"package:m{n}", "entity": "package", "deadLetterReason": "PackageRejected",
            "deadLetterDescription": "weight 40.0 kg is over the 25.0 kg limit", "reasonCode": "PackageRejected",
            "action": "Recorded", "deliveryId": f"d-{n}", "messageId": f"m{n}", "requiresOperator": False,
            "recordedAt": f"2026-01-01T00:00:{n:02d}Z", "body": "x" * 10_000, "_etag": f'"etag-{n}"',
            "_rid": "internal", **fields}


def test_records_become_rows_with_their_etag_and_without_the_body() -> None:
    rows = record_rows([record(2, redriveCount=3, requiresOperator=True), record(1)])
    assert rows[0] == {"id": "package:m2", "entity": "package", "reason": "PackageRejected",
                       "description": "weight 40.0 kg is over the 25.0 kg limit", "reasonCode": "PackageRejected",
                       "action": "Recorded", "deliveryId": "d-2", "messageId": "m2", "subject": None,
                       "recordedAt": "2026-01-01T00:00:02Z", "requiresOperator": True, "redriveCount": 3,
                       "lastRedriveMessageId": None, "lastRedrivenAt": None, "lastRedriveError": None,
                       "etag": '"etag-2"'}
    assert rows[1]["redriveCount"] == 0 and rows[1]["requiresOperator"] is False


def test_rows_are_bounded_in_number_and_size() -> None:
    rows = record_rows([record(n, deadLetterDescription="y" * 5000) for n in range(300)], limit=200)
    assert len(rows) == 200
    assert len(rows[0]["description"]) == MAX_TEXT + 1 and rows[0]["description"].endswith("…")
    odd = record_rows([record(1, redriveCount="many", requiresOperator="yes", deliveryId={"nested": 1})])[0]
    assert (odd["redriveCount"], odd["requiresOperator"], odd["deliveryId"]) == (0, False, "{'nested': 1}")


def test_event_grid_dead_letters_newest_first_with_either_schemas_type() -> None:
    letters = [{"id": "e1", "eventType": "Shipped", "lastDeliveryAttemptTime": "2026-01-01T00:00:01Z",
                "deadLetterReason": "MaxDeliveryAttemptsExceeded", "deliveryAttempts": 30, "data": {"big": "x"}},
               {"id": "e2", "type": "Failed", "lastDeliveryAttemptTime": "2026-01-01T00:00:02Z",
                "deadLetterReason": "UndeliverableDueToClientError", "lastHttpStatusCode": 400}]
    rows = event_rows(letters)
    assert [(row["id"], row["eventType"]) for row in rows] == [("e2", "Failed"), ("e1", "Shipped")]
    assert rows[0]["lastHttpStatusCode"] == 400 and "data" not in rows[0]
    assert len(event_rows(letters * 40, limit=50)) == 50


def test_only_entities_with_dead_letters_are_peeked_named_like_the_dlq_tool() -> None:
    depths = {"entities": {"delivery-inbox": {"deadLettered": 0}, "deliveries": {"deadLettered": 0},
                           "deliveries/Subscriptions/package": {"deadLettered": 2}, "odd": "not counts"}}
    assert dead_lettered_entities(depths) == {"deliveries/subscriptions/package": 2}
    assert entity_path(("deliveries", "package")) == "deliveries/subscriptions/package"
    assert entity_path(("delivery-inbox", None)) == "delivery-inbox"


def test_the_desk_needs_both_connections_and_the_topology() -> None:
    config = REPO / "resources" / "Config.json"
    on = sources_from({"ServiceBusConnection": SERVICEBUS, "CosmosDBConnection": COSMOS}, servicebus_config=config)
    assert on.desk is not None and on.desk.conn.database == "drone-delivery"
    assert on.desk.targets["package"].entity == "deliveries" and on.desk.targets["delivery-inbox"].kind == "queue"
    off = sources_from({"CosmosDBConnection": COSMOS}, servicebus_config=config)
    assert off.desk is None and "missing setting(s) ServiceBusConnection" in off.desk_off
    assert "--servicebus-config" in sources_from({}).desk_off


def test_event_grid_subscriptions_and_keys_come_from_the_emulators_own_config(tmp_path: Path) -> None:
    sources = sources_from({"EVENTGRID_TOPIC_KEY": "c2VjcmV0"}, eventgrid_url="http://127.0.0.1:3",
                           eventgrid_config=REPO / "resources" / "eventgrid.json")
    [subscription] = sources.eventgrid_subscriptions
    assert (subscription.topic, subscription.subscription, subscription.key) == \
        ("delivery-events", "notifications", "c2VjcmV0")
    bad = tmp_path / "eventgrid.json"
    bad.write_text(json.dumps({"topics": "none"}))
    with pytest.raises(ConfigError):
        sources_from({}, eventgrid_config=bad)
    broken = tmp_path / "Config.json"
    broken.write_text("{}")
    with pytest.raises(KeyError):
        sources_from({}, servicebus_config=broken)
