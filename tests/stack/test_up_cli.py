"""`python -m devstack up` refuses a busy port with a clear message, not a traceback."""
from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from tests.support.processes import REPO_ROOT, free_port


def test_busy_port_names_the_service_and_the_flag(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "devstack", "up", "--data-dir", str(tmp_path),
             "--servicebus-port", str(free_port()), "--cosmos-port", str(port),
             "--eventgrid-port", str(free_port()), "--host-port", str(free_port())],
            cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    out = " ".join(result.stdout.split())  # rich may wrap long lines
    assert f"port {port} for cosmos is already in use" in out
    assert "--cosmos-port" in out
    assert "Traceback" not in result.stdout + result.stderr
