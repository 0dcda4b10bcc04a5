"""The broker's operator endpoint: entity depths as JSON over plain HTTP on loopback (devstack only).

Azure reads these counts through the ATOM management API (``ServiceBusAdministrationClient.
get_queue_runtime_properties``), which the SDK only speaks over HTTPS; devstack does not emulate it. This is a small
read-only stand-in in the style of the Event Grid emulator's ``/health`` (docs/servicebus.md "Admin endpoint"):

    GET /entities  -> {"takenAt": <unix s>, "entities": {"<path>": {"kind", "active", "scheduled", "deadLettered",
                                                                   "locked", "deferred", "total", "sessions",
                                                                   "receivers"}}}
    GET /health    -> {"status": "ok"}

Served from its own threads (stdlib ``http.server``); the counts come from the loop thread through a
SnapshotBoard, never from the core directly. Every answer, errors included, is JSON.
"""
from __future__ import annotations

import json
import logging
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from devstack.servicebus.admin.snapshots import SnapshotBoard, SnapshotUnavailable
from devstack.servicebus.core.depths import DepthSnapshot

log = logging.getLogger(__name__)

SNAPSHOT_TIMEOUT = 5.0  # seconds a request waits for the loop's snapshot before a 503
IDLE_TIMEOUT = 10.0     # seconds a client may take to send its request before its socket is closed
POLL_INTERVAL = 0.5     # how often serve_forever checks for shutdown (bounds how long stopping takes)
MAX_CONNECTIONS = 16    # requests served at once


class AdminServer:
    """``GET /entities`` and ``GET /health`` on ``host:port``, served by a daemon thread until ``close``."""

    def __init__(self, host: str, port: int, board: SnapshotBoard[DepthSnapshot]) -> None:
        self._httpd = _Server((host, port), board)  # binds now: a taken port raises OSError here
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The port listened on (useful with port 0)."""
        return int(self._httpd.server_address[1])

    def start(self) -> None:
        """Serve in the background."""
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": POLL_INTERVAL},
                                        name="servicebus-admin", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop serving and release the port."""
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(5)
        self._httpd.server_close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a slow client never keeps the broker from exiting

    def __init__(self, address: tuple[str, int], board: SnapshotBoard[DepthSnapshot]) -> None:
        super().__init__(address, _Handler)
        self.board = board
        # One thread per connection, at most this many at once: a flood of connections is refused, not given
        # threads.
        self.slots = threading.BoundedSemaphore(MAX_CONNECTIONS)

    def process_request(self, request: Any, client_address: Any) -> None:
        """Serve on a new thread if one of the slots is free; otherwise close the connection at once."""
        if not self.slots.acquire(blocking=False):
            log.warning("admin endpoint: %d requests already in progress; refusing one", MAX_CONNECTIONS)
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self.slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        """ThreadingMixIn's per-connection thread, giving its slot back when done."""
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "devstack-servicebus-admin"
    timeout = IDLE_TIMEOUT  # socket timeout: a client that sends nothing is dropped (no thread held forever)

    def do_GET(self) -> None:
        """The two resources; anything else is a 404."""
        path = urlsplit(self.path).path.rstrip("/") or "/"
        if path == "/entities":
            try:
                snapshot = self.server.board.latest(SNAPSHOT_TIMEOUT)
            except SnapshotUnavailable as exc:
                self._json(HTTPStatus.SERVICE_UNAVAILABLE, {"error": "Unavailable", "message": str(exc)})
                return
            self._json(HTTPStatus.OK, snapshot.view())
        elif path == "/health":
            self._json(HTTPStatus.OK, {"status": "ok"})
        else:
            self._json(HTTPStatus.NOT_FOUND, {"error": "NotFound", "message": f"no resource {path!r}; "
                                              "try GET /entities or GET /health"})

    def do_HEAD(self) -> None:
        """Read-only endpoint: HEAD is refused like every method but GET."""
        self._not_allowed()

    def do_POST(self) -> None:
        """Refused (the body is never read: the connection closes after the answer)."""
        self._not_allowed()

    do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_POST

    def _not_allowed(self) -> None:
        self.close_connection = True
        self._json(HTTPStatus.METHOD_NOT_ALLOWED, {"error": "MethodNotAllowed",
                                                   "message": f"{self.command} is not allowed; use GET"},
                   {"Allow": "GET"})

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own refusals (bad request line, oversized headers, unknown method) as JSON, not HTML."""
        self.close_connection = True
        if self.request_version == "HTTP/0.9":  # the request line did not parse: answer with a status line anyway
            self.request_version = "HTTP/1.0"
        if code == HTTPStatus.NOT_IMPLEMENTED:  # a method http.server has no do_* for: the client's mistake
            self._not_allowed()
            return
        try:
            reason = HTTPStatus(code).phrase
        except ValueError:
            reason = "Error"
        code_name = "".join(ch for ch in reason if ch.isalnum())  # "Request-URI Too Long" -> "RequestURITooLong"
        self._json(code, {"error": code_name, "message": message or explain or reason})

    def _json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Requests are logged at DEBUG (the dashboard polls every second)."""
        log.debug("admin %s - %s", self.address_string(), format % args)
