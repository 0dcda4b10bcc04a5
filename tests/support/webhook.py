"""The tests' one Event Grid webhook subscriber: an aiohttp server on a free loopback port, in its own thread.

It answers Event Grid's validation handshake (echoing ``validationCode``) and the CloudEvents OPTIONS
handshake the way a well-behaved subscriber does, records every notification, and answers each with
the next status from a script (200 once the script runs out), so tests can make it fail on purpose.
It answers on every path, so a subscription may point at ``url`` or at any path on ``port`` (such as the
Functions host's ``/runtime/webhooks/EventGrid?functionName=...``).

    with running(Webhook(statuses=[500])) as hook:
        ...  # an Event Grid subscription delivering to hook.url
        [first] = hook.wait_for_notifications(1)
        events = hook.wait_for_events(lambda events: any(e["subject"] == "deliveries/d-1" for e in events))
"""
from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.support.processes import free_port


@dataclass
class Received:
    """One request the subscriber got."""

    method: str
    headers: dict[str, str]
    body: Any
    status: int = 0  # what the subscriber answered (0 until it has)


@dataclass
class Webhook:
    """Scriptable subscriber; ``statuses`` are consumed one per notification."""

    port: int = field(default_factory=free_port)
    statuses: list[int] = field(default_factory=list)
    validate: bool = True
    bad_validation_answers: list[bytes] = field(default_factory=list)  # 200 answers for the first handshakes
    hang_first: int = 0  # this many notifications get no answer for ``hang_seconds``
    hang_seconds: float = 5.0
    requests: list[Received] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        """Where Event Grid should deliver."""
        return f"http://127.0.0.1:{self.port}/api/updates"

    def notifications(self) -> list[Received]:
        """Delivered events (not handshakes)."""
        with self._lock:
            return [r for r in self.requests if r.headers.get("aeg-event-type") == "Notification"]

    def handshakes(self) -> list[Received]:
        """Validation requests (POST SubscriptionValidation or OPTIONS)."""
        with self._lock:
            return [r for r in self.requests
                    if r.method == "OPTIONS" or r.headers.get("aeg-event-type") == "SubscriptionValidation"]

    def wait_for(self, condition: Callable[[], bool], timeout: float = 20.0, what: str = "condition") -> None:
        """Poll ``condition`` until true, or fail with what was received."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            time.sleep(0.02)
        raise AssertionError(f"timed out waiting for {what}; received {len(self.requests)} request(s)")

    def wait_for_notifications(self, count: int, timeout: float = 20.0) -> list[Received]:
        """Block until at least ``count`` notifications arrived; return them."""
        self.wait_for(lambda: len(self.notifications()) >= count, timeout, f"{count} notification(s)")
        return self.notifications()

    def events(self) -> list[dict[str, Any]]:
        """Every delivered event, in arrival order (a notification holds one; Event Grid schema wraps it in a list)."""
        return [event for received in self.notifications()
                for event in (received.body if isinstance(received.body, list) else [received.body])]

    def wait_for_events(self, predicate: Callable[[list[dict[str, Any]]], bool],
                        timeout: float = 20.0) -> list[dict[str, Any]]:
        """Block until ``predicate(events())`` holds; return the events it held for."""
        snapshot: list[dict[str, Any]] = []

        def holds() -> bool:
            nonlocal snapshot
            snapshot = self.events()
            return predicate(snapshot)

        self.wait_for(holds, timeout, "the expected events")
        return snapshot

    async def handle(self, request: web.Request) -> web.Response:
        """Record the request; answer handshakes, then scripted statuses."""
        raw = await request.read()
        body = json.loads(raw) if raw else None
        received = Received(request.method, dict(request.headers), body)
        with self._lock:
            self.requests.append(received)
        if request.method == "OPTIONS":
            origin = request.headers.get("WebHook-Request-Origin", "")
            headers = {"WebHook-Allowed-Origin": origin} if self.validate else {}
            return web.Response(status=200, headers=headers)
        if request.headers.get("aeg-event-type") == "SubscriptionValidation":
            if not self.validate:
                return web.Response(status=404)
            with self._lock:
                bad = self.bad_validation_answers.pop(0) if self.bad_validation_answers else None
            if bad is not None:
                return web.Response(status=200, body=bad, content_type="application/json", charset="utf-8")
            return web.json_response({"validationResponse": body[0]["data"]["validationCode"]})
        with self._lock:
            status = self.statuses.pop(0) if self.statuses else 200
            hang, self.hang_first = self.hang_first > 0, max(0, self.hang_first - 1)
            received.status = status
        if hang:
            await asyncio.sleep(self.hang_seconds)
        return web.Response(status=status)


@contextmanager
def running(webhook: Webhook) -> Iterator[Webhook]:
    """Serve ``webhook`` in a background thread for the duration of the block."""
    loop = asyncio.new_event_loop()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", webhook.handle)
    runner = web.AppRunner(app, access_log=None)
    started = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", webhook.port).start())
        started.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())
        loop.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    if not started.wait(10):
        raise RuntimeError("webhook receiver did not start")
    try:
        yield webhook
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
