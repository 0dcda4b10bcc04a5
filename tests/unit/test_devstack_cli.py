"""The `python -m devstack` dispatcher: lists commands, refuses unknown ones."""
from __future__ import annotations

import subprocess
import sys

from tests.support.processes import REPO_ROOT


def run_devstack(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "devstack", *args], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=60)


def test_help_lists_every_command() -> None:
    result = run_devstack("--help")
    assert result.returncode == 0
    for command in ("servicebus", "cosmos", "eventgrid", "host"):
        assert command in result.stdout


def test_unknown_command_is_refused_with_usage() -> None:
    result = run_devstack("no-such-command")
    assert result.returncode == 2
    assert "unknown command 'no-such-command'" in result.stderr
    assert "usage:" in result.stderr
