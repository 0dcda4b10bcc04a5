"""The child processes of a local stack (four, plus the trace dashboard when asked): command lines and environments."""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field

from devstack.stack.settings import EVENTGRID_KEY, StackSettings

# What the dashboard needs of the app's settings to list and redrive dead letters (docs/dashboard.md "Dead letters"):
# the connections and database the host gets, under the host's names.
DASHBOARD_APP_SETTINGS = ("ServiceBusConnection", "CosmosDBConnection", "CosmosDatabaseName")


@dataclass(frozen=True)
class ServiceSpec:
    """One child: ``python -m devstack <argv>``, listening on ``port`` when healthy."""

    name: str
    argv: list[str]
    port: int
    env: dict[str, str] = field(default_factory=dict)
    # Instances of one scaled-out service listen on the same port (SO_REUSEPORT); ``role`` names the
    # service they are instances of (its `--<role>-port` flag).
    shared_port: bool = False
    role: str = ""
    # Further ports the child listens on, each as (name in `up`'s flags, port): checked before start like ``port``.
    extra_ports: tuple[tuple[str, int], ...] = ()

    @property
    def flag(self) -> str:
        """The service's name in `up`'s flags (`--host-port` for every host instance)."""
        return self.role or self.name

    def command(self) -> list[str]:
        """The full command line."""
        return [sys.executable, "-m", "devstack", *self.argv]


def stack_services(settings: StackSettings) -> list[ServiceSpec]:
    """Service Bus, Cosmos DB, Event Grid, the dashboard (when ``ports.dashboard`` is set), then the Functions host,
    each with its own data folder. The dashboard starts before the host so the host's first spans have a receiver."""
    data, ports, common = settings.data_dir, settings.ports, ["--host", settings.bind,
                                                             "--log-level", settings.log_level]
    # Event Grid's subscription endpoint (resources/eventgrid.json) names the host's port and the
    # topic key through ${FUNCTIONS_PORT} / ${EVENTGRID_TOPIC_KEY}, so one file serves any port choice.
    eventgrid_env = {"FUNCTIONS_PORT": str(ports.host), "EVENTGRID_TOPIC_KEY": EVENTGRID_KEY}
    # Real environment variables win over local.settings.json in the host, as in `func start`; the
    # stack's connection settings win over the app settings (local.settings.json points at default ports).
    host_env = {**settings.app_settings, **settings.connection_settings(), **settings.telemetry_settings(os.environ)}
    return [
        servicebus(settings, common),
        ServiceSpec("cosmos", ["cosmos", "--port", str(ports.cosmos), *common,
                               "--provision", str(settings.resource(settings.cosmos_provision, "cosmos.json")),
                               "--data-dir", str(data / "cosmos")], ports.cosmos),
        ServiceSpec("eventgrid", ["eventgrid", "--port", str(ports.eventgrid), *common,
                                  "--config", str(settings.resource(settings.eventgrid_config, "eventgrid.json")),
                                  "--time-scale", str(settings.eventgrid_time_scale),
                                  "--data-dir", str(data / "eventgrid")], ports.eventgrid, eventgrid_env),
        *dashboard(settings, common),
        *host_instances(settings, host_env, common),
    ]


def servicebus(settings: StackSettings, common: list[str]) -> ServiceSpec:
    """The broker, with its admin endpoint when ``ports.servicebus_admin`` is set."""
    ports = settings.ports
    argv = ["servicebus", "--port", str(ports.servicebus), *common,
            "--config", str(settings.resource(settings.servicebus_config, "Config.json")),
            "--data-dir", str(settings.data_dir / "servicebus")]
    if ports.servicebus_admin is None:
        return ServiceSpec("servicebus", argv, ports.servicebus)
    return ServiceSpec("servicebus", [*argv, "--admin-port", str(ports.servicebus_admin)], ports.servicebus,
                       extra_ports=(("servicebus-admin", ports.servicebus_admin),))


def dashboard(settings: StackSettings, common: list[str]) -> list[ServiceSpec]:
    """The trace dashboard (devstack/dashboard), or nothing when the stack has no dashboard port.

    It is told where the emulators' own APIs are, and gets the connection settings the host gets so that it can
    list and redrive dead letters with the same code as `python -m devstack dlq` (devstack/dlq/operations.py)."""
    port = settings.ports.dashboard
    if port is None:
        return []
    argv = ["dashboard", "--port", str(port), *common,
            "--eventgrid-url", f"http://{settings.bind}:{settings.ports.eventgrid}",
            "--eventgrid-config", str(settings.resource(settings.eventgrid_config, "eventgrid.json")),
            "--servicebus-config", str(settings.resource(settings.servicebus_config, "Config.json")),
            "--data-dir", str(settings.data_dir / "dashboard")]
    if settings.ports.servicebus_admin is not None:
        argv += ["--servicebus-admin-url", settings.servicebus_admin_url()]
    app = {**settings.app_settings, **settings.connection_settings()}
    env = {name: app[name] for name in DASHBOARD_APP_SETTINGS if app.get(name)}
    # The same expansion of resources/eventgrid.json as the emulator's (its topic key, ${EVENTGRID_TOPIC_KEY}).
    env |= {"FUNCTIONS_PORT": str(settings.ports.host), "EVENTGRID_TOPIC_KEY": EVENTGRID_KEY}
    return [ServiceSpec("dashboard", argv, port, env)]


def host_instances(settings: StackSettings, env: dict[str, str], common: list[str]) -> list[ServiceSpec]:
    """``settings.host_instances`` Functions hosts: `host`, `host-2`, ...

    Scaled out like a Functions app on Azure: every instance runs the whole app, competes for the same
    Service Bus entities (each session is held by one instance at a time) and serves HTTP on one port;
    with more than one, each binds it with SO_REUSEPORT so the kernel spreads connections among them."""
    count = settings.host_instances
    argv = ["host", "--app", str(settings.app_dir), "--port", str(settings.ports.host), *common]
    if count == 1:
        return [ServiceSpec("host", argv, settings.ports.host, env)]
    return [ServiceSpec("host" if n == 1 else f"host-{n}", [*argv, "--reuse-port"], settings.ports.host,
                        env, shared_port=True, role="host")
            for n in range(1, count + 1)]


def child_environment(spec: ServiceSpec) -> dict[str, str]:
    """The child's environment: ours, unbuffered output, plus the spec's own variables."""
    return {**os.environ, "PYTHONUNBUFFERED": "1", **spec.env}
