"""Start the stack's children, merge their logs into one prefixed stream, stop them in order."""
from __future__ import annotations

import ctypes
import ctypes.util
import logging
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import IO

from devstack.stack.services import ServiceSpec, child_environment

logger = logging.getLogger(__name__)

LineSink = Callable[[str, str], None]  # (service name, log line)
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


class StackError(RuntimeError):
    """The stack cannot start or a child died; the message says which and why."""


def port_in_use(host: str, port: int) -> bool:
    """True when something already listens on host:port (so our child could not bind it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def wait_until_listening(host: str, port: int, deadline: float, alive: Callable[[], bool]) -> None:
    """Poll host:port until it accepts a connection; raise if the child dies or time runs out."""
    while time.monotonic() < deadline:
        if not alive():
            raise StackError("exited before it was ready")
        if port_in_use(host, port):
            return
        time.sleep(0.1)
    raise StackError(f"not listening on {host}:{port} in time")


def _terminate_with_parent() -> None:
    """In the child, before exec: ask Linux for SIGTERM when the supervisor dies (even by SIGKILL),
    so a crashed or killed `devstack up` never leaves emulators holding their ports (prctl(2),
    PR_SET_PDEATHSIG). Elsewhere this is a no-op and the signal handlers are the only guard."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


@dataclass
class Child:
    """A started child process and the thread copying its output."""

    spec: ServiceSpec
    proc: subprocess.Popen[bytes]
    pump: threading.Thread


class Supervisor:
    """Owns the children of one stack; used by `devstack up` and by the end-to-end tests."""

    def __init__(self, specs: list[ServiceSpec], sink: LineSink, bind: str = "127.0.0.1") -> None:
        self.specs, self.sink, self.bind = specs, sink, bind
        self.children: list[Child] = []

    def check_ports(self) -> None:
        """Refuse to start when a port is taken or given twice, naming the service and the flag that moves it."""
        seen: dict[int, str] = {}
        for spec in self.specs:
            if spec.port in seen:
                raise StackError(f"port {spec.port} is given to both {seen[spec.port]} and {spec.name}; "
                                 f"choose another with --{spec.name}-port")
            seen[spec.port] = spec.name
            if port_in_use(self.bind, spec.port):
                raise StackError(
                    f"port {spec.port} for {spec.name} is already in use (another stack running?); "
                    f"choose another with --{spec.name}-port")

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
                    wait_until_listening(self.bind, spec.port, time.monotonic() + timeout,
                                         lambda: child.proc.poll() is None
                                         and not (stop_event is not None and stop_event.is_set()))
                except StackError as exc:
                    if stop_event is not None and stop_event.is_set():
                        raise StackError("start-up interrupted") from None
                    raise StackError(f"{spec.name} {exc} (see its log lines above)") from None
                self.sink("devstack", f"{spec.name} is up on port {spec.port}")
        except BaseException:
            self.stop()
            raise

    def restart(self, name: str, env: dict[str, str], timeout: float = 60.0) -> None:
        """Stop one child and start it again as first specified plus ``env`` (e.g. other app settings)."""
        index = next(i for i, child in enumerate(self.children) if child.spec.name == name)
        old = self.children.pop(index)
        self._terminate(old, timeout=20.0)
        original = next(spec for spec in self.specs if spec.name == name)
        spec = replace(original, env={**original.env, **env})
        child = self._spawn(spec)
        wait_until_listening(self.bind, spec.port, time.monotonic() + timeout, lambda: child.proc.poll() is None)
        self.sink("devstack", f"{name} restarted on port {spec.port}")

    def _spawn(self, spec: ServiceSpec) -> Child:
        # A new session keeps the terminal's Ctrl-C away from the children: the supervisor stops
        # them itself, host first, so in-flight invocations still reach the emulators.
        proc = subprocess.Popen(spec.command(), env=child_environment(spec), stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True,
                                preexec_fn=_terminate_with_parent)
        pump = threading.Thread(target=self._pump, args=(spec.name, proc.stdout), daemon=True)
        pump.start()
        child = Child(spec, proc, pump)
        self.children.append(child)
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

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM each child in reverse start order and wait for it; SIGKILL what hangs."""
        for child in reversed(self.children):
            self._terminate(child, timeout)
        self.children.clear()

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
