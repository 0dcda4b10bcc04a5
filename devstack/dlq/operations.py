"""Dead-letter operations on real endpoints, through the Azure SDKs (as an operator's script would)."""
from __future__ import annotations

import datetime as dt
from typing import Any

from azure.core import MatchConditions
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


def redrive(conn: Connections, record: dict[str, Any], target: Target) -> str:
    """Claim the record, then resend its message to ``target``; returns the new MessageId.

    The MessageId is new for every redrive (DESIGN: a redrive gets a new MessageId), so duplicate
    detection does not drop it and Remediation keys a fresh record if it dead-letters again. It is
    built from the record id, not the message's id: one dead message leaves a record per entity, and
    redriving two of them must not produce the same MessageId (the second would be dropped as a
    duplicate). The claim is an ETag-conditional replace made *before* sending, so two operators
    redriving the same record at once cannot both send (the loser gets PreconditionFailed).
    """
    count = int(record.get("redriveCount", 0)) + 1
    message_id = f"{record['id']}:redrive:{count}"
    claimed = {**record, "redriveCount": count, "lastRedriveMessageId": message_id,
               "lastRedrivenAt": dt.datetime.now(dt.UTC).isoformat()}
    claimed.pop("lastRedriveError", None)
    container = _records(conn)
    claimed = container.replace_item(record["id"], claimed, etag=record.get("_etag"),
                                     match_condition=MatchConditions.IfNotModified)
    message = ServiceBusMessage(
        record.get("body", ""), message_id=message_id, subject=record.get("subject"),
        session_id=record.get("sessionId"),
        application_properties={**(record.get("applicationProperties") or {}), "RedrivenFrom": record["id"]})
    try:
        with ServiceBusClient.from_connection_string(conn.servicebus) as client:
            sender = (client.get_queue_sender(target.entity) if target.kind == "queue"
                      else client.get_topic_sender(target.entity))
            with sender:
                sender.send_messages(message)
    except Exception as exc:
        # Say on the record that this claim sent nothing; the next redrive takes the next number.
        container.replace_item(record["id"], {**claimed, "lastRedriveError": f"{type(exc).__name__}: {exc}"})
        raise
    return message_id


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
