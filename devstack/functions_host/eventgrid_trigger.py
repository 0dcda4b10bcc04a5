"""Event Grid triggers at `/runtime/webhooks/EventGrid?functionName=<name>`, as the host serves them.

Handshakes follow https://learn.microsoft.com/azure/event-grid/webhook-event-delivery: Event Grid
schema subscriptions send `aeg-event-type: SubscriptionValidation` and expect
`{"validationResponse": code}`; CloudEvents 1.0 subscriptions send an HTTP OPTIONS request with
`WebHook-Request-Origin` and expect it echoed in `WebHook-Allowed-Origin`.
"""
from __future__ import annotations

import json
import logging
from typing import Any

from aiohttp import web
from azure.functions import meta
from azure.functions.eventgrid import EventGridEventInConverter

from devstack.functions_host.errors import InvocationError
from devstack.functions_host.http_triggers import KeyPolicy
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
        if not self._keys.allows("function", request):
            return web.Response(status=401)
        if request.method == "OPTIONS":
            return self._abuse_protection(request)
        if request.method != "POST":
            return web.Response(status=405, headers={"Allow": "POST, OPTIONS"})
        try:
            body = json.loads(await request.read() or b"null")
        except ValueError as exc:
            return _problem(400, f"request body is not JSON: {exc}")
        events = body if isinstance(body, list) else [body]
        if not all(isinstance(event, dict) for event in events):
            return _problem(400, "expected an event object or an array of event objects")
        kind = request.headers.get("aeg-event-type", "Notification")
        if kind == "SubscriptionValidation":
            return self._validation(events)
        if kind == "SubscriptionDeletion":
            return web.Response(status=200)
        return await self._notify(spec, events)

    def _abuse_protection(self, request: web.Request) -> web.Response:
        origin = request.headers.get("WebHook-Request-Origin")
        if not origin:
            return _problem(400, "OPTIONS handshake needs a WebHook-Request-Origin header")
        return web.Response(status=200, headers={"WebHook-Allowed-Origin": origin, "WebHook-Allowed-Rate": "*",
                                                 "Allow": "POST, OPTIONS"})

    def _validation(self, events: list[dict[str, Any]]) -> web.Response:
        code = ((events[0].get("data") or {}) if events else {}).get("validationCode")
        if not code:
            return _problem(400, "SubscriptionValidation event has no data.validationCode")
        log.info("Event Grid subscription validated (code %s)", code)
        return web.json_response({"validationResponse": code})

    async def _notify(self, spec: FunctionSpec, events: list[dict[str, Any]]) -> web.Response:
        failed = 0
        for event in events:
            value = EventGridEventInConverter.decode(meta.Datum(json.dumps(event), "json"), trigger_metadata={})
            binding_data = {"id": event.get("id"), "type": event.get("eventType") or event.get("type"),
                            "subject": event.get("subject")}
            try:
                await self._runner.run(spec, value, binding_data=binding_data)
            except InvocationError:
                failed += 1
        # A failure answers 500 so that Event Grid retries the delivery (at-least-once).
        return web.Response(status=500 if failed else 200)


def _problem(status: int, detail: str) -> web.Response:
    return web.json_response({"status": status, "detail": detail}, status=status)
