"""Event Grid triggers at `/runtime/webhooks/EventGrid?functionName=<name>`, as the host serves them.

Handshakes follow https://learn.microsoft.com/azure/event-grid/webhook-event-delivery: Event Grid
schema subscriptions send `aeg-event-type: SubscriptionValidation` and expect
`{"validationResponse": code}`; CloudEvents 1.0 subscriptions send an HTTP OPTIONS request with
`WebHook-Request-Origin` and expect it echoed in `WebHook-Allowed-Origin`.
"""
from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from devstack.functions_host.errors import InvocationError
from devstack.functions_host.eventgrid.payload import (
    MAX_WEBHOOK_BYTES,
    WebhookRejected,
    decode_events,
    too_large,
    trigger_values,
    validation_code,
)
from devstack.functions_host.http.triggers import KeyPolicy
from devstack.functions_host.metadata import FunctionSpec
from devstack.functions_host.runner import FunctionRunner

log = logging.getLogger(__name__)
WEBHOOK_PATH = "/runtime/webhooks/eventgrid"


class EventGridTriggers:
    """The Event Grid webhook endpoint of the host."""

    def __init__(self, specs: list[FunctionSpec], keys: KeyPolicy, runner: FunctionRunner) -> None:
        self._functions = {s.name.lower(): s for s in specs if s.trigger.type == "eventGridTrigger"}
        self._keys = keys
        self._runner = runner

    async def handle(self, request: web.Request) -> web.Response:
        """Answer a handshake or invoke the function once per event (500 if any invocation fails)."""
        spec = self._functions.get(request.query.get("functionName", "").lower())
        if spec is None:
            return _problem(404, f"no Event Grid triggered function {request.query.get('functionName')!r}")
        # The real host protects this endpoint with the eventgrid_extension system key.
        if (refusal := self._keys.refusal("function", request)) is not None:
            return _problem(401, refusal)
        if request.method == "OPTIONS":
            return self._abuse_protection(request)
        if request.method != "POST":
            return web.Response(status=405, headers={"Allow": "POST, OPTIONS"})
        try:
            events = decode_events(await _read_bounded(request))
            kind = request.headers.get("aeg-event-type", "Notification")
            if kind == "SubscriptionValidation":
                return self._validation(events)
            if kind == "SubscriptionDeletion":
                return web.Response(status=200)
            return await self._notify(spec, events, trigger_values(events))
        except WebhookRejected as exc:
            log.info("%s %s -> %d: %s", request.method, request.path_qs, exc.status, exc)
            return _problem(exc.status, str(exc))

    def _abuse_protection(self, request: web.Request) -> web.Response:
        origin = request.headers.get("WebHook-Request-Origin")
        if not origin:
            return _problem(400, "OPTIONS handshake needs a WebHook-Request-Origin header")
        return web.Response(status=200, headers={"WebHook-Allowed-Origin": origin, "WebHook-Allowed-Rate": "*",
                                                 "Allow": "POST, OPTIONS"})

    def _validation(self, events: list[dict[str, Any]]) -> web.Response:
        code = validation_code(events)
        log.info("Event Grid subscription validated (code %s)", code)
        return web.json_response({"validationResponse": code})

    async def _notify(self, spec: FunctionSpec, events: list[dict[str, Any]], values: list[Any]) -> web.Response:
        failed = 0
        for event, value in zip(events, values, strict=True):
            binding_data = {"id": event.get("id"), "type": event.get("eventType") or event.get("type"),
                            "subject": event.get("subject")}
            try:
                await self._runner.run(spec, value, binding_data=binding_data)
            except InvocationError:
                failed += 1
        # A failure answers 500 so that Event Grid retries the delivery (at-least-once).
        return web.Response(status=500 if failed else 200)


async def _read_bounded(request: web.Request) -> bytes:
    """The body, read only up to the webhook's limit: a bigger one is refused without buffering it."""
    if request.content_length is not None and request.content_length > MAX_WEBHOOK_BYTES:
        raise too_large(request.content_length)
    body = bytearray()
    while chunk := await request.content.read(64 * 1024):
        body += chunk
        if len(body) > MAX_WEBHOOK_BYTES:  # chunked, or a Content-Length that lied
            raise too_large(None)
    return bytes(body)


def _problem(status: int, detail: str) -> web.Response:
    return web.json_response({"status": status, "detail": detail}, status=status)
