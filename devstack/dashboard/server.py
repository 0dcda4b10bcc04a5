"""Composition root: the span store and the HTTP routes, served until a signal."""
from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path

from aiohttp import web
from aiohttp.typedefs import Handler

from devstack.dashboard.http.otlp import MAX_REQUEST_BYTES
from devstack.dashboard.http.routes import Routes
from devstack.dashboard.sources import Sources
from devstack.dashboard.store.spans import DEFAULT_MAX_SPANS, SpanStore

log = logging.getLogger(__name__)

DATABASE_NAME = "spans.sqlite3"


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """aiohttp's own refusals under /api/ (no such route, wrong method, bad query) as JSON ``{"error", "message"}``,
    like the answers the handlers write themselves."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if not request.path.startswith("/api/") or exc.status < 400:
            raise
        message = exc.text if exc.text and not exc.text.startswith(f"{exc.status}:") else exc.reason
        headers = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
        return web.json_response({"error": "".join(exc.reason.split()), "message": message}, status=exc.status,
                                 headers=headers)


def build_app(store: SpanStore, sources: Sources | None = None) -> web.Application:
    """The aiohttp application over ``store``."""
    # One byte over the limit lets an oversized body reach our own 413 with a clear message.
    app = web.Application(client_max_size=MAX_REQUEST_BYTES + 1, middlewares=[json_errors])
    Routes(store, sources=sources).install(app)
    return app


async def serve(data_dir: Path, host: str, port: int, max_spans: int = DEFAULT_MAX_SPANS,
                sources: Sources | None = None) -> None:
    """Run the dashboard until SIGINT/SIGTERM."""
    store = SpanStore(data_dir / DATABASE_NAME, max_spans)
    runner = web.AppRunner(build_app(store, sources), access_log=None)
    await runner.setup()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await web.TCPSite(runner, host, port).start()
        log.info("dashboard on http://%s:%d/ (OTLP/HTTP traces: POST /v1/traces)", host, port)
        await stop.wait()
    finally:
        await runner.cleanup()
        store.close()
        log.info("stopped")
