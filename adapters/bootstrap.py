"""Composition root: builds each port once per process, lazily — never at import (costly on cold start).

Triggers call ``dependencies()``; tests call ``install(in_memory(...))`` to run the same triggers on fakes.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cached_property

from adapters import tracing_export
from contracts.names import (
    DEADLETTERS_CONTAINER,
    DELIVERIES_CONTAINER,
    DRONES_CONTAINER,
    PACKAGES_CONTAINER,
    REQUESTS_CONTAINER,
)
from core import telemetry
from core.outbox import RelaySchedule
from core.ports import Clock, DocumentContainer, EventPublisher, MessageBus
from core.retry import Backoff
from core.settings import Settings
from core.settlement import AttemptCounter
from delivery.repository import DeliveryRepository
from drone_scheduler.repository import DroneRepository
from ingestion.repository import IngestionRepository
from package.repository import PackageRepository
from remediation.repository import DeadLetterRepository

PARTITION_KEYS = {DRONES_CONTAINER: "/fleetId"}  # every other container is partitioned by /id (docs/design.md "Data")


def utc_now() -> datetime:
    """The production clock."""
    return datetime.now(UTC)


class Dependencies:
    """Every port and repository the handlers use; each built on first access."""

    def __init__(self, settings: Settings, bus: Callable[[], MessageBus], events: Callable[[], EventPublisher],
                 container: Callable[[str], DocumentContainer], clock: Clock = utc_now,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings
        self.clock = clock
        self._bus, self._events, self._container = bus, events, container
        self.sleep = sleep

    @cached_property
    def backoff(self) -> Backoff:
        """How transient failures are retried inside one invocation (settings ``TransientRetry*``)."""
        s = self.settings
        return Backoff(first_delay=s.retry_first_delay_seconds, max_delay=s.retry_max_delay_seconds,
                       budget=s.retry_budget_seconds, sleep=self.sleep)

    @cached_property
    def relay_schedule(self) -> RelaySchedule:
        """When owed effects are tried again (settings ``OutboxRetry*``)."""
        s = self.settings
        return RelaySchedule(first_delay=s.outbox_retry_first_delay_seconds, max_delay=s.outbox_retry_max_delay_seconds)

    @cached_property
    def bus(self) -> MessageBus:
        """The process-wide Service Bus sender (each send a producer span when tracing is on)."""
        return telemetry.traced_bus(self._bus())

    @cached_property
    def events(self) -> EventPublisher:
        """The Event Grid publisher (each publish a producer span when tracing is on)."""
        return telemetry.traced_events(self._events())

    @cached_property
    def requests(self) -> IngestionRepository:
        """Ingestion's records."""
        return IngestionRepository(self._container(REQUESTS_CONTAINER))

    @cached_property
    def packages(self) -> PackageRepository:
        """Package's documents."""
        return PackageRepository(self._container(PACKAGES_CONTAINER))

    @cached_property
    def drones(self) -> DroneRepository:
        """Drone Scheduler's documents (the fleet's partition)."""
        return DroneRepository(self._container(DRONES_CONTAINER), self.settings.fleet_id)

    @cached_property
    def deliveries(self) -> DeliveryRepository:
        """Delivery's documents."""
        return DeliveryRepository(self._container(DELIVERIES_CONTAINER))

    @cached_property
    def attempts(self) -> AttemptCounter:
        """Failed attempts per message in this process (Remediation stops retrying a dead letter after a few)."""
        return AttemptCounter()

    @cached_property
    def deadletters(self) -> DeadLetterRepository:
        """Remediation's records."""
        return DeadLetterRepository(self._container(DEADLETTERS_CONTAINER))


_current: Dependencies | None = None
_lock = threading.Lock()


def dependencies() -> Dependencies:
    """The process-wide dependencies (SDK-backed unless a test installed others)."""
    global _current
    with _lock:
        if _current is None:
            settings = Settings.from_env()
            tracing_export.configure(settings.env)  # before any port is built: the bus and publisher wrap if it is on
            _current = azure_backed(settings)
        return _current


def current() -> Dependencies | None:
    """The installed dependencies, if any (tests)."""
    return _current


def install(deps: Dependencies | None) -> None:
    """Replace the process-wide dependencies (tests); None goes back to lazily built SDK-backed ones."""
    global _current
    with _lock:
        _current = deps


def azure_backed(settings: Settings) -> Dependencies:
    """Ports on the Azure SDKs; no client is created until first used."""
    from adapters.cosmos import CosmosContainers
    from adapters.eventgrid import EventGridEventPublisher
    from adapters.servicebus import ServiceBusMessageBus
    cosmos = CosmosContainers(settings)
    return Dependencies(settings, lambda: ServiceBusMessageBus(settings), lambda: EventGridEventPublisher(settings),
                        cosmos.container)


def in_memory(settings: Settings | None = None, clock: Clock = utc_now) -> Dependencies:
    """Ports on the in-memory fakes (unit tests)."""
    from adapters.memory import InMemoryBus, InMemoryContainer, InMemoryEventPublisher, RecordingSleep
    containers: dict[str, InMemoryContainer] = {}

    def container(name: str) -> InMemoryContainer:
        return containers.setdefault(name, InMemoryContainer(PARTITION_KEYS.get(name, "/id")))

    bus, events = InMemoryBus(clock), InMemoryEventPublisher()
    # Unit tests never really sleep: a back-off wait returns at once (and is remembered in ``deps.sleep.calls``).
    return Dependencies(settings or Settings(), lambda: bus, lambda: events, container, clock, sleep=RecordingSleep())
