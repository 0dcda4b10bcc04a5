"""`python -m devstack eventgrid`: clean stop on SIGTERM, clear refusal of a bad config."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.contract.eventgrid.publishing import one_topic
from tests.support.eventgrid import run_eventgrid
from tests.support.processes import REPO_ROOT


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "devstack", "eventgrid", *args], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=60)


def test_sigterm_stops_cleanly_with_exit_code_zero(tmp_path: Path) -> None:
    with run_eventgrid(tmp_path, one_topic("http://127.0.0.1:9/unused")) as grid:
        assert "listening on http://127.0.0.1:" in grid.process.log_tail()
        code = grid.process.stop()
    assert code == 0


def test_invalid_config_is_refused_with_the_reason(tmp_path: Path) -> None:
    config = tmp_path / "eventgrid.json"
    config.write_text(json.dumps(one_topic("http://127.0.0.1:${NO_SUCH_PORT_VARIABLE}/x")))
    result = run_cli("--port", "0", "--config", str(config), "--data-dir", str(tmp_path / "data"))
    assert result.returncode == 2
    assert "NO_SUCH_PORT_VARIABLE is not set" in result.stderr


def test_dead_letter_listing_without_data_says_so(tmp_path: Path) -> None:
    result = run_cli("deadletters", "--data-dir", str(tmp_path))
    assert result.returncode == 1 and "no Event Grid data" in result.stderr
