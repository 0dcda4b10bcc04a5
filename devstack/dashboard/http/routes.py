"""HTTP routes: the OTLP/HTTP receiver, the JSON the pages poll, and the pages themselves (served from static/)."""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from devstack.dashboard.core.deliveries import TraceSummary, state_counts, throughput
from devstack.dashboard.core.timeline import waterfall
from devstack.dashboard.http.deadletters import DeadLetterRoutes
from devstack.dashboard.http.emulators import EmulatorError, eventgrid_status, servicebus_depths
from devstack.dashboard.http.otlp import MAX_REQUEST_BYTES, OtlpError, decode, success
from devstack.dashboard.sources import Sources
from devstack.dashboard.store.spans import SpanStore

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent.parent / "static"
Clock = Callable[[], float]  # seconds since the epoch
COUNTED_DELIVERIES = 5000  # state counts and throughput cover the newest this many deliveries (one page poll)


class Routes:
    """The dashboard's handlers over one store."""

    def __init__(self, store: SpanStore, clock: Clock = time.time, sources: Sources | None = None) -> None:
        self.store, self.clock = store, clock
        self.sources = sources or Sources()

    def install(self, app: web.Application) -> None:
        """Add every route to ``app``."""
        app.router.add_post("/v1/traces", self.export)
        app.router.add_get("/", self.page("index.html"))
        app.router.add_get("/traces/{trace_id}", self.page("trace.html"))
        app.router.add_get("/deliveries/{delivery_id}", self.delivery)
        app.router.add_get("/deadletters", self.page("deadletters.html"))
        app.router.add_get("/api/summary", self.summary)
        app.router.add_get("/api/traces/{trace_id}", self.trace)
        app.router.add_get("/api/emulators", self.emulators)
        app.router.add_get("/health", self.health)
        app.router.add_static("/static/", STATIC)
        sources = self.sources
        DeadLetterRoutes(sources.desk, sources.desk_off, sources.servicebus_admin_url, sources.eventgrid_url,
                         sources.eventgrid_subscriptions).install(app)

    async def export(self, request: web.Request) -> web.Response:
        """OTLP/HTTP ``POST /v1/traces`` (https://opentelemetry.io/docs/specs/otlp/#otlphttp-request)."""
        if (request.content_length or 0) > MAX_REQUEST_BYTES:
            return _refusal(413, f"request larger than {MAX_REQUEST_BYTES} bytes")
        body = await request.read()
        if len(body) > MAX_REQUEST_BYTES:
            return _refusal(413, f"request larger than {MAX_REQUEST_BYTES} bytes")
        try:
            spans = decode(body, request.content_type, request.headers.get("Content-Encoding", ""))
        except OtlpError as exc:
            return _refusal(exc.status, str(exc))
        added = self.store.add(spans)
        log.debug("stored %d of %d span(s)", added, len(spans))
        return web.Response(body=success(request.content_type), content_type=request.content_type)

    def page(self, name: str) -> Callable[[web.Request], Any]:
        """A handler serving one static page."""
        async def handler(_: web.Request) -> web.FileResponse:
            return web.FileResponse(STATIC / name, headers={"Cache-Control": "no-cache"})
        return handler

    async def delivery(self, request: web.Request) -> web.Response:
        """Redirect to the newest trace of a delivery id."""
        found = self.store.recent(limit=1, delivery_id=request.match_info["delivery_id"])
        if not found:
            raise web.HTTPNotFound(text="no trace names that delivery id (yet)")
        raise web.HTTPFound(f"/traces/{found[0].trace_id}")

    async def summary(self, request: web.Request) -> web.Response:
        """Recent deliveries, state counts and throughput, for the index page to poll."""
        now_ns = int(self.clock() * 1e9)
        try:
            limit = max(1, min(int(request.query.get("limit", "50")), 500))
        except ValueError:
            raise web.HTTPBadRequest(text="limit must be a number") from None
        everything = request.query.get("all") == "1"
        window = self.store.recent(limit=COUNTED_DELIVERIES)
        listed = window[:limit] if not everything else self.store.recent(limit=limit, deliveries_only=False)
        return web.json_response({
            "now": now_ns / 1e9, "counts": state_counts(window, now_ns),
            "perMinute": throughput((trace.start_ns for trace in window), now_ns),
            "spansStored": self.store.span_count(),
            "deliveries": [_listing(trace, now_ns) for trace in listed]})

    async def trace(self, request: web.Request) -> web.Response:
        """One trace's waterfall."""
        trace_id = request.match_info["trace_id"].lower()
        summary = self.store.summary(trace_id)
        if summary is None:
            return web.json_response({"error": f"no trace {trace_id}"}, status=404)
        rows = waterfall(self.store.spans(trace_id))
        return web.json_response({**_listing(summary, int(self.clock() * 1e9)),
                                  "spans": [row.view() for row in rows]})

    async def emulators(self, _: web.Request) -> web.Response:
        """The emulators' own figures the dashboard was told where to find (``--eventgrid-url``,
        ``--servicebus-admin-url``), each read at once; a source that fails says why in its own ``error``."""
        found: dict[str, Any] = {}
        sources = self.sources
        if sources.eventgrid_url:
            found["eventgrid"] = await eventgrid_status(sources.eventgrid_url, sources.eventgrid_subscriptions)
        if sources.servicebus_admin_url:
            try:
                found["servicebus"] = await servicebus_depths(sources.servicebus_admin_url)
            except EmulatorError as exc:
                found["servicebus"] = {"error": str(exc)}
        return web.json_response(found)

    async def health(self, _: web.Request) -> web.Response:
        """Liveness plus how much is stored."""
        return web.json_response({"status": "ok", "spans": self.store.span_count()})


def _listing(trace: TraceSummary, now_ns: int) -> dict[str, Any]:
    return {"traceId": trace.trace_id, "deliveryId": trace.delivery_id, "root": trace.root_name,
            "start": trace.start_ns / 1e9, "durationMs": round(trace.duration_ms, 3), "spanCount": trace.span_count,
            "errors": trace.error_count, "services": list(trace.services), "lastService": trace.last_service,
            "state": trace.state(now_ns)}


def _refusal(status: int, message: str) -> web.Response:
    # OTLP/HTTP failures carry a google.rpc.Status; a plain-text message is what the Python exporter logs either way
    # (https://opentelemetry.io/docs/specs/otlp/#failures-1).
    return web.Response(status=status, text=message)
