"""Ports, data folders and the connection settings one local stack hands to the app."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

# Well-known local credentials, public on purpose (like the official emulators' keys): devstack is for
# a developer's machine, never for data that matters.
SERVICEBUS_KEY_NAME = "RootManageSharedAccessKey"
SERVICEBUS_KEY = "SAS_KEY_VALUE"
COSMOS_KEY = "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw=="
EVENTGRID_KEY = "ZGV2c3RhY2stZXZlbnRncmlkLWtleQ=="
EVENTGRID_TOPIC = "delivery-events"
DEFAULT_DASHBOARD_PORT = 7070
# `up` gives the broker's admin endpoint (docs/servicebus.md "Admin endpoint") the port after the AMQP one: 5673 by
# default, and next to whatever --servicebus-port a test or a second stack chooses, so it never needs a flag of its own.
SERVICEBUS_ADMIN_PORT_OFFSET = 1
# Either one set by the user means they export traces somewhere of their own
# (https://opentelemetry.io/docs/specs/otel/protocol/exporter/#configuration-options).
OTLP_ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")


@dataclass(frozen=True)
class Ports:
    """Where each process listens; the defaults are the ports the real tools use."""

    servicebus: int = 5672
    cosmos: int = 8081
    eventgrid: int = 7073
    host: int = 7071
    # The trace dashboard is opt-in here (None: not started) so stacks built in code (tests, benchmarks) never
    # claim a fixed port; `devstack up` asks for it on DEFAULT_DASHBOARD_PORT unless told otherwise.
    dashboard: int | None = None
    # The broker's JSON admin endpoint (entity depths for the dashboard); opt-in for the same reason.
    servicebus_admin: int | None = None

    def by_service(self) -> dict[str, int]:
        """Service name → port of the four core services, in start order."""
        return {"servicebus": self.servicebus, "cosmos": self.cosmos,
                "eventgrid": self.eventgrid, "host": self.host}


@dataclass(frozen=True)
class StackSettings:
    """Everything `up` needs to start the stack, derived from flags (or from a test's choices)."""

    app_dir: Path
    data_dir: Path
    ports: Ports = field(default_factory=Ports)
    bind: str = "127.0.0.1"
    servicebus_config: Path | None = None     # default: <app>/resources/Config.json
    cosmos_provision: Path | None = None      # default: <app>/resources/cosmos.json
    eventgrid_config: Path | None = None      # default: <app>/resources/eventgrid.json
    eventgrid_time_scale: float = 1.0
    app_settings: dict[str, str] = field(default_factory=dict)  # extra/overriding app settings
    log_level: str = "INFO"
    host_instances: int = 1  # Functions host processes sharing the host port (scale-out)

    def resource(self, given: Path | None, name: str) -> Path:
        """A declaration file: the one given, else the one the app ships under resources/."""
        return given if given is not None else self.app_dir / "resources" / name

    def with_ports(self, ports: Ports) -> StackSettings:
        """The same stack on other ports."""
        return replace(self, ports=ports)

    def connection_settings(self) -> dict[str, str]:
        """The app settings that point the app at this stack (what local.settings.json would hold)."""
        host, ports = self.bind, self.ports
        return {
            "ServiceBusConnection": (
                f"Endpoint=sb://{host}:{ports.servicebus};SharedAccessKeyName={SERVICEBUS_KEY_NAME};"
                f"SharedAccessKey={SERVICEBUS_KEY};UseDevelopmentEmulator=true;"),
            "CosmosDBConnection": f"AccountEndpoint=http://{host}:{ports.cosmos}/;AccountKey={COSMOS_KEY};",
            "EventGridTopicEndpoint": f"http://{host}:{ports.eventgrid}/topics/{EVENTGRID_TOPIC}/api/events",
            "EventGridTopicKey": EVENTGRID_KEY,
        }

    def telemetry_settings(self, environ: Mapping[str, str]) -> dict[str, str]:
        """The OTLP exporter settings that point the host at the dashboard — none without a dashboard, or when
        the user's environment or local settings already name an OTLP endpoint (theirs wins)."""
        if self.ports.dashboard is None:
            return {}
        chosen = {**environ, **self.app_settings}
        if any(chosen.get(name) for name in OTLP_ENDPOINT_VARIABLES):
            return {}
        return {"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://{self.bind}:{self.ports.dashboard}",
                "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}

    def endpoints(self) -> dict[str, str]:
        """Human-readable endpoint per service."""
        host, ports = self.bind, self.ports
        endpoints = {"servicebus": f"amqp://{host}:{ports.servicebus}"}
        if ports.servicebus_admin is not None:
            endpoints["servicebus-admin"] = self.servicebus_admin_url() + "/entities"
        endpoints |= {
            "cosmos": f"http://{host}:{ports.cosmos}/",
            "eventgrid": f"http://{host}:{ports.eventgrid}/topics/{EVENTGRID_TOPIC}/api/events",
            "host": f"http://{host}:{ports.host}/api/deliveries",
        }
        if ports.dashboard is not None:
            endpoints["dashboard"] = f"http://{host}:{ports.dashboard}/"
        return endpoints

    def servicebus_admin_url(self) -> str:
        """The broker's admin endpoint (meaningful only when ``ports.servicebus_admin`` is set)."""
        return f"http://{self.bind}:{self.ports.servicebus_admin}"
