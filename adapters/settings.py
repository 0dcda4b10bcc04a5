"""Every app setting the app reads, read lazily from the environment (Functions app settings are env vars)."""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    return float(raw) if raw else default


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    return int(raw) if raw else default


@dataclass(frozen=True)
class Settings:
    """Domain and simulation knobs (defaults from docs/design.md "Domain rules"); connections are read by the root."""

    cosmos_database: str = "drone-delivery"
    flight_time_scale: float = 1.0
    drone_speed_kmh: float = 60.0
    readiness_deadline_seconds: float = 300.0
    fleet_id: str = "fleet-1"
    fleet_size: int = 20
    fleet_base_latitude: float = 47.6097
    fleet_base_longitude: float = -122.3331
    max_package_weight_kg: float = 25.0
    transient_failure_step: str | None = None
    retry_first_delay_seconds: float = 0.5
    retry_max_delay_seconds: float = 8.0
    retry_budget_seconds: float = 30.0
    outbox_retry_first_delay_seconds: float = 5.0
    outbox_retry_max_delay_seconds: float = 300.0
    env: Mapping[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read the settings from ``env`` (default: the process environment)."""
        env = dict(os.environ if env is None else env)
        return cls(
            cosmos_database=env.get("CosmosDatabaseName") or "drone-delivery",
            flight_time_scale=_float(env, "FlightTimeScale", 1.0),
            drone_speed_kmh=_float(env, "DroneSpeedKmh", 60.0),
            readiness_deadline_seconds=_float(env, "ReadinessDeadlineSeconds", 300.0),
            fleet_id=env.get("FleetId") or "fleet-1",
            fleet_size=_int(env, "FleetSize", 20),
            fleet_base_latitude=_float(env, "FleetBaseLatitude", 47.6097),
            fleet_base_longitude=_float(env, "FleetBaseLongitude", -122.3331),
            max_package_weight_kg=_float(env, "MaxPackageWeightKg", 25.0),
            # Documented fault injection for the end-to-end tests: that step raises a transient error on
            # every DeliveryRequested, so the broker dead-letters it (MaxDeliveryCountExceeded).
            transient_failure_step=(env.get("FaultInjection__TransientFailureStep") or "").strip() or None,
            # Back-off for transient failures inside one invocation (adapters/retry.py, docs/app.md).
            retry_first_delay_seconds=_float(env, "TransientRetryFirstDelaySeconds", 0.5),
            retry_max_delay_seconds=_float(env, "TransientRetryMaxDelaySeconds", 8.0),
            retry_budget_seconds=_float(env, "TransientRetryBudgetSeconds", 30.0),
            # When the relay tries an owed effect again (adapters/outbox.py RelaySchedule).
            outbox_retry_first_delay_seconds=_float(env, "OutboxRetryFirstDelaySeconds", 5.0),
            outbox_retry_max_delay_seconds=_float(env, "OutboxRetryMaxDelaySeconds", 300.0),
            env=env,
        )

    def get(self, name: str) -> str | None:
        """A raw setting (connection settings are read through here by the composition root)."""
        return self.env.get(name) or None
