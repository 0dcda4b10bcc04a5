"""An in-memory router that runs the whole saga at unit speed (the model is FastStream's TestBroker): it delivers
what the in-memory bus accepted to the app's real trigger functions, by the rules of resources/Config.json
(saga_broker), and what the Event Grid fake got to the Event Grid functions; it fires the timers, calls the HTTP
functions, and puts fault hooks (saga_faults) on every port of the Dependencies it builds and installs.

Entity paths are those of saga_topology (``delivery-inbox``, ``deliveries/package``, ``…/$deadletterqueue``);
Event Grid deliveries use ``eventgrid:{function}`` and timers ``timer:{function}``. Everything is synchronous and
deterministic: messages get sequence numbers in acceptance order and lanes (an entity, or one session of a
session entity) are served round-robin in the order they first appeared.
"""
from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import azure.functions as func
from azure.functions.timer import TimerRequest

from adapters import bootstrap
from adapters.memory import InMemoryBus, InMemoryContainer, InMemoryEventPublisher, ManualClock
from contracts.names import EVENT_GRID_TOPIC
from core.ports import Event, TransientFault
from core.settings import Settings
from tests.support.saga_broker import Broker, Lane, RoutedMessage, RoutingError
from tests.support.saga_faults import BUS, EVENTS, PORT_METHODS, Crash, Faults, FaultyPort
from tests.support.saga_topology import (
    CONFIG_JSON,
    Handler,
    catalog,
    event_type_filters,
    load_topology,
    normalize,
    route_prefix,
)

__all__ = ["Crash", "Delivery", "RoutedMessage", "RouterBoundExceeded", "RoutingError", "SagaRouter"]
EVENT_GRID_MAX_ATTEMPTS = 30  # resources/eventgrid.json retryPolicy.maxDeliveryAttempts
EVENT_LANE = "eventgrid:"


class RouterBoundExceeded(AssertionError):
    """run_until_idle hit max_steps or max_seconds: the saga did not settle (a test never hangs instead)."""


@dataclass(frozen=True)
class Delivery:
    """One invocation the router made and how it ended: complete, abandon, deadletter:<reason>, defer, crashed,
    lapsed (raised without abandoning, or returned unsettled); a timer's: ran or failed."""

    entity: str
    function: str
    message_id: str | None
    session_id: str | None
    subject: str | None
    delivery_count: int
    outcome: str
    error: str | None = None


@dataclass(frozen=True)
class Available:
    """What ``deliver`` could deliver next (for an Event Grid lane, sequence_number is the event's queue position)."""

    entity: str
    message_id: str
    session_id: str | None
    subject: str | None
    sequence_number: int
    delivery_count: int


class _Actions:
    """The ``ServiceBusMessageActions`` a trigger settles through; the router applies the first settlement."""

    def __init__(self, message: RoutedMessage) -> None:
        self.message = message
        self.settlement: tuple[str | None, ...] | None = None

    def _settle(self, message: Any, verb: str, *details: str | None) -> None:
        if message is not self.message:
            raise RoutingError("settling a message this invocation did not receive")
        if self.settlement is not None:
            raise RoutingError(f"{self.message.message_id} already settled ({self.settlement[0]})")  # like the SDK
        self.settlement = (verb, *details)

    def complete(self, message: Any) -> None:
        self._settle(message, "complete")

    def abandon(self, message: Any) -> None:
        self._settle(message, "abandon")

    def deadletter(self, message: Any, deadletter_reason: str | None = None,
                   deadletter_error_description: str | None = None) -> None:
        self._settle(message, "deadletter", deadletter_reason, deadletter_error_description)

    def defer(self, message: Any) -> None:
        self._settle(message, "defer")


class _Out:
    """A ``func.Out`` for an output binding; the router writes what was set once the function returned."""

    def __init__(self) -> None:
        self.value: Any = None

    def set(self, val: Any) -> None:
        self.value = val

    def get(self) -> Any:
        return self.value


@dataclass
class _Event:
    event: Event
    attempts: int = 0


class SagaRouter:
    """Builds in-memory Dependencies with fault hooks, installs them, and routes messages to the app's functions."""

    def __init__(self, settings: Settings | None = None, *, clock: ManualClock | None = None,
                 config: Path = CONFIG_JSON, functions: Iterable[Any] | None = None, sleep_advances_clock: bool = False,
                 **dependency_options: Any) -> None:
        self.clock = clock or ManualClock()
        self.sleeps: list[float] = []  # every back-off wait the app asked for (none really sleeps)
        self._sleep_advances_clock = sleep_advances_clock
        self.topology = load_topology(config)
        if functions is None:
            # app.get_functions() may run only once per app instance: share the unit tests' cached index.
            from tests.unit.app.support import app_functions
            functions = app_functions().values()
        self.functions = catalog(functions, self.topology)
        self.faults = Faults()
        self.bus, self.events = InMemoryBus(self.clock), InMemoryEventPublisher()
        self.containers: dict[str, InMemoryContainer] = {}
        self._ports: dict[str, FaultyPort] = {}
        self.log: list[Delivery] = []
        self.broker = Broker(self.topology, self.clock)
        self._event_queues: dict[str, list[_Event]] = {EVENT_LANE + h.name: [] for h in self.functions.event_grid}
        self._event_seen: dict[str, set[str]] = {lane: set() for lane in self._event_queues}
        self._event_types = event_type_filters()
        self._last_lane: Lane | None = None
        self._events_in_flight: set[str] = set()
        self._bus_cursor = self._event_cursor = self._cancel_cursor = 0
        self._settings, self._options = settings or Settings(), dependency_options
        self.deps = self._dependencies(self._settings, dict(self._options))

    # -- composition -------------------------------------------------------------------------------------------
    def _dependencies(self, settings: Settings, options: dict[str, Any]) -> bootstrap.Dependencies:
        accepts = inspect.signature(bootstrap.Dependencies).parameters
        if "sleep" in accepts and "sleep" not in options:
            options["sleep"] = self._sleep  # a back-off must not really sleep in a unit test
        return bootstrap.Dependencies(
            settings=settings, bus=lambda: self._port(BUS, self.bus), events=lambda: self._port(EVENTS, self.events),
            container=lambda name: self._port(name, self.container(name)), clock=self.clock, **options)

    def _sleep(self, seconds: float) -> None:
        # Recorded, and by default no simulated time passes: the app's back-off jitter is random, so moving the
        # clock by it would make runs differ. sleep_advances_clock=True trades that for realistic timing.
        self.sleeps.append(seconds)
        if self._sleep_advances_clock:
            self.clock.advance(seconds)

    def _port(self, name: str, inner: Any) -> Any:
        methods = PORT_METHODS.get(name, PORT_METHODS["container"])
        return self._ports.setdefault(name, FaultyPort(inner, name, methods, self.faults))

    def container(self, name: str) -> InMemoryContainer:
        """The raw in-memory container (inspection bypasses the fault hooks)."""
        return self.containers.setdefault(name, InMemoryContainer(bootstrap.PARTITION_KEYS.get(name, "/id")))

    def _restart(self) -> None:
        # A crash is the process dying: whatever it held in memory (the delivery documents it remembered, attempt
        # counters, clients) is gone; the in-memory services (containers, bus, broker, Event Grid) stay.
        installed = bootstrap.current() is self.deps
        self.deps = self._dependencies(self._settings, dict(self._options))
        if installed:
            bootstrap.install(self.deps)

    def __enter__(self) -> SagaRouter:
        bootstrap.install(self.deps)
        return self

    def __exit__(self, *_: object) -> None:
        bootstrap.install(None)

    # -- fault hooks (see saga_faults.Faults) --------------------------------------------------------------------
    # Each takes method= (e.g. "replace") and function= (only calls made while that function runs: the timers
    # make port calls too, e.g. a relay's query_due on "deliveries").
    def fail_next(self, port: str, n: int = 1, error: BaseException | type[BaseException] = TransientFault,
                  method: str | None = None, function: str | None = None) -> None:
        """The next ``n`` calls of a port ("bus", "events" or a container name) raise ``error``."""
        self.faults.fail_next(port, n, error, method, function)

    def outage(self, port: str, seconds: float, method: str | None = None) -> None:
        """Every call of a port fails from now until the test clock has moved ``seconds`` on (a timed outage:
        with ``sleep_advances_clock`` the app's own back-off waits make the time pass)."""
        end = self.clock() + timedelta(seconds=seconds)
        self.faults.outage(port, lambda: self.clock() >= end, method=method)

    def crash_after(self, port: str, calls: int = 1, method: str | None = None, function: str | None = None) -> None:
        """Raise Crash right after the ``calls``-th call of a port: the invocation dies, its lock lapses."""
        self.faults.crash_after(port, calls, method, function)

    stop_between = crash_after

    def after_call(self, port: str, then: Callable[[], object], calls: int = 1, method: str | None = None,
                   function: str | None = None) -> None:
        """Run ``then()`` right after the ``calls``-th call of a port (e.g. a ``router.deliver``: an interleaving)."""
        self.faults.after_call(port, then, calls, method, function)

    # -- HTTP -----------------------------------------------------------------------------------------------------
    def http(self, method: str, path: str, body: bytes | dict[str, Any] = b"", headers: dict[str, str] | None = None,
             params: dict[str, str] | None = None) -> func.HttpResponse:
        """Call the HTTP function whose route and method match, as the host would (a dict body is sent as JSON)."""
        raw = json.dumps(body).encode() if isinstance(body, dict) else body
        headers = {"content-type": "application/json", **(headers or {})} if isinstance(body, dict) else headers or {}
        prefix = route_prefix()
        route = path.split("?")[0].strip("/")
        route = route[len(prefix) + 1:] if route.startswith(prefix + "/") else route
        for handler in self.functions.http:
            methods = {str(getattr(m, "value", m)).upper() for m in handler.trigger.get("methods") or []}
            match = _route_regex(handler.trigger.get("route") or handler.name).fullmatch(route)
            if match and (not methods or method.upper() in methods):
                request = func.HttpRequest(method.upper(), f"http://localhost/{prefix}/{route}", body=raw,
                                           headers=headers, params=params or {}, route_params=match.groupdict())
                # A Crash hook firing here propagates to the test: the client's request simply failed.
                self.faults.running.append(handler.name)
                try:
                    return handler.call(**{handler.trigger["name"]: request})
                finally:
                    self.faults.running.pop()
        raise RoutingError(f"no HTTP function for {method} {path}")

    def post(self, path: str, body: bytes | dict[str, Any], headers: dict[str, str] | None = None) -> func.HttpResponse:
        """POST through the real HTTP function."""
        return self.http("POST", path, body, headers)

    def get(self, path: str) -> func.HttpResponse:
        """GET through the real HTTP function."""
        return self.http("GET", path)

    def delete(self, path: str) -> func.HttpResponse:
        """DELETE through the real HTTP function."""
        return self.http("DELETE", path)

    # -- inspection -----------------------------------------------------------------------------------------------
    def pending(self, entity: str) -> list[RoutedMessage]:
        """Copies of the messages still in an entity (available, scheduled, locked or deferred), by sequence number."""
        self._pump()
        return self.broker.pending(entity)

    def dead_letters(self, entity: str) -> list[RoutedMessage]:
        """Every message ever moved to the entity's dead-letter queue (also those Remediation since completed)."""
        self._pump()
        return self.broker.dead_letters(entity)

    def available(self, entity: str | None = None) -> list[Available]:
        """What ``deliver`` could deliver now: per session only its head, and nothing of a session in flight."""
        self._pump()
        wanted = entity if entity is None or entity.startswith(EVENT_LANE) else normalize(entity)
        return [choice for lane in self.broker.lanes if wanted in (None, lane[0]) for choice in self._choices(lane)]

    # -- driving --------------------------------------------------------------------------------------------------
    def deliver(self, entity: str, message_id: str | None = None, session_id: str | None = None) -> Delivery:
        """Deliver one chosen message (the first available when neither id is given)."""
        choices = self.available(entity)
        for choice in choices:
            if message_id in (None, choice.message_id) and session_id in (None, choice.session_id):
                return self._deliver(choice)
        raise RoutingError(f"nothing deliverable on {entity} for message_id={message_id} session_id={session_id}; "
                           f"available: {[c.message_id for c in choices]} (a session offers only its head: FIFO)")

    def run_until_idle(self, max_steps: int = 2000, max_seconds: float = 86400.0) -> list[Delivery]:
        """Deliver until nothing is left, advancing the clock to the next due message (firing timers each time);
        returns the deliveries it made. Raises RouterBoundExceeded past either bound."""
        return self._run(max_steps, self.clock() + timedelta(seconds=max_seconds), tick=None)

    def run_for(self, seconds: float, tick: float = 5.0, max_steps: int = 2000) -> list[Delivery]:
        """Like run_until_idle, but the clock also moves at least every ``tick`` seconds (firing the timers) until
        ``seconds`` have passed: for work only a timer finds, e.g. a relay retrying what a failed dispatch owes."""
        return self._run(max_steps, self.clock() + timedelta(seconds=seconds), tick=tick)

    def _run(self, max_steps: int, until: datetime, tick: float | None) -> list[Delivery]:
        steps, done = 0, len(self.log)
        while True:
            choice = self._next_choice()
            if choice is not None:
                if steps >= max_steps:
                    raise RouterBoundExceeded(f"still busy after {max_steps} deliveries; next: {self.available()[:5]}")
                self._deliver(choice)
                steps += 1
                continue
            due = self.broker.next_due(self.functions.service_bus)
            if tick is not None:
                due = min(due or until, self.clock() + timedelta(seconds=tick), until)
                if due <= self.clock():
                    return self.log[done:]  # run_for: the time is up and nothing is left to deliver
            if due is None:
                return self.log[done:]
            if due > until:
                raise RouterBoundExceeded(f"next message due at {due.isoformat()}, beyond max_seconds")
            self.clock.now = due
            self.fire_timers()

    def advance(self, seconds: float) -> None:
        """Move the test clock forward and fire the timers (delivers nothing by itself)."""
        self.clock.advance(seconds)
        self.fire_timers()

    def fire_timers(self) -> list[Delivery]:
        """Run every timer-triggered function once (a failure is recorded in ``log``, as the host logs it)."""
        fired = []
        for handler in self.functions.timers:
            outcome, error = self._invoke(handler, {handler.trigger["name"]: TimerRequest(past_due=False)})
            fired.append(self._record(Delivery(f"timer:{handler.name}", handler.name, None, None, None, 1,
                                               "ran" if outcome is None else "failed", error)))
        return fired

    def redeliver_event(self, event_id: str) -> None:
        """Queue an already delivered Event Grid event once more for every subscriber (Event Grid is at-least-once)."""
        for lane, queue in self._event_queues.items():
            queue += [_Event(e) for e in self.events.published if e.id == event_id and self._wants(lane, e)][:1]
            self.broker.lanes.setdefault((lane, None))

    # -- internals ------------------------------------------------------------------------------------------------
    def _pump(self) -> None:
        while self._bus_cursor < len(self.bus.accepted):
            self._bus_cursor += 1
            self.broker.accept(self.bus.accepted[self._bus_cursor - 1])
        while self._cancel_cursor < len(self.bus.cancelled):
            self._cancel_cursor += 1
            self.broker.cancel(self.bus.cancelled[self._cancel_cursor - 1])
        while self._event_cursor < len(self.events.published):
            self._event_cursor += 1
            event = self.events.published[self._event_cursor - 1]
            for lane, seen in self._event_seen.items():
                if event.id not in seen and self._wants(lane, event):  # a subscriber gets each event id once
                    seen.add(event.id)
                    self._event_queues[lane].append(_Event(event))
                    self.broker.lanes.setdefault((lane, None))
        self.broker.expire()

    def _wants(self, lane: str, event: Event) -> bool:
        included = self._event_types.get(lane[len(EVENT_LANE):])
        return included is None or event.event_type in included

    def _choices(self, lane: Lane) -> list[Available]:
        path = lane[0]
        if path.startswith(EVENT_LANE):
            if path in self._events_in_flight:
                return []  # one event at a time per subscriber
            return [Available(path, e.event.id, None, e.event.event_type, index, e.attempts)
                    for index, e in enumerate(self._event_queues[path])]
        if path not in self.functions.service_bus:
            return []  # nobody listens there: the messages wait (see pending())
        return [Available(path, m.message_id, m.session_id, m.subject, m.sequence_number, m.delivery_count)
                for m in self.broker.ready(lane)]

    def _next_choice(self) -> Available | None:
        # Round-robin: the first lane with something ready after the one served last, in first-seen order.
        self._pump()
        lanes = list(self.broker.lanes)
        last = lanes.index(self._last_lane) if self._last_lane in self.broker.lanes else -1
        ready = [(index, choices[0]) for index, lane in enumerate(lanes) if (choices := self._choices(lane))]
        return next((c for index, c in ready if index > last), ready[0][1] if ready else None)

    def _deliver(self, choice: Available) -> Delivery:
        if choice.entity.startswith(EVENT_LANE):
            self._last_lane = (choice.entity, None)
            self._events_in_flight.add(choice.entity)
            try:
                return self._deliver_event(choice.entity, self._event_queues[choice.entity][choice.sequence_number])
            finally:
                self._events_in_flight.discard(choice.entity)
        message = self.broker.find(choice.entity, choice.sequence_number)
        session = message.session_id if self.topology.entity(choice.entity).requires_session else None
        self._last_lane = (choice.entity, session)
        handler = self.functions.service_bus[choice.entity]
        # Peek-lock: held while the function runs, so a re-entrant delivery (an after_call hook) cannot take it,
        # nor anything else of its session.
        received = self.broker.lock(message)
        actions = _Actions(received)
        outcome, error = self._invoke(handler, {handler.trigger["name"]: received}, actions)
        verb, *details = actions.settlement or (outcome,)
        self.broker.settle(message, str(verb), *details)
        label = f"deadletter:{details[0]}" if verb == "deadletter" else str(verb)
        return self._record(Delivery(message.entity, handler.name, message.message_id, message.session_id,
                                     message.subject, message.delivery_count, label, error))

    def _deliver_event(self, lane: str, pending: _Event) -> Delivery:
        handler = next(h for h in self.functions.event_grid if EVENT_LANE + h.name == lane)
        e = pending.event
        event = func.EventGridEvent(id=e.id, data=e.data, topic=EVENT_GRID_TOPIC, subject=e.subject,
                                    event_type=e.event_type, event_time=e.event_time, data_version=e.data_version)
        outs = {binding["name"]: _Out() for binding in handler.outputs}
        pending.attempts += 1
        outcome, error = self._invoke(handler, {handler.trigger["name"]: event, **outs},
                                      after=lambda: self._write_outputs(handler, outs))
        if outcome is None or pending.attempts >= EVENT_GRID_MAX_ATTEMPTS:
            self._event_queues[lane].remove(pending)  # delivered, or Event Grid gave up (no dead-letter destination)
        return self._record(Delivery(lane, handler.name, e.id, None, e.event_type, pending.attempts,
                                     outcome or "complete", error))

    def _invoke(self, handler: Handler, bound: dict[str, Any], actions: _Actions | None = None,
                after: Callable[[], None] | None = None) -> tuple[str | None, str | None]:
        """Call the user function: (None, None) when it settled or returned, else ("crashed" | "lapsed", why)."""
        kwargs = dict(bound)
        for name in handler.arg_names:
            if name not in kwargs and actions is not None:
                kwargs[name] = actions  # the host binds the one non-binding parameter to the message actions
        self.faults.running.append(handler.name)
        try:
            handler.call(**kwargs)
            if after is not None:
                after()
        except Crash as exc:
            self._restart()
            return "crashed", f"Crash: {exc}"
        except Exception as exc:
            return "lapsed", f"{type(exc).__name__}: {exc}"
        finally:
            self.faults.running.pop()
        # A Service Bus function that returned without settling (auto-complete is off): its lock lapses.
        return (None if actions is None or actions.settlement else "lapsed"), None

    def _write_outputs(self, handler: Handler, outs: dict[str, _Out]) -> None:
        # The host writes a Cosmos DB output binding after the function returned; through the faulty port, so
        # fail_next("notifications") fails the write (and Event Grid retries: the host answered with an error).
        for binding in handler.outputs:
            value = outs[binding["name"]].value
            if value is None:
                continue
            if binding["type"] != "cosmosDB":
                raise RoutingError(f"{handler.name}: output binding type {binding['type']!r} is not emulated")
            name = binding["containerName"]
            for document in value if isinstance(value, list) else [value]:
                self._port(name, self.container(name)).upsert(dict(document))

    def _record(self, delivery: Delivery) -> Delivery:
        self.log.append(delivery)
        return delivery


def _route_regex(template: str) -> re.Pattern[str]:
    # `deliveries/{deliveryId}` (and `{id:int}`-style constraints, not checked) -> a regex with named groups.
    return re.compile(re.sub(r"\\\{(\w+)(?::[^}]*)?\\\}", r"(?P<\1>[^/]+)", re.escape(template.strip("/"))))
