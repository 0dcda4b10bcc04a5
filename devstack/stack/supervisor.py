"""Start the stack's children, merge their logs into one prefixed stream, stop them in order."""
from __future__ import annotations

import logging
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import IO

from devstack.stack.listeners import pid_listens, procfs_available
from devstack.stack.restarts import Backoff, RestartPolicy
from devstack.stack.services import ServiceSpec, child_environment
from devstack.stack.spawner import Spawner

logger = logging.getLogger(__name__)

LineSink = Callable[[str, str], None]  # (service name, log line)


class StackError(RuntimeError):
    """The stack cannot start or a child died; the message says which and why."""


def port_in_use(host: str, port: int) -> bool:
    """True when something already listens on host:port (so our child could not bind it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def wait_until_listening(host: str, port: int, deadline: float, alive: Callable[[], bool]) -> None:
    """Poll host:port until it accepts a connection; raise if the child dies or time runs out."""
    wait_until_ready(lambda: port_in_use(host, port), deadline, alive, f"{host}:{port}")


def wait_until_ready(ready: Callable[[], bool], deadline: float, alive: Callable[[], bool], where: str) -> None:
    """Poll ``ready`` until it holds; raise if the child dies or time runs out."""
    while time.monotonic() < deadline:
        if not alive():
            raise StackError("exited before it was ready")
        if ready():
            return
        time.sleep(0.1)
    raise StackError(f"not listening on {where} in time")


@dataclass
class Child:
    """A started child process and the thread copying its output."""

    spec: ServiceSpec
    proc: subprocess.Popen[bytes]
    pump: threading.Thread
    started_at: float = field(default_factory=time.monotonic)


class Supervisor:
    """Owns the children of one stack; used by `devstack up` and by the end-to-end tests."""

    def __init__(self, specs: list[ServiceSpec], sink: LineSink, bind: str = "127.0.0.1",
                 restart_policy: RestartPolicy | None = None) -> None:
        self.specs, self.sink, self.bind = specs, sink, bind
        self.restart_policy = restart_policy or RestartPolicy()
        self.children: list[Child] = []
        self._spawner = Spawner()
        self._lock = threading.RLock()  # children may be restarted from any thread

    def check_ports(self) -> None:
        """Refuse to start when a port is taken or given twice, naming the service and the flag that moves it.

        Instances of one scaled-out service (``shared_port``) share their port on purpose."""
        seen: dict[int, tuple[str, bool]] = {}  # port -> (who has it, shared by instances)
        for spec in self.specs:
            claims = [(spec.name, spec.flag, spec.port, spec.shared_port),
                      *((flag, flag, port, False) for flag, port in spec.extra_ports)]
            for name, flag, port, shared in claims:
                if port in seen and shared and seen[port][1]:
                    continue
                if port in seen:
                    raise StackError(f"port {port} is given to both {seen[port][0]} and {name}; "
                                     f"choose another with --{flag}-port")
                seen[port] = (name, shared)
                if port_in_use(self.bind, port):
                    raise StackError(
                        f"port {port} for {name} is already in use (another stack running?); "
                        f"choose another with --{flag}-port")

    def ready(self, child: Child) -> bool:
        """True once ``child`` listens. A process sharing its port (SO_REUSEPORT) must hold a listening
        socket itself: a connect probe would succeed as soon as any one instance listens."""
        if child.spec.shared_port and procfs_available():
            return pid_listens(child.proc.pid, child.spec.port)
        return port_in_use(self.bind, child.spec.port)

    def _wait_ready(self, child: Child, deadline: float, stop_event: threading.Event | None = None) -> None:
        """Until ``child`` answers on its port; fails if it exits (or ``stop_event`` is set) first."""
        def alive() -> bool:
            return child.proc.poll() is None and not (stop_event is not None and stop_event.is_set())

        wait_until_ready(lambda: self.ready(child), deadline, alive, f"{self.bind}:{child.spec.port}")

    def start(self, timeout: float = 60.0, stop_event: threading.Event | None = None) -> None:
        """Start every child in order, each healthy before the next; on failure (or ``stop_event``,
        e.g. Ctrl-C during start-up) stop what started."""
        self.check_ports()
        try:
            for spec in self.specs:
                child = self._spawn(spec)
                if stop_event is not None and stop_event.is_set():
                    raise StackError("start-up interrupted")
                try:
                    self._wait_ready(child, time.monotonic() + timeout, stop_event)
                except StackError as exc:
                    if stop_event is not None and stop_event.is_set():
                        raise StackError("start-up interrupted") from None
                    raise StackError(f"{spec.name} {exc} (see its log lines above)") from None
                self.sink("devstack", f"{spec.name} is up on port {spec.port} (pid {child.proc.pid})")
        except BaseException:
            self.stop()
            raise

    def restart(self, name: str, env: dict[str, str], timeout: float = 60.0) -> None:
        """Stop one child and start it again as first specified plus ``env`` (e.g. other app settings).

        Safe from any thread: the new child is spawned by the supervisor's own thread (spawner.py)."""
        with self._lock:
            index = next(i for i, child in enumerate(self.children) if child.spec.name == name)
            self._terminate(self.children[index], timeout=20.0)
            original = next(spec for spec in self.specs if spec.name == name)
            child = self._spawn(replace(original, env={**original.env, **env}), index)
        self._wait_ready(child, time.monotonic() + timeout)
        self.sink("devstack", f"{name} restarted on port {child.spec.port} (pid {child.proc.pid})")

    def _spawn(self, spec: ServiceSpec, index: int | None = None) -> Child:
        """Start ``spec``'s process; it replaces ``children[index]`` (keeping the stop order) or is appended."""
        proc = self._spawner.popen(spec.command(), child_environment(spec))
        pump = threading.Thread(target=self._pump, args=(spec.name, proc.stdout), daemon=True)
        pump.start()
        child = Child(spec, proc, pump)
        with self._lock:
            if index is None:
                self.children.append(child)
            else:
                self.children[index] = child
        return child

    def _pump(self, name: str, stream: IO[bytes] | None) -> None:
        assert stream is not None
        for raw in iter(stream.readline, b""):
            self.sink(name, raw.decode(errors="replace").rstrip())

    def first_exit(self, poll: float = 0.2, stop_event: threading.Event | None = None) -> Child | None:
        """Block until a child exits (returned) or ``stop_event`` is set (None)."""
        while stop_event is None or not stop_event.is_set():
            for child in self.children:
                if child.proc.poll() is not None:
                    return child
            time.sleep(poll)
        return None

    def supervise(self, stop_event: threading.Event, poll: float = 0.2) -> None:
        """Until ``stop_event`` is set, restart each child that exits after its back-off (restarts.py),
        logging why and when; the other children run on undisturbed."""
        watch = _Watch(self, {spec.name: Backoff(self.restart_policy) for spec in self.specs})
        while not stop_event.wait(poll):
            with self._lock:
                watch.step(time.monotonic())

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM each child in reverse start order and wait for it; SIGKILL what hangs."""
        with self._lock:
            for child in reversed(self.children):
                self._terminate(child, timeout)
            self.children.clear()
        self._spawner.close()  # only now: a child outliving the spawner's thread would get SIGTERM

    def _terminate(self, child: Child, timeout: float) -> None:
        if child.proc.poll() is None:
            child.proc.send_signal(signal.SIGTERM)
            try:
                child.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.sink("devstack", f"{child.spec.name} did not stop in {timeout}s; killing it")
                child.proc.kill()
                child.proc.wait(10)
        child.pump.join(5)


class _Watch:
    """One supervisor's restart bookkeeping: which child is waiting out its back-off, which is starting."""

    def __init__(self, supervisor: Supervisor, backoffs: dict[str, Backoff]) -> None:
        self._supervisor, self._backoffs = supervisor, backoffs
        self._due: dict[str, float] = {}       # name -> when to start it again
        self._starting: dict[str, float] = {}  # name -> by when the restarted child must listen

    def step(self, now: float) -> None:
        """Notice exits, restart what is due, report restarted children once they listen."""
        sup = self._supervisor
        for index, child in enumerate(list(sup.children)):
            name = child.spec.name
            if name in self._due:
                if now >= self._due[name]:
                    del self._due[name]
                    new = sup._spawn(child.spec, index)
                    self._starting[name] = now + sup.restart_policy.ready_timeout
                    sup.sink("devstack", f"{name} restarting (pid {new.proc.pid})")
            elif child.proc.poll() is not None:
                self._starting.pop(name, None)
                delay = self._backoffs[name].after_exit(now - child.started_at)
                self._due[name] = now + delay
                sup.sink("devstack", f"{name} exited with code {child.proc.returncode}; "
                                     f"restarting it in {delay:g}s (the others keep running)")
            elif name in self._starting and sup.ready(child):
                del self._starting[name]
                sup.sink("devstack", f"{name} restarted: up on port {child.spec.port} (pid {child.proc.pid})")
            elif name in self._starting and now > self._starting[name]:
                del self._starting[name]  # killed, it is seen exiting next step and backs off further
                sup.sink("devstack", f"{name} not listening on port {child.spec.port} in "
                                     f"{sup.restart_policy.ready_timeout:g}s; killing it")
                child.proc.kill()
