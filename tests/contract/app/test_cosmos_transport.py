"""The Cosmos client's urllib3 transport (adapters/http_transport.py) over real sockets: the azure-core errors the
SDK's retry policies act on, for each way a connection can fail, and whole bodies both ways through the real SDK."""
from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from azure.core.exceptions import ServiceRequestError, ServiceResponseError, ServiceResponseTimeoutError
from azure.core.pipeline.transport import HttpRequest

from adapters.cosmos import CosmosContainers
from adapters.http_transport import Urllib3Transport
from core.settings import Settings
from tests.support.cosmos import CosmosEmulator
from tests.support.processes import free_port


@contextmanager
def listening(behaviour: str) -> Iterator[int]:
    """A loopback server that accepts connections and then, per ``behaviour``, closes each one unanswered
    ("hang up") or reads the request and never answers ("silent")."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    stop = threading.Event()
    held: list[socket.socket] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            conn.recv(65536)
            if behaviour == "hang up":
                conn.close()
            else:
                held.append(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        server.close()


def get(port: int) -> HttpRequest:
    return HttpRequest("GET", f"http://127.0.0.1:{port}/dbs")


def test_a_refused_connection_is_a_request_error_nothing_was_sent() -> None:
    with Urllib3Transport() as transport, pytest.raises(ServiceRequestError) as raised:
        transport.send(get(free_port()), connection_timeout=2, read_timeout=2)
    assert not isinstance(raised.value, ServiceResponseError)


def test_a_connection_closed_before_the_answer_is_a_response_error() -> None:
    with listening("hang up") as port, Urllib3Transport() as transport, pytest.raises(ServiceResponseError):
        transport.send(get(port), connection_timeout=2, read_timeout=2)


def test_no_answer_within_the_read_timeout_is_a_response_timeout() -> None:
    with listening("silent") as port, Urllib3Transport() as transport:
        started = time.monotonic()
        with pytest.raises(ServiceResponseTimeoutError):
            transport.send(get(port), connection_timeout=2, read_timeout=0.3)
        assert time.monotonic() - started < 2


def test_text_outside_latin_1_round_trips_through_the_sdk(cosmos: CosmosEmulator) -> None:
    container = CosmosContainers(Settings.from_env({"CosmosDBConnection": cosmos.connection_string})).container(
        "deliveries")
    item_id = f"text-{uuid.uuid4().hex[:8]}"
    text = "é ü 配送 🚁 \u2028"
    container.create({"id": item_id, "note": text})
    assert container.read(item_id, item_id)["note"] == text  # type: ignore[index]
    saved = container.replace({"id": item_id, "note": text * 2})
    assert saved["note"] == text * 2 and container.read(item_id, item_id)["note"] == text * 2  # type: ignore[index]
