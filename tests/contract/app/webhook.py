"""A minimal Event Grid webhook subscriber (stdlib HTTP server in a thread) that records notifications."""
from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Recorder:
    """Events delivered to the webhook, in arrival order."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.events: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def wait_for(self, predicate: Any, timeout: float = 20.0) -> list[dict[str, Any]]:
        """Poll until ``predicate(events)`` holds; fail with what arrived."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                snapshot = list(self.events)
            if predicate(snapshot):
                return snapshot
            time.sleep(0.05)
        raise AssertionError(f"timed out; webhook received {snapshot}")


@contextmanager
def webhook() -> Iterator[Recorder]:
    """Serve on a free loopback port; answer the validation handshake; record notifications."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    recorder = Recorder(server.server_address[1])
    server.recorder = recorder  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield recorder
    finally:
        server.shutdown()
        server.server_close()


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)) or b"null")
        events = body if isinstance(body, list) else [body]
        if self.headers.get("aeg-event-type") == "SubscriptionValidation":
            self._answer(200, {"validationResponse": events[0]["data"]["validationCode"]})
            return
        recorder: Recorder = self.server.recorder  # type: ignore[attr-defined]
        with recorder.lock:
            recorder.events.extend(events)
        self._answer(200, None)

    def _answer(self, status: int, payload: Any) -> None:
        raw = json.dumps(payload).encode() if payload is not None else b""
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, format: str, *args: Any) -> None:
        return
