"""Start devstack commands as real subprocesses on free loopback ports, for tests and benchmarks.

Tests never use well-known ports (5672, 8081, 7071...) so they never collide with a stack a user is
running; every service a test needs is started here by the suite itself.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from devstack.stack.supervisor import wait_until_listening

REPO_ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 30.0, proc: subprocess.Popen | None = None) -> None:
    """Block until 127.0.0.1:port accepts a connection; fail early if ``proc`` exits first.

    The same readiness rule `devstack up` uses (one implementation, so tests wait as the stack does).
    """
    wait_until_listening("127.0.0.1", port, time.monotonic() + timeout,
                         lambda: proc is None or proc.poll() is None)


@dataclass
class ServiceProcess:
    """A running ``python -m devstack ...`` child and where its log goes."""

    argv: list[str]
    port: int
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen | None = None

    def start(self, timeout: float = 30.0) -> ServiceProcess:
        """Start the process and wait until its port accepts connections."""
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed with the process
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **self.env}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "devstack", *self.argv],
            cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        log.close()
        try:
            wait_for_port(self.port, timeout, self.proc)
        except Exception as exc:
            self.stop()
            raise RuntimeError(f"{self.argv[0]} failed to start:\n{self.log_tail()}") from exc
        return self

    def kill(self) -> None:
        """SIGKILL: no chance to flush or clean up (durability tests)."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM, then wait for a clean exit (SIGKILL after ``timeout``); returns the exit code."""
        if not self.proc:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return self.proc.returncode

    def log_tail(self, lines: int = 60) -> str:
        """The last lines the process logged (for failure messages)."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


@contextmanager
def devstack_process(argv: Sequence[str], port: int, log_path: Path,
                     env: dict[str, str] | None = None, timeout: float = 30.0) -> Iterator[ServiceProcess]:
    """Run ``python -m devstack <argv>`` for the duration of the block; stop it with SIGTERM after."""
    service = ServiceProcess(list(argv), port, log_path, dict(env or {})).start(timeout)
    try:
        yield service
    finally:
        service.stop()
