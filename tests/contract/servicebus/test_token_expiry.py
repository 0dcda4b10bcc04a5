"""A link lives only as long as its token: lapsed without a put-token renewal, it is detached.

Service Bus AMQP guide, "Claims-based authorization": "When a token expires, Service Bus promptly
drops all links on the connection to the respective entity. To prevent this, the client can replace
the token for the node with a new one at any time through the virtual $cbs management node".
"""
from __future__ import annotations

import contextlib
import time
from typing import Any

import pytest
from azure.core.credentials import AccessToken, AzureSasCredential
from azure.servicebus import ServiceBusClient, ServiceBusMessage
from azure.servicebus.exceptions import ServiceBusAuthenticationError, ServiceBusAuthorizationError
from proton import Endpoint, Message, Timeout
from proton.utils import BlockingConnection, LinkDetached

from tests.contract.servicebus.raw_client import open_connection, put_token_request, sas_token
from tests.support.servicebus import Broker

LIFETIME = 3  # seconds: SAS expiry has whole-second resolution


def authorize(conn: BlockingConnection, broker: Broker, entity: str, expiry: int) -> None:
    requests = conn.create_sender("$cbs", name=f"cbs-{expiry}")
    replies = conn.create_receiver("$cbs", name="cbs-replies") if not hasattr(conn, "cbs_replies") else conn.cbs_replies
    conn.cbs_replies = replies  # type: ignore[attr-defined]
    requests.send(put_token_request(broker, entity, expiry=expiry))
    assert replies.receive(10).properties["status-code"] == 202


def wait_detached(conn: BlockingConnection, link: Any, timeout: float) -> None:
    with contextlib.suppress(LinkDetached):
        conn.wait(lambda: bool(link.state & Endpoint.REMOTE_CLOSED), timeout=timeout)


def test_links_are_detached_with_unauthorized_access_when_their_token_lapses(broker: Broker) -> None:
    conn = open_connection(broker)
    try:
        expiry = int(time.time()) + LIFETIME
        authorize(conn, broker, "token-expiry", expiry)
        sender = conn.create_sender("token-expiry", name="expiring-sender")
        receiver = conn.create_receiver("token-expiry", name="expiring-receiver", credit=0)
        sender.send(Message(body="sent while the token is valid"))
        wait_detached(conn, sender.link, LIFETIME + 5)
        wait_detached(conn, receiver.link, 2)
        for link in (sender.link, receiver.link):
            assert link.state & Endpoint.REMOTE_CLOSED
            assert link.remote_condition is not None
            assert link.remote_condition.name == "amqp:unauthorized-access"
        assert time.time() >= expiry - 1  # not before the token lapsed (whole-second tokens)
    finally:
        conn.close()


def test_a_put_token_renewal_keeps_the_links_open(broker: Broker) -> None:
    conn = open_connection(broker)
    try:
        first_expiry = int(time.time()) + LIFETIME
        authorize(conn, broker, "token-renewal", first_expiry)
        sender = conn.create_sender("token-renewal", name="renewed-sender")
        authorize(conn, broker, "token-renewal", first_expiry + 600)
        # Wait past the first token's expiry (plus two expiry checks), watching for a detach.
        while time.time() < first_expiry + 1.5 and not sender.link.state & Endpoint.REMOTE_CLOSED:
            # process() blocks for the whole timeout when nothing happens: keep it short
            with contextlib.suppress(Timeout):
                conn.wait(lambda: bool(sender.link.state & Endpoint.REMOTE_CLOSED), timeout=0.25)
        assert not sender.link.state & Endpoint.REMOTE_CLOSED
        sender.send(Message(id="after-renewal", body="ok"))
    finally:
        conn.close()
    with ServiceBusClient.from_connection_string(broker.connection_string) as client, \
            client.get_queue_receiver("token-renewal") as receiver:
        [message] = receiver.receive_messages(max_wait_time=5)
        assert message.message_id == "after-renewal"
        receiver.complete_message(message)


class ShortLivedSas:
    """A TokenCredential handing out SAS tokens that live ``LIFETIME`` seconds: the SDK must renew."""

    def __init__(self, broker: Broker) -> None:
        self.broker = broker
        self.issued = 0

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        expiry = int(time.time()) + LIFETIME
        self.issued += 1
        return AccessToken(sas_token(f"sb://127.0.0.1:{self.broker.port}/token-sdk", expiry), expiry)


def test_sdk_with_a_renewable_credential_keeps_sending_past_a_token_lifetime(broker: Broker) -> None:
    credential = ShortLivedSas(broker)
    with ServiceBusClient(f"127.0.0.1:{broker.port}", credential, use_tls=False) as client, \
            client.get_queue_sender("token-sdk") as sender:
        deadline = time.monotonic() + 3 * LIFETIME
        sent = 0
        while time.monotonic() < deadline:
            sender.send_messages(ServiceBusMessage(f"m{sent}"))
            sent += 1
            time.sleep(0.2)  # pacing, not waiting: a send every 0.2 s across three token lifetimes
    assert credential.issued >= 2, "the SDK never needed a new token"
    with ServiceBusClient.from_connection_string(broker.connection_string) as client, \
            client.get_queue_receiver("token-sdk") as receiver:
        got = 0
        while got < sent:
            batch = receiver.receive_messages(max_message_count=100, max_wait_time=3)
            if not batch:
                break
            for message in batch:
                receiver.complete_message(message)
            got += len(batch)
    assert got == sent


def test_sdk_with_a_fixed_token_is_refused_once_it_lapses(broker: Broker) -> None:
    expiry = int(time.time()) + LIFETIME
    token = AzureSasCredential(sas_token(f"sb://127.0.0.1:{broker.port}/token-sdk", expiry))
    with ServiceBusClient(f"127.0.0.1:{broker.port}", token, use_tls=False, retry_total=1) as client, \
            client.get_queue_sender("token-sdk") as sender:
        sender.send_messages(ServiceBusMessage("before expiry"))
        with pytest.raises((ServiceBusAuthenticationError, ServiceBusAuthorizationError)):
            deadline = time.monotonic() + LIFETIME + 10
            while time.monotonic() < deadline:
                sender.send_messages(ServiceBusMessage("after expiry?"))
                time.sleep(0.2)  # pacing between sends until the lapsed token is refused
    with ServiceBusClient.from_connection_string(broker.connection_string) as client, \
            client.get_queue_receiver("token-sdk") as receiver:
        for message in receiver.receive_messages(max_message_count=100, max_wait_time=2):
            receiver.complete_message(message)
