"""`python -m devstack up` refuses bad port choices with a clear message, not a traceback, and
never wipes data (`--reset`) before it knows it can start."""
from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.processes import REPO_ROOT, free_port


@contextmanager
def busy_port() -> Iterator[int]:
    """A port something listens on for the duration of the block."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        yield busy.getsockname()[1]


def run_up(data_dir: Path, *args: str, **ports: int) -> subprocess.CompletedProcess[str]:
    """`up` with free ports except those given; returns once it has refused (or after 60 s)."""
    chosen = {name: ports.get(name.replace("-", "_")) or free_port()
              for name in ("servicebus", "servicebus-admin", "cosmos", "eventgrid", "dashboard", "host")}
    argv = [f"--{name}-port={port}" for name, port in chosen.items()]
    return subprocess.run([sys.executable, "-m", "devstack", "up", "--data-dir", str(data_dir), *argv, *args],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)


def refusal(result: subprocess.CompletedProcess[str]) -> str:
    """What `up` said, with rich's line wrapping undone; asserts it refused cleanly."""
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    return " ".join(result.stdout.split())


def test_busy_port_names_the_service_and_the_flag(tmp_path: Path) -> None:
    with busy_port() as port:
        said = refusal(run_up(tmp_path, cosmos=port))
    assert f"port {port} for cosmos is already in use" in said
    assert "--cosmos-port" in said


def test_the_same_port_for_two_services_is_refused(tmp_path: Path) -> None:
    port = free_port()
    said = refusal(run_up(tmp_path, servicebus=port, cosmos=port))
    assert f"port {port} is given to both servicebus and cosmos" in said


def test_reset_keeps_the_data_when_the_stack_cannot_start(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "servicebus").mkdir(parents=True)
    (data / "servicebus" / "keep.sqlite").write_text("a running stack's data")
    with busy_port() as port:
        refusal(run_up(data, "--reset", host=port))
    assert (data / "servicebus" / "keep.sqlite").read_text() == "a running stack's data"


def test_a_busy_admin_port_names_its_flag(tmp_path: Path) -> None:
    with busy_port() as port:
        said = refusal(run_up(tmp_path, servicebus_admin=port))
    assert f"port {port} for servicebus-admin is already in use" in said
    assert "--servicebus-admin-port" in said
