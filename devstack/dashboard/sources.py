"""Where the dashboard reads what the spans do not say: the emulators' own APIs and Remediation's records."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from devstack.dashboard.dlq_desk import DeadLetterDesk, desk_from
from devstack.dashboard.http.emulators import EventGridSubscription
from devstack.eventgrid.core.config import load_config

DEFAULT_OFF = "the dashboard was started without the stack's connection settings (devstack up passes them)"


@dataclass(frozen=True)
class Sources:
    """Each source is optional; a page section whose source is missing says so instead of showing numbers."""

    eventgrid_url: str | None = None  # Event Grid's pending deliveries (GET /health) and dead letters
    eventgrid_subscriptions: tuple[EventGridSubscription, ...] = ()
    servicebus_admin_url: str | None = None  # the broker's entity depths (GET /entities)
    desk: DeadLetterDesk | None = None  # Remediation's records and their redrive (devstack/dlq)
    desk_off: str = DEFAULT_OFF  # why ``desk`` is None


def sources_from(environ: Mapping[str, str], eventgrid_url: str | None = None, eventgrid_config: Path | None = None,
                 servicebus_admin_url: str | None = None, servicebus_config: Path | None = None) -> Sources:
    """Sources from the dashboard's flags and environment; raises ValueError, KeyError or OSError (Service Bus
    topology) or devstack.eventgrid's ConfigError when a file given cannot be used."""
    subscriptions: tuple[EventGridSubscription, ...] = ()
    if eventgrid_config is not None:
        # The emulator's own loader, with the same ${VAR} expansion, so the keys are the ones it checks.
        config = load_config(eventgrid_config, environ)
        subscriptions = tuple(EventGridSubscription(topic.name, sub.name, topic.key)
                              for topic in config.topics for sub in topic.subscriptions)
    desk, off = desk_from(environ, servicebus_config)
    return Sources(eventgrid_url, subscriptions, servicebus_admin_url, desk, off)
