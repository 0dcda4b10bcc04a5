"""Bad input gets a clear SDK exception and never takes the broker down; SAS tokens are checked."""
from __future__ import annotations

import base64
import hashlib
import hmac
import time
from urllib.parse import quote_plus, urlencode

import pytest
from azure.core.credentials import AzureSasCredential
from azure.servicebus import ServiceBusClient, ServiceBusMessage
from azure.servicebus.exceptions import (
    MessageSizeExceededError,
    MessagingEntityNotFoundError,
    ServiceBusAuthenticationError,
    ServiceBusError,
)

from tests.support.servicebus import KEY, KEY_NAME, Broker, connection_string


def sas_token(uri: str, key: str, expiry: int) -> str:
    to_sign = f"{quote_plus(uri)}\n{expiry}".encode()
    signature = base64.b64encode(hmac.new(key.encode(), to_sign, hashlib.sha256).digest()).decode()
    return "SharedAccessSignature " + urlencode({"sr": uri, "sig": signature, "se": str(expiry), "skn": KEY_NAME})


def assert_broker_serves(client: ServiceBusClient) -> None:
    with client.get_queue_sender("errors") as sender:
        sender.send_messages(ServiceBusMessage("still alive"))
    with client.get_queue_receiver("errors") as receiver:
        [message] = receiver.receive_messages(max_wait_time=5)
        receiver.complete_message(message)


def test_unknown_entity_is_not_found(client: ServiceBusClient) -> None:
    with pytest.raises(MessagingEntityNotFoundError, match="could not be found"):
        with client.get_queue_sender("no-such-queue") as sender:
            sender.send_messages(ServiceBusMessage("x"))
    with pytest.raises(MessagingEntityNotFoundError):
        with client.get_subscription_receiver("orders", "no-such-sub") as receiver:
            receiver.receive_messages(max_wait_time=1)
    assert_broker_serves(client)


def test_message_over_256_kb_is_refused(client: ServiceBusClient) -> None:
    with pytest.raises(MessageSizeExceededError):
        with client.get_queue_sender("errors") as sender:
            sender.send_messages(ServiceBusMessage(b"x" * (300 * 1024)))
    assert_broker_serves(client)


def test_session_less_message_to_session_queue_is_refused(client: ServiceBusClient) -> None:
    with client.get_queue_sender("session-errors") as sender:
        with pytest.raises(ServiceBusError, match="SessionId"):
            sender.send_messages(ServiceBusMessage("no session"))
    assert list(client.list_queue_sessions("session-errors")) == []
    assert_broker_serves(client)


def test_wrong_key_is_refused(broker: Broker) -> None:
    with ServiceBusClient.from_connection_string(connection_string(broker.port, key="wrong-key"),
                                                 retry_total=0) as bad:
        with pytest.raises(ServiceBusAuthenticationError):
            with bad.get_queue_sender("errors") as sender:
                sender.send_messages(ServiceBusMessage("x"))


def test_expired_token_is_refused_and_a_valid_one_accepted(broker: Broker) -> None:
    uri = f"sb://127.0.0.1:{broker.port}/errors"
    namespace = f"127.0.0.1:{broker.port}"
    expired = AzureSasCredential(sas_token(uri, KEY, int(time.time()) - 60))
    with ServiceBusClient(namespace, expired, use_tls=False, retry_total=0) as bad:
        with pytest.raises(ServiceBusAuthenticationError):
            with bad.get_queue_sender("errors") as sender:
                sender.send_messages(ServiceBusMessage("x"))
    valid = AzureSasCredential(sas_token(uri, KEY, int(time.time()) + 300))
    with ServiceBusClient(namespace, valid, use_tls=False, retry_total=0) as good, \
            good.get_queue_sender("errors") as sender:
        sender.send_messages(ServiceBusMessage("signed by hand"))
    with ServiceBusClient.from_connection_string(broker.connection_string) as client, \
            client.get_queue_receiver("errors") as receiver:
        [message] = receiver.receive_messages(max_wait_time=5)
        assert str(message) == "signed by hand"
        receiver.complete_message(message)
