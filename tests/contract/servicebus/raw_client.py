"""A raw proton client for inputs the SDK never produces: hand-made bytes, sessions ended under links."""
from __future__ import annotations

import base64
import hashlib
import hmac
import time
import uuid
from urllib.parse import quote_plus

from proton import Delivery, Message
from proton.utils import BlockingConnection, BlockingSender

from tests.support.servicebus import KEY, KEY_NAME, Broker


def sas_token(uri: str, expiry: int | None = None) -> str:
    """A SAS token for ``uri`` signed with the test key, valid until ``expiry`` (default: an hour)."""
    se = str(expiry if expiry is not None else int(time.time()) + 3600)
    signature = base64.b64encode(hmac.new(KEY.encode(), f"{quote_plus(uri)}\n{se}".encode(),
                                          hashlib.sha256).digest()).decode()
    return (f"SharedAccessSignature sr={quote_plus(uri)}&sig={quote_plus(signature)}&se={se}"
            f"&skn={KEY_NAME}")


def put_token_request(broker: Broker, entity: str = "", *, token: str | None = None,
                      expiry: int | None = None) -> Message:
    """A CBS put-token request for one entity (default: the whole namespace)."""
    uri = f"sb://127.0.0.1:{broker.port}/{entity}"
    return Message(body=token if token is not None else sas_token(uri, expiry), reply_to="cbs-replies",
                   id=f"put-token-{uuid.uuid4()}",
                   properties={"operation": "put-token", "type": "servicebus.windows.net:sastoken", "name": uri})


def open_connection(broker: Broker) -> BlockingConnection:
    """An unauthorized connection (SASL ANONYMOUS only)."""
    return BlockingConnection(f"amqp://127.0.0.1:{broker.port}", allowed_mechs="ANONYMOUS", timeout=10)


def connect(broker: Broker) -> BlockingConnection:
    """Open a connection and authorize it for the whole namespace through CBS put-token."""
    conn = open_connection(broker)
    requests = conn.create_sender("$cbs")
    replies = conn.create_receiver("$cbs", name="cbs-replies")
    requests.send(put_token_request(broker))
    reply = replies.receive(10)
    assert reply.properties["status-code"] == 202, reply.properties
    return conn


def send_raw(conn: BlockingConnection, sender: BlockingSender, payload: bytes) -> Delivery:
    """Transfer hand-encoded message bytes and wait for the broker's settled outcome."""
    delivery = sender.link.delivery(uuid.uuid4().bytes)
    sender.link.send(payload)
    sender.link.advance()
    conn.wait(lambda: delivery.remote_state != 0 or delivery.settled, timeout=10, msg="waiting for an outcome")
    return delivery
