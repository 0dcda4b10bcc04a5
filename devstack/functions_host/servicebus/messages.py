"""Turn a received SDK message into what the function's trigger parameter asks for."""
from __future__ import annotations

import json
from typing import Any

import azure.functions as func
from azure.functions.servicebus import ServiceBusMessage as FunctionsMessage
from azure.servicebus import ServiceBusReceivedMessage
from azure.servicebus.amqp import AmqpMessageBodyType


def message_body(message: ServiceBusReceivedMessage) -> bytes:
    """The message body as bytes (data sections joined; a value body JSON-encoded)."""
    body = message.body
    if message.body_type == AmqpMessageBodyType.DATA:
        return b"".join(body) if not isinstance(body, (bytes, bytearray)) else bytes(body)
    if isinstance(body, (bytes, bytearray)):
        return bytes(body)
    if isinstance(body, str):
        return body.encode()
    return json.dumps(body, default=str).encode()


def _text(value: Any) -> Any:
    return value.decode("utf-8", "replace") if isinstance(value, (bytes, bytearray)) else value


def application_properties(message: ServiceBusReceivedMessage) -> dict[str, Any]:
    """Application properties with str keys and str values (the SDK hands received ones as bytes)."""
    return {_text(key): _text(value) for key, value in (message.application_properties or {}).items()}


def binding_data(message: ServiceBusReceivedMessage) -> dict[str, Any]:
    """What the host logs about a message when its function fails."""
    return {"MessageId": message.message_id, "SessionId": message.session_id,
            "DeliveryCount": delivery_count(message), "SequenceNumber": message.sequence_number,
            "Subject": message.subject}


def delivery_count(message: ServiceBusReceivedMessage) -> int:
    """Deliveries so far, counting this one, as the Functions trigger reports it (1 on first delivery).

    The Python SDK surfaces the AMQP header's delivery-count raw (prior failed attempts, 0 at first);
    the extension (.NET) adds one.
    """
    return int(message.delivery_count or 0) + 1


def to_functions_message(message: ServiceBusReceivedMessage) -> func.ServiceBusMessage:
    """A ``func.ServiceBusMessage`` with the properties the worker fills from trigger metadata."""
    properties = application_properties(message)
    return FunctionsMessage(
        body=message_body(message), application_properties=properties, user_properties=properties,
        content_type=message.content_type, correlation_id=message.correlation_id,
        dead_letter_error_description=message.dead_letter_error_description,
        dead_letter_reason=message.dead_letter_reason, dead_letter_source=message.dead_letter_source,
        delivery_count=delivery_count(message), enqueued_sequence_number=message.enqueued_sequence_number,
        enqueued_time_utc=message.enqueued_time_utc, expires_at_utc=message.expires_at_utc,
        label=message.subject, locked_until=message.locked_until_utc, lock_token=str(message.lock_token),
        # azure-functions annotates message_id as str; a message sent without one has None, passed on as is.
        message_id=message.message_id,  # type: ignore[arg-type]
        partition_key=message.partition_key, reply_to=message.reply_to,
        reply_to_session_id=message.reply_to_session_id,
        scheduled_enqueue_time_utc=message.scheduled_enqueue_time_utc, sequence_number=message.sequence_number,
        session_id=message.session_id, state=int(message.state) if message.state is not None else None,
        subject=message.subject, time_to_live=message.time_to_live, to=message.to,
        trigger_metadata={"MessageId": message.message_id, "SessionId": message.session_id,
                          "DeliveryCount": delivery_count(message), "UserProperties": properties},
    )


def trigger_value(message: ServiceBusReceivedMessage, annotation: Any) -> Any:
    """The SDK message itself for ServiceBusReceivedMessage (SDK type), str/bytes bodies, else func's type."""
    if isinstance(annotation, type) and issubclass(annotation, ServiceBusReceivedMessage):
        return message
    if annotation is str:
        return message_body(message).decode("utf-8")
    if annotation is bytes:
        return message_body(message)
    return to_functions_message(message)
