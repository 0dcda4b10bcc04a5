"""The host's lifecycle: load the app, start every trigger, serve HTTP, stop cleanly."""
from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from devstack.functions_host.errors import StartupError
from devstack.functions_host.eventgrid.triggers import WEBHOOK_PATH, EventGridTriggers
from devstack.functions_host.http.triggers import MAX_HTTP_BODY_BYTES, HttpTriggers, KeyPolicy, http_functions
from devstack.functions_host.invocation import Invoker
from devstack.functions_host.metadata import FunctionSpec, import_app, index_functions
from devstack.functions_host.outputs import OutputSender, service_bus_connection
from devstack.functions_host.runner import FunctionRunner
from devstack.functions_host.servicebus.message_actions import MessageActions, SettlementRegistry
from devstack.functions_host.servicebus.messages import binding_data, trigger_value
from devstack.functions_host.servicebus.ports import ReceiverPort
from devstack.functions_host.servicebus.receivers import EntityAddress, SdkReceiverFactory
from devstack.functions_host.servicebus.triggers import ListenerOptions, ServiceBusListener
from devstack.functions_host.settings import AppSettings, HostOptions, load_host_json
from devstack.functions_host.timer.triggers import TimerTrigger

log = logging.getLogger(__name__)
SHUTDOWN_GRACE_SECONDS = 30.0


@dataclass(frozen=True)
class LoadedApp:
    """A validated app: its options, settings and enabled functions."""

    app_dir: Path
    options: HostOptions
    settings: AppSettings
    functions: list[FunctionSpec]


def load(app_dir: Path, environ: dict[str, str] | None = None) -> LoadedApp:
    """Read host.json and settings, export settings to the environment, import and index the app."""
    app_dir = app_dir.resolve()
    if not app_dir.is_dir():
        raise StartupError(f"app directory {app_dir} does not exist")
    settings = AppSettings.load(app_dir, environ)
    options = load_host_json(app_dir, settings.values())
    settings.export_to(os.environ)  # before the import: apps read settings at import or call time
    functions = index_functions(import_app(app_dir))
    enabled = []
    for spec in functions:
        if settings.is_disabled(spec.name):
            log.info("function %s is disabled (AzureWebJobs.%s.Disabled)", spec.name, spec.name)
        else:
            enabled.append(spec)
    return LoadedApp(app_dir, options, settings, enabled)


def _thread_count(settings: AppSettings) -> int | None:
    value = (settings.get("PYTHON_THREADPOOL_THREAD_COUNT") or "").strip()
    if value and not (value.isdigit() and int(value) > 0):
        raise StartupError(f"PYTHON_THREADPOOL_THREAD_COUNT must be a positive integer, not {value!r}")
    return int(value) if value else None


def _report_crash(task: asyncio.Task[None]) -> None:
    """Log a trigger loop that died (it should only ever end when stopped)."""
    if not task.cancelled() and task.exception() is not None:
        log.error("%s stopped unexpectedly", task.get_name(), exc_info=task.exception())


class FunctionsHost:
    """Runs a loaded app: HTTP and Event Grid endpoints, Service Bus listeners, timers."""

    def __init__(self, app: LoadedApp, *, host: str, port: int, enable_auth: bool, reuse_port: bool = False) -> None:
        self._app = app
        self._host, self._port = host, port
        self._reuse_port = reuse_port
        self._keys = KeyPolicy.from_settings(app.settings, enable_auth)
        self._outputs = OutputSender(app.settings, app.options.service_bus.client_retry)
        self._invoker = Invoker(str(app.app_dir), max_workers=_thread_count(app.settings))
        self._runner = FunctionRunner(self._invoker, self._outputs, app.options.function_timeout)
        self._registry = SettlementRegistry()
        self._listeners: list[ServiceBusListener] = []
        self._timers: list[TimerTrigger] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._web: web.AppRunner | None = None
        self._http = HttpTriggers(http_functions(app.functions, app.settings), app.options.route_prefix,
                                  self._keys, self._runner)
        self._eventgrid = EventGridTriggers(app.functions, self._keys, self._runner)
        self._actions = MessageActions(self._registry)
        for spec in app.functions:  # everything is validated here, before anything starts
            self._outputs.validate(spec)
            if spec.trigger.type == "timerTrigger":
                self._timers.append(TimerTrigger(spec, app.settings, self._runner))
            elif spec.trigger.type == "serviceBusTrigger":
                self._listeners.append(self._listener(spec, self._actions))

    @property
    def address(self) -> str:
        """``host:port`` the HTTP endpoints are served on."""
        return f"{self._host}:{self._port}"

    async def start(self) -> None:
        """Bind the HTTP port (a busy port fails before anything runs), then start every trigger."""
        self._actions.bind(asyncio.get_running_loop())
        # The Event Grid webhook reads its body itself, bounded to Event Grid's 1 MB (eventgrid/payload.py).
        application = web.Application(client_max_size=MAX_HTTP_BODY_BYTES)
        application.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._web = web.AppRunner(application, shutdown_timeout=SHUTDOWN_GRACE_SECONDS, access_log=None)
        await self._web.setup()
        # reuse_port: several instances of one app share the port, as instances behind the platform's front
        # end do; Linux spreads new connections among them (socket(7), SO_REUSEPORT).
        await web.TCPSite(self._web, self._host, self._port, reuse_port=self._reuse_port or None).start()
        self._tasks = [asyncio.create_task(t.run(), name=f"timer {t.spec.name}") for t in self._timers]
        self._tasks += [asyncio.create_task(listener.run(), name=listener.name) for listener in self._listeners]
        for task in self._tasks:
            task.add_done_callback(_report_crash)
        self._log_functions()
        log.info("listening on http://%s:%d", self._host, self._port)

    def _listener(self, spec: FunctionSpec, actions: MessageActions) -> ServiceBusListener:
        trigger, settings, sb = spec.trigger, self._app.settings, self._app.options.service_bus
        needed_by = spec.describe(trigger)
        names = [settings.expand(trigger.get(k), needed_by=needed_by) if trigger.get(k) else None
                 for k in ("queueName", "topicName", "subscriptionName")]
        address = EntityAddress.parse(*names)
        sessions = bool(trigger.get("isSessionsEnabled"))
        if sessions and address.dead_letter:
            raise StartupError(f"{needed_by}: dead-letter queues are not session-aware; "
                               "set is_sessions_enabled=False")
        factory = SdkReceiverFactory(service_bus_connection(settings, trigger, needed_by), address,
                                     sb.prefetch_count, sb.client_retry)
        options = ListenerOptions(
            sessions=sessions, auto_complete=bool(trigger.get("autoCompleteMessages", sb.auto_complete_messages)),
            max_concurrent_calls=sb.max_concurrent_calls, max_concurrent_sessions=sb.max_concurrent_sessions,
            session_idle_timeout=sb.session_idle_timeout, max_lock_renewal=sb.max_auto_lock_renewal_duration,
            try_timeout=sb.try_timeout)

        async def process(receiver: ReceiverPort, message: Any) -> None:
            extra = {spec.actions_parameter: actions} if spec.actions_parameter else None
            await self._runner.run(spec, trigger_value(message, spec.trigger_annotation),
                                   binding_data=binding_data(message), extra=extra)

        log.info("%s: will listen on %s (sessions %s)", spec.name, address, "on" if sessions else "off")
        return ServiceBusListener(spec.name, factory, options, process, self._registry)

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        if request.path.lower().rstrip("/") == WEBHOOK_PATH:
            return await self._eventgrid.handle(request)
        if request.path.lower().rstrip("/") == "/admin/host/status":
            return self._host_status(request)
        return await self._http.handle(request)

    def _host_status(self, request: web.Request) -> web.Response:
        # The real host's HostController.GetHostStatus carries [Authorize(Policy =
        # PolicyNames.AdminAuthLevelOrInternal)]: the master key, unless auth is off (as with `func start`).
        if (refusal := self._keys.refusal("admin", request)) is not None:
            return web.Response(status=401, text=refusal)
        return web.json_response({"state": "Running", "functions": [s.name for s in self._app.functions]})

    def _log_functions(self) -> None:
        prefix = f"/{self._app.options.route_prefix}" if self._app.options.route_prefix else ""
        for spec in self._app.functions:
            where = spec.trigger.type
            if spec.trigger.type == "httpTrigger":
                route = spec.trigger.get("route") or spec.name
                where = f"http://{self._host}:{self._port}{prefix}/{route}"
            log.info("function %s: %s", spec.name, where)

    async def stop(self) -> None:
        """Stop triggers, let in-flight invocations finish and settle, close every client."""
        for timer in self._timers:
            timer.stop()
        for listener in self._listeners:
            listener.stop()
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=SHUTDOWN_GRACE_SECONDS)
            for task in pending:
                log.warning("%s did not stop in %ss; cancelling", task.get_name(), SHUTDOWN_GRACE_SECONDS)
                task.cancel()
        if self._web is not None:
            await self._web.cleanup()  # waits for in-flight HTTP requests
        await self._outputs.close()
        self._invoker.close()
        log.info("host stopped")
