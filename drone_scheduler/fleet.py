"""Fleet rules: the seeded fleet, suitability, distance and flight time (docs/design.md "Domain rules")."""
from __future__ import annotations

import math
from dataclasses import dataclass

from contracts.messages import Location, PackageInfo, PackageSize
from core.settings import Settings
from drone_scheduler.documents import DroneDocument

_EARTH_RADIUS_KM = 6371.0088
# A mixed fleet: the i-th drone's size class and payload cycle through these.
_MODELS: tuple[tuple[PackageSize, float], ...] = (
    (PackageSize.SMALL, 5.0), (PackageSize.MEDIUM, 12.0), (PackageSize.LARGE, 25.0), (PackageSize.SMALL, 8.0),
)


@dataclass(frozen=True)
class FleetConfig:
    """The fleet and flight knobs the scheduler needs."""

    size: int
    base: Location
    speed_kmh: float
    time_scale: float
    wait_seconds: float = 240.0  # how long a request may wait for a busy fleet before NoDroneAvailable

    @classmethod
    def from_settings(cls, settings: Settings) -> FleetConfig:
        """From FleetSize, FleetBaseLatitude/Longitude, DroneSpeedKmh, FlightTimeScale, ReadinessDeadlineSeconds."""
        return cls(size=settings.fleet_size, speed_kmh=settings.drone_speed_kmh, time_scale=settings.flight_time_scale,
                   base=Location(latitude=settings.fleet_base_latitude, longitude=settings.fleet_base_longitude),
                   wait_seconds=wait_for_a_drone(settings.readiness_deadline_seconds))


def wait_for_a_drone(readiness_deadline_seconds: float) -> float:
    """How long a request waits for a drone to free up: it must give up (NoDroneAvailable) before Delivery's own
    readiness deadline fires (ReadinessTimeout) — 10 s before it, or half-way for short deadlines, leaving the
    waiting-list timer (every 5 s) time to report."""
    return max(readiness_deadline_seconds / 2, readiness_deadline_seconds - 10.0)


def seed_fleet(fleet_id: str, size: int, base: Location) -> list[DroneDocument]:
    """A deterministic mixed fleet spread on a small grid around the base, so nearest-drone choice matters."""
    return [
        DroneDocument(
            id=f"drone-{i + 1:03d}", fleet_id=fleet_id, size_class=_MODELS[i % len(_MODELS)][0],
            max_payload_kg=_MODELS[i % len(_MODELS)][1],
            location=Location(latitude=base.latitude + 0.01 * (i % 5), longitude=base.longitude + 0.01 * (i // 5)),
        )
        for i in range(size)
    ]


def is_suitable(drone: DroneDocument, package: PackageInfo) -> bool:
    """Size class at least the package's size, payload at least its weight."""
    return drone.size_class.rank >= package.size.rank and drone.max_payload_kg >= package.weight


def distance_km(a: Location, b: Location) -> float:
    """Great-circle (haversine) distance."""
    lat1, lat2 = math.radians(a.latitude), math.radians(b.latitude)
    dlat, dlon = lat2 - lat1, math.radians(b.longitude - a.longitude)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * _EARTH_RADIUS_KM * math.asin(math.sqrt(h))


def flight_seconds(km: float, speed_kmh: float, time_scale: float) -> float:
    """Flight time for a leg, scaled (fast locally, 1.0 in Azure)."""
    return km / speed_kmh * 3600.0 * time_scale


def by_distance(drones: list[tuple[DroneDocument, str]], pickup: Location) -> list[tuple[DroneDocument, str]]:
    """Nearest first; ties broken by id so the choice is deterministic."""
    return sorted(drones, key=lambda pair: (distance_km(pair[0].location, pickup), pair[0].id))
