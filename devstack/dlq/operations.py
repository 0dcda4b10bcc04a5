"""Dead-letter operations on real endpoints, through the Azure SDKs (as an operator's script would)."""
from __future__ import annotations

import datetime as dt
from typing import Any

from azure.cosmos import CosmosClient
from azure.servicebus import ServiceBusClient, ServiceBusMessage, ServiceBusSubQueue

from devstack.dlq.connections import Connections
from devstack.dlq.topology import Target

RECORDS_CONTAINER = "deadletters"


def _records(conn: Connections) -> Any:
    client = CosmosClient(conn.cosmos_endpoint, conn.cosmos_key)
    return client.get_database_client(conn.database).get_container_client(RECORDS_CONTAINER)


def list_records(conn: Connections, operator_only: bool = False) -> list[dict[str, Any]]:
    """Remediation's records, newest first (optionally only those flagged for an operator)."""
    query = "SELECT * FROM c" + (" WHERE c.requiresOperator = true" if operator_only else "")
    rows = list(_records(conn).query_items(query, enable_cross_partition_query=True))
    return sorted(rows, key=lambda row: str(row.get("recordedAt", "")), reverse=True)


def read_record(conn: Connections, record_id: str) -> dict[str, Any]:
    """One record by id (partition key /id); raises azure.cosmos CosmosResourceNotFoundError."""
    return _records(conn).read_item(record_id, partition_key=record_id)


def redrive_message_id(record: dict[str, Any]) -> str:
    """A new MessageId for each redrive (DESIGN: a redrive gets a new MessageId), so duplicate
    detection does not drop it and Remediation keys a fresh record if it dead-letters again."""
    return f"{record.get('messageId') or record['id']}:redrive:{int(record.get('redriveCount', 0)) + 1}"


def redrive(conn: Connections, record: dict[str, Any], target: Target) -> str:
    """Resend the recorded message to ``target`` and mark the record; returns the new MessageId."""
    message_id = redrive_message_id(record)
    message = ServiceBusMessage(
        record.get("body", ""), message_id=message_id, subject=record.get("subject"),
        session_id=record.get("sessionId"),
        application_properties={**(record.get("applicationProperties") or {}),
                                "RedrivenFrom": record["id"]})
    with ServiceBusClient.from_connection_string(conn.servicebus) as client:
        sender = (client.get_queue_sender(target.entity) if target.kind == "queue"
                  else client.get_topic_sender(target.entity))
        with sender:
            sender.send_messages(message)
    # Only after the send succeeded: a failed send leaves the record as it was, to be retried.
    marked = {**record, "redriveCount": int(record.get("redriveCount", 0)) + 1,
              "lastRedriveMessageId": message_id,
              "lastRedrivenAt": dt.datetime.now(dt.timezone.utc).isoformat()}
    _records(conn).replace_item(record["id"], marked, etag=record.get("_etag"),
                                match_condition=_if_match())
    return message_id


def _if_match() -> Any:
    from azure.core import MatchConditions  # local: only redrive needs it
    return MatchConditions.IfNotModified


def peek_broker(conn: Connections, paths: list[tuple[str, str | None]], count: int = 100) -> list[dict[str, Any]]:
    """Messages still sitting in the broker's dead-letter queues (not yet taken by Remediation)."""
    rows: list[dict[str, Any]] = []
    with ServiceBusClient.from_connection_string(conn.servicebus) as client:
        for topic_or_queue, subscription in paths:
            receiver = (client.get_subscription_receiver(topic_or_queue, subscription,
                                                         sub_queue=ServiceBusSubQueue.DEAD_LETTER)
                        if subscription else
                        client.get_queue_receiver(topic_or_queue, sub_queue=ServiceBusSubQueue.DEAD_LETTER))
            with receiver:
                for message in receiver.peek_messages(max_message_count=count):
                    rows.append({"entity": f"{topic_or_queue}/{subscription}" if subscription else topic_or_queue,
                                 "messageId": message.message_id, "subject": message.subject,
                                 "reason": message.dead_letter_reason,
                                 "description": message.dead_letter_error_description})
    return rows
