"""Composition root: wire config, store, core service, dispatcher and HTTP routes, serve until a signal."""
from __future__ import annotations

import asyncio
import logging
import signal
import time
from pathlib import Path
from typing import Any

from aiohttp import web

from devstack.eventgrid.core.config import EventGridConfig
from devstack.eventgrid.core.events import MAX_REQUEST_BYTES
from devstack.eventgrid.core.retry import RetryPlanner
from devstack.eventgrid.core.service import EventGridService
from devstack.eventgrid.http.delivery import Dispatcher
from devstack.eventgrid.http.routes import Routes
from devstack.eventgrid.store.outbox import Outbox

log = logging.getLogger(__name__)

DATABASE_NAME = "eventgrid.sqlite3"


async def serve(config: EventGridConfig, data_dir: Path, host: str, port: int, time_scale: float,
                delivery_timeout: float = 30.0) -> None:
    """Run the Event Grid emulator until SIGINT/SIGTERM."""
    outbox = Outbox(data_dir / DATABASE_NAME)
    service = EventGridService(config, outbox, RetryPlanner(time_scale), time.time)
    dispatcher = Dispatcher(service, timeout=delivery_timeout)
    service.on_enqueued(dispatcher.wake)
    # Allow one byte over the limit so an oversized body reaches our own 413 with a clear message.
    app = web.Application(client_max_size=MAX_REQUEST_BYTES + 1)
    Routes(service).install(app)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    delivering = asyncio.ensure_future(dispatcher.run())
    try:
        await web.TCPSite(runner, host, port).start()
        log.info("listening on http://%s:%d (%d topic(s), time scale %g)", host, port, len(config.topics),
                 time_scale)
        await _until_stopped(stop, delivering)
    finally:
        await dispatcher.stop()
        await asyncio.gather(delivering, return_exceptions=True)
        await runner.cleanup()
        outbox.close()
        log.info("stopped")


async def _until_stopped(stop: asyncio.Event, delivering: asyncio.Future[None]) -> None:
    """Wait for a signal; if the dispatcher dies first, surface its error instead of hanging."""
    waiter = asyncio.ensure_future(stop.wait())
    either: set[asyncio.Future[Any]] = {waiter, delivering}
    done, _ = await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
    waiter.cancel()
    if delivering in done:
        delivering.result()
