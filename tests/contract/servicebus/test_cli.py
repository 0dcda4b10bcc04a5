"""`python -m devstack servicebus`: refuses a bad topology clearly, and exits 0 on SIGTERM."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.support.processes import REPO_ROOT, free_port
from tests.support.servicebus import run_broker


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "devstack", "servicebus", *args], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=60)


def test_bad_topology_is_a_clear_error(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"UserConfig": {"Namespaces": [{"Queues": [
        {"Name": "q", "Properties": {"LockDuration": "one minute"}}]}]}}))
    result = run_cli("--port", str(free_port()), "--config", str(config), "--data-dir", str(tmp_path / "d"))
    assert result.returncode == 2
    assert "not an ISO-8601 duration: 'one minute'" in result.stderr


def test_missing_config_file_is_a_clear_error(tmp_path: Path) -> None:
    result = run_cli("--port", str(free_port()), "--config", str(tmp_path / "nope.json"))
    assert result.returncode == 2
    assert "cannot read topology" in result.stderr


def test_logs_where_it_listens_and_stops_with_0_on_sigterm(tmp_path: Path) -> None:
    config = {"UserConfig": {"Namespaces": [{"Name": "n", "Queues": [{"Name": "q"}]}]}}
    with run_broker(tmp_path, config) as broker:
        assert f"listening on amqp://127.0.0.1:{broker.port}" in broker.process.log_tail()
        assert broker.process.stop() == 0
    assert (tmp_path / "servicebus" / "servicebus.sqlite3").exists()
