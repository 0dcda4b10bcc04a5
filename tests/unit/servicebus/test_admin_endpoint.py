"""The broker's admin endpoint (admin/): the snapshot hand-off between the loop thread and HTTP threads, and the
JSON it serves, including its answers to bad requests. A thread stands in for the broker's loop."""
from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from devstack.servicebus.admin.server import MAX_CONNECTIONS, AdminServer
from devstack.servicebus.admin.snapshots import SnapshotBoard, SnapshotUnavailable
from devstack.servicebus.core.depths import DepthSnapshot, EntityDepth

SNAPSHOT = DepthSnapshot(1_700_000_000.0, (EntityDepth("q", "queue", active=2, scheduled=1, dead_lettered=3),
                                           EntityDepth("t", "topic", scheduled=4)))


class Loop:
    """A stand-in for the broker's loop thread: calls ``board.on_tick`` every ``tick`` seconds, and records which
    thread counted."""

    def __init__(self, board: SnapshotBoard[DepthSnapshot] | None = None, tick: float = 0.01) -> None:
        self.counted_on: list[str] = []
        self.board: SnapshotBoard[DepthSnapshot] = board or SnapshotBoard(self.measure)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(tick,), name="fake-loop", daemon=True)

    def measure(self) -> DepthSnapshot:
        self.counted_on.append(threading.current_thread().name)
        return SNAPSHOT

    def _run(self, tick: float) -> None:
        while not self._stop.wait(tick):
            self.board.on_tick()

    def __enter__(self) -> Loop:
        self._thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self._stop.set()
        self._thread.join(5)


@pytest.fixture()
def served() -> Iterator[tuple[str, Loop]]:
    with Loop() as loop:
        server = AdminServer("127.0.0.1", 0, loop.board)
        server.start()
        try:
            yield f"http://127.0.0.1:{server.port}", loop
        finally:
            server.close()


def get(url: str, method: str = "GET") -> tuple[int, dict[str, str], Any]:
    request = urllib.request.Request(url, method=method, data=b"{}" if method == "POST" else None)
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, dict(reply.headers), json.loads(reply.read())
    except urllib.error.HTTPError as refused:
        return refused.code, dict(refused.headers), json.loads(refused.read())


def raw(url: str, data: bytes) -> tuple[int, Any]:
    """Send ``data`` as the whole request; the status and JSON body of the answer."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(data)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


def test_counts_are_taken_on_the_loop_thread_only_when_asked() -> None:
    loop = Loop()
    with loop:
        time.sleep(0.1)
        assert loop.counted_on == []  # nobody asked: nothing counted
        assert loop.board.latest(timeout=5) is SNAPSHOT
    assert loop.counted_on == ["fake-loop"]


def test_a_fresh_snapshot_is_served_again_and_a_stale_one_is_retaken() -> None:
    now = [0.0]
    counted: list[float] = []

    def measure() -> DepthSnapshot:
        counted.append(now[0])
        return DepthSnapshot(now[0], ())

    board: SnapshotBoard[DepthSnapshot] = SnapshotBoard(measure, max_age=0.5, clock=lambda: now[0])
    with Loop(board):
        assert board.latest(timeout=5).taken_at == 0.0
        now[0] = 0.4
        assert board.latest(timeout=5).taken_at == 0.0 and counted == [0.0]  # young enough: served again
        now[0] = 0.6
        assert board.latest(timeout=5).taken_at == 0.6 and counted == [0.0, 0.6]


def test_a_loop_that_never_ticks_or_a_count_that_fails_is_unavailable_not_a_hang() -> None:
    board: SnapshotBoard[DepthSnapshot] = SnapshotBoard(lambda: SNAPSHOT)
    started = time.monotonic()
    with pytest.raises(SnapshotUnavailable, match=r"no snapshot within 0\.2 s"):
        board.latest(timeout=0.2)
    assert time.monotonic() - started < 2

    def broken() -> DepthSnapshot:
        raise RuntimeError("bug")

    failing: SnapshotBoard[DepthSnapshot] = SnapshotBoard(broken)
    with Loop(failing), pytest.raises(SnapshotUnavailable, match="RuntimeError: bug"):
        failing.latest(timeout=5)


def test_entities_and_health_are_json(served: tuple[str, Loop]) -> None:
    url, _ = served
    status, headers, body = get(url + "/entities")
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert body == {"takenAt": 1_700_000_000.0, "entities": {
        "q": {"kind": "queue", "active": 2, "scheduled": 1, "deadLettered": 3, "locked": 0, "deferred": 0, "total": 6,
              "sessions": 0, "receivers": 0},
        "t": {"kind": "topic", "active": 0, "scheduled": 4, "deadLettered": 0, "locked": 0, "deferred": 0, "total": 4,
              "sessions": 0, "receivers": 0}}}
    assert get(url + "/entities/?x=1")[2] == body  # a trailing slash and a query string are ignored
    assert get(url + "/health")[:3:2] == (200, {"status": "ok"})


def test_bad_requests_get_a_json_4xx(served: tuple[str, Loop]) -> None:
    url, _ = served
    status, _, body = get(url + "/queues")
    assert (status, body["error"]) == (404, "NotFound")
    status, headers, body = get(url + "/entities", method="POST")
    assert (status, body["error"], headers["Allow"]) == (405, "MethodNotAllowed", "GET")
    status, body = raw(url, b"BREW /entities HTTP/1.1\r\nHost: x\r\n\r\n")  # a method http.server has no handler for
    assert (status, body["error"]) == (405, "MethodNotAllowed")
    status, body = raw(url, b"GET /entities HTTP/1.1 extra\r\n\r\n")
    assert (status, body["error"]) == (400, "BadRequest")
    status, body = raw(url, b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n")
    assert (status, body["error"]) == (414, "RequestURITooLong")
    headers = b"".join(b"X-%d: 1\r\n" % n for n in range(150))
    status, body = raw(url, b"GET /entities HTTP/1.1\r\n" + headers + b"\r\n")
    assert status == 431 and body["error"] == "RequestHeaderFieldsTooLarge"
    assert get(url + "/entities")[0] == 200  # and it still serves


def test_an_unavailable_snapshot_is_a_503(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("devstack.servicebus.admin.server.SNAPSHOT_TIMEOUT", 0.2)
    board: SnapshotBoard[DepthSnapshot] = SnapshotBoard(lambda: SNAPSHOT)  # no loop: never published
    server = AdminServer("127.0.0.1", 0, board)
    server.start()
    try:
        status, _, body = get(f"http://127.0.0.1:{server.port}/entities")
    finally:
        server.close()
    assert (status, body["error"]) == (503, "Unavailable")


def test_connections_beyond_the_limit_are_closed_not_given_threads(served: tuple[str, Loop]) -> None:
    url, _ = served
    port = int(url.rsplit(":", 1)[1])
    # Accepted in order, so these hold every slot (each waits for a request line) before the next one comes.
    idle = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(MAX_CONNECTIONS)]
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as extra:
            assert extra.recv(100) == b""  # closed at once, without an answer (nothing sent: a clean FIN, no RST)
    finally:
        for sock in idle:
            sock.close()
    deadline = time.monotonic() + 10
    while get(url + "/health")[0] != 200:  # the slots come back once the idle clients are gone
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_a_taken_port_is_refused_at_construction() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(OSError):
            AdminServer("127.0.0.1", taken.getsockname()[1], SnapshotBoard(lambda: SNAPSHOT))
