"""The whole local stack for end-to-end tests: the same supervisor `make up` uses, on free ports."""
from __future__ import annotations

import json
import signal
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from azure.cosmos import CosmosClient
from azure.servicebus import ServiceBusClient

from devstack.stack.app_settings import local_values
from devstack.stack.services import stack_services
from devstack.stack.settings import COSMOS_KEY, Ports, StackSettings
from devstack.stack.supervisor import Supervisor
from tests.support.processes import REPO_ROOT, free_port

T = TypeVar("T")


@dataclass
class RunningStack:
    """A started stack: where it listens, its app settings, and clients for looking inside."""

    settings: StackSettings
    supervisor: Supervisor
    log_path: Path

    @property
    def base_url(self) -> str:
        """The Functions host."""
        return f"http://127.0.0.1:{self.settings.ports.host}"

    def app_env(self) -> dict[str, str]:
        """The settings the host runs with (for tools such as `devstack dlq`)."""
        return {**self.settings.app_settings, **self.settings.connection_settings()}

    def container(self, name: str) -> Any:
        """A Cosmos container of the app's database, through the real SDK."""
        client = CosmosClient(f"http://127.0.0.1:{self.settings.ports.cosmos}/", COSMOS_KEY)
        return client.get_database_client("drone-delivery").get_container_client(name)

    def query(self, container: str, query: str, **parameters: Any) -> list[dict[str, Any]]:
        """Cross-partition query with ``@name`` parameters."""
        params = [{"name": f"@{key}", "value": value} for key, value in parameters.items()]
        return list(self.container(container).query_items(query, parameters=params,
                                                          enable_cross_partition_query=True))

    def eventgrid_pending(self) -> int:
        """Deliveries Event Grid still owes its subscribers (its /health endpoint)."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.settings.ports.eventgrid}/health", timeout=10) as reply:
            return int(json.loads(reply.read())["pending"])

    def servicebus(self) -> ServiceBusClient:
        """A client of the stack's broker."""
        return ServiceBusClient.from_connection_string(self.settings.connection_settings()["ServiceBusConnection"])

    def restart_host(self, **settings: str) -> None:
        """Run the host again with these app settings added (e.g. `AzureWebJobs.<fn>.Disabled`)."""
        self.supervisor.restart("host", settings)

    def kill(self, name: str) -> None:
        """SIGKILL one child (``servicebus``, ``cosmos``, ``eventgrid`` or ``host``): no chance to clean up."""
        self._child(name).proc.send_signal(signal.SIGKILL)
        self._child(name).proc.wait(10)

    def stop_service(self, name: str, timeout: float = 20.0) -> None:
        """SIGTERM one child and wait for it to exit (SIGKILL if it hangs); it stays down until started."""
        proc = self._child(name).proc
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)

    def start_service(self, name: str, timeout: float = 60.0) -> None:
        """Start a stopped or killed child again, on the same port and data folder, and wait until it listens.

        Call it from a thread that outlives the child (the fault harness uses the test's main thread): a
        supervisor that spawns with PR_SET_PDEATHSIG from the calling thread has Linux SIGTERM the child when
        that *thread* ends, not only the process."""
        self.supervisor.restart(name, {}, timeout=timeout)

    def pid(self, name: str) -> int:
        """The process id of one child (changes on every restart)."""
        return self._child(name).proc.pid

    def _child(self, name: str) -> Any:
        return next(child for child in self.supervisor.children if child.spec.name == name)

    def log_tail(self, lines: int = 80) -> str:
        """The end of the merged stack log, for failure messages."""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def e2e_settings(data_dir: Path, servicebus_config: Path | None = None, **overrides: str) -> StackSettings:
    """This app on free ports with times scaled down (flights of a second or two, fast retries)."""
    ports = Ports(servicebus=free_port(), cosmos=free_port(), eventgrid=free_port(), host=free_port())
    app_settings = {**local_values(REPO_ROOT), "FlightTimeScale": "0.002", "ReadinessDeadlineSeconds": "12",
                    "MaxPackageWeightKg": "30",
                    # host.json's 5 s session idle time, scaled down like every other timing knob: with
                    # 8 session slots, due ReadinessDeadline timers of finished deliveries would
                    # otherwise hold every slot for 5 s each and starve live deliveries past their
                    # (scaled) 12 s deadline. The override syntax is the real host's.
                    "AzureFunctionsJobHost__extensions__serviceBus__sessionIdleTimeout": "00:00:01",
                    **overrides}
    return StackSettings(app_dir=REPO_ROOT, data_dir=data_dir, ports=ports, eventgrid_time_scale=0.01,
                         servicebus_config=servicebus_config, app_settings=app_settings, log_level="INFO")


@contextmanager
def running_stack(data_dir: Path, servicebus_config: Path | None = None, **overrides: str) -> Iterator[RunningStack]:
    """Start Service Bus, Cosmos DB, Event Grid and the host; stop them all afterwards.

    ``servicebus_config`` replaces resources/Config.json (e.g. a copy with an extra subscription);
    ``overrides`` are app settings."""
    data_dir.mkdir(parents=True, exist_ok=True)
    settings = e2e_settings(data_dir, servicebus_config, **overrides)
    log_path = data_dir / "stack.log"
    log = open(log_path, "a", buffering=1)  # noqa: SIM115 - closed below

    def sink(name: str, line: str) -> None:
        log.write(f"{name:>10} | {line}\n")

    supervisor = Supervisor(stack_services(settings), sink)
    try:
        supervisor.start(timeout=90)
        yield RunningStack(settings, supervisor, log_path)
    finally:
        supervisor.stop()
        log.close()


def eventually(probe: Callable[[], T], done: Callable[[T], bool], timeout: float,
               what: str, interval: float = 0.25) -> T:
    """Poll ``probe`` until ``done`` holds; fail with the last value seen after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    value = probe()
    while not done(value):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; last seen: "
                                 f"{json.dumps(value, default=str)[:2000]}")
        time.sleep(interval)
        value = probe()
    return value
