"""A real `python -m devstack up` restarts a child that dies while the others keep running; `--no-restart`
stops everything; a child spawned on behalf of a short-lived thread outlives that thread.

The stack runs a small sample app (tests/functions/apps/http_app) with one-line declarations, so these
tests depend on devstack alone, not on the drone-delivery app.
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from devstack.stack.services import ServiceSpec
from devstack.stack.supervisor import Supervisor, port_in_use
from tests.functions.sample_apps import prepare_app
from tests.support.processes import REPO_ROOT, free_port

SERVICES = ("servicebus", "cosmos", "eventgrid", "dashboard", "host")  # all on free ports, never the defaults


def small_app(tmp_path: Path) -> Path:
    """http_app plus the declarations `up` reads from <app>/resources/."""
    app = prepare_app("http_app", tmp_path)
    resources = app / "resources"
    resources.mkdir()
    (resources / "Config.json").write_text(json.dumps({"UserConfig": {"Namespaces": [
        {"Name": "sbemulatorns", "Queues": [{"Name": "q1", "Properties": {}}], "Topics": []}]}}))
    (resources / "cosmos.json").write_text(json.dumps({"databases": [
        {"id": "db", "containers": [{"id": "c", "partitionKey": "/id"}]}]}))
    (resources / "eventgrid.json").write_text(json.dumps({"topics": [{"name": "t-one", "subscriptions": []}]}))
    return app


class Up:
    """A running `devstack up` whose merged output is collected line by line."""

    def __init__(self, proc: subprocess.Popen[str], ports: dict[str, int]) -> None:
        self.proc, self.ports, self.lines = proc, ports, []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip())

    def text(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, pattern: str, timeout: float = 90.0) -> re.Match[str]:
        """The first output line matching ``pattern``, polled until ``timeout``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if match := re.search(pattern, line):
                    return match
            if self.proc.poll() is not None and not self._reader.is_alive():
                break
            time.sleep(0.1)
        raise AssertionError(f"no line matching {pattern!r} in time; output:\n{self.text()[-4000:]}")

    def pids(self) -> dict[str, int]:
        """Each child's pid, from the supervisor's `<name> is up on port <p> (pid <n>)` lines."""
        return {name: int(self.wait_for(rf"{name} is up on port {self.ports[name]} \(pid (\d+)\)")[1])
                for name in SERVICES}


@contextmanager
def running_up(tmp_path: Path, *flags: str) -> Iterator[Up]:
    ports = {name: free_port() for name in SERVICES}
    argv = [sys.executable, "-m", "devstack", "up", "--app", str(small_app(tmp_path)),
            "--data-dir", str(tmp_path / "data"), *(f"--{name}-port={port}" for name, port in ports.items()),
            *flags]
    proc = subprocess.Popen(argv, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"})
    try:
        yield Up(proc, ports)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(60)


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie waiting to be reaped counts as dead)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def wait_dead(pids: list[int], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while any(alive(pid) for pid in pids):
        assert time.monotonic() < deadline, f"still running: {[pid for pid in pids if alive(pid)]}"
        time.sleep(0.1)


def get_status(url: str) -> int:
    with urllib.request.urlopen(url, timeout=10) as response:
        return int(response.status)


def test_a_killed_emulator_is_restarted_and_serves_while_the_others_keep_their_pids(tmp_path: Path) -> None:
    with running_up(tmp_path) as up:
        pids = up.pids()
        up.wait_for("devstack is up")
        os.kill(pids["eventgrid"], signal.SIGKILL)
        up.wait_for(r"eventgrid exited with code -9; restarting it in 1s \(the others keep running\)", 30)
        restarted = int(up.wait_for(rf"eventgrid restarted: up on port {up.ports['eventgrid']} \(pid (\d+)\)",
                                    60)[1])
        assert restarted != pids["eventgrid"] and alive(restarted)
        assert get_status(f"http://127.0.0.1:{up.ports['eventgrid']}/health") == 200
        assert all(alive(pids[name]) for name in ("servicebus", "cosmos", "host"))
        assert get_status(f"http://127.0.0.1:{up.ports['host']}/v1/greet/again") == 200
        assert up.proc.poll() is None  # the stack itself never stopped
        up.proc.send_signal(signal.SIGTERM)
        assert up.proc.wait(60) == 0
    wait_dead([restarted, *pids.values()])


def test_no_restart_stops_the_whole_stack_when_one_child_dies(tmp_path: Path) -> None:
    with running_up(tmp_path, "--no-restart") as up:
        pids = up.pids()
        up.wait_for("devstack is up")
        os.kill(pids["cosmos"], signal.SIGKILL)
        assert up.proc.wait(60) == 1
        up.wait_for("cosmos exited with code -9; stopping the stack")
    wait_dead(list(pids.values()))
    assert "restarting it in" not in up.text()


def test_children_started_and_restarted_from_short_lived_threads_outlive_them(tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "eventgrid.json"
    config.write_text(json.dumps({"topics": [{"name": "t-one", "subscriptions": []}]}))
    spec = ServiceSpec("eventgrid", ["eventgrid", "--port", str(port), "--config", str(config),
                                     "--data-dir", str(tmp_path / "eg")], port)
    supervisor = Supervisor([spec], lambda name, line: None)
    try:
        for work in (lambda: supervisor.start(timeout=60), lambda: supervisor.restart("eventgrid", {})):
            worker = threading.Thread(target=work)
            worker.start()
            worker.join(90)
            gone_by = time.monotonic() + 10  # join() returns before the OS thread has quite exited
            while Path(f"/proc/self/task/{worker.native_id}").exists():
                assert time.monotonic() < gone_by
                time.sleep(0.01)
            # Linux sends PR_SET_PDEATHSIG as the spawning thread exits; a child that got it stops in well
            # under a second, so it must still be running and listening over the next two.
            [child] = supervisor.children
            watch_until = time.monotonic() + 2
            while time.monotonic() < watch_until:
                assert child.proc.poll() is None, "the child died with the thread that asked for it"
                assert port_in_use("127.0.0.1", port)
                time.sleep(0.1)
    finally:
        supervisor.stop()
