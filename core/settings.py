"""Every app setting the app reads, read lazily from the environment (Functions app settings are env vars)."""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Final

from contracts.names import COSMOS_DATABASE

# Connection settings: the bindings name them and the SDK adapters read them. Each also has an identity form,
# ``…__fullyQualifiedNamespace`` / ``…__accountEndpoint`` (docs/deploy.md), and Event Grid an optional key.
SERVICE_BUS_CONNECTION: Final = "ServiceBusConnection"
COSMOS_CONNECTION: Final = "CosmosDBConnection"
EVENT_GRID_ENDPOINT: Final = "EventGridTopicEndpoint"
EVENT_GRID_KEY: Final = "EventGridTopicKey"


def _env(name: str) -> dict[str, Any]:
    """Field metadata: the app setting a field is read from."""
    return {"env": name}


@dataclass(frozen=True)
class Settings:
    """Domain and simulation knobs (defaults from docs/design.md "Domain rules"); connections are read by the root.

    Each field's default is the production value; ``from_env`` overrides it with the app setting named in the
    field's metadata when that setting is present and not blank."""

    cosmos_database: str = field(default=COSMOS_DATABASE, metadata=_env("CosmosDatabaseName"))
    flight_time_scale: float = field(default=1.0, metadata=_env("FlightTimeScale"))
    drone_speed_kmh: float = field(default=60.0, metadata=_env("DroneSpeedKmh"))
    readiness_deadline_seconds: float = field(default=300.0, metadata=_env("ReadinessDeadlineSeconds"))
    fleet_id: str = field(default="fleet-1", metadata=_env("FleetId"))
    fleet_size: int = field(default=20, metadata=_env("FleetSize"))
    fleet_base_latitude: float = field(default=47.6097, metadata=_env("FleetBaseLatitude"))
    fleet_base_longitude: float = field(default=-122.3331, metadata=_env("FleetBaseLongitude"))
    max_package_weight_kg: float = field(default=25.0, metadata=_env("MaxPackageWeightKg"))
    # Documented fault injection for the end-to-end tests: that step raises a transient error on every
    # DeliveryRequested, so the broker dead-letters it (MaxDeliveryCountExceeded).
    transient_failure_step: str | None = field(default=None, metadata=_env("FaultInjection__TransientFailureStep"))
    # Back-off for transient failures inside one invocation (core/retry.py, docs/app.md).
    retry_first_delay_seconds: float = field(default=0.5, metadata=_env("TransientRetryFirstDelaySeconds"))
    retry_max_delay_seconds: float = field(default=8.0, metadata=_env("TransientRetryMaxDelaySeconds"))
    retry_budget_seconds: float = field(default=30.0, metadata=_env("TransientRetryBudgetSeconds"))
    # When the relay tries an owed effect again (core/outbox.py RelaySchedule).
    outbox_retry_first_delay_seconds: float = field(default=5.0, metadata=_env("OutboxRetryFirstDelaySeconds"))
    outbox_retry_max_delay_seconds: float = field(default=300.0, metadata=_env("OutboxRetryMaxDelaySeconds"))
    env: Mapping[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read the settings from ``env`` (default: the process environment)."""
        values: dict[str, Any] = {"env": dict(os.environ if env is None else env)}
        for f in fields(cls):
            raw = values["env"].get(f.metadata["env"], "").strip() if "env" in f.metadata else ""
            if raw:
                values[f.name] = _PARSERS[str(f.type)](raw)
        return cls(**values)

    def get(self, name: str) -> str | None:
        """A raw setting (connection settings are read through here by the composition root)."""
        return self.env.get(name) or None


# Field annotations are strings (postponed evaluation); each type a setting can have, and how to read it.
_PARSERS: dict[str, Any] = {"str": str, "str | None": str, "float": float, "int": int}
