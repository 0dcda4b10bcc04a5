"""Session fixture: the `.venv-indexer` that tools/check_functions.py runs the worker's indexer in."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tools.check_functions import find_python313

REPO_ROOT = Path(__file__).resolve().parents[2]
TOOL = REPO_ROOT / "tools" / "check_functions.py"
APPS = Path(__file__).resolve().parent / "apps"


@pytest.fixture(scope="session")
def python313() -> str | None:
    """Python 3.13 if the machine has one, with `.venv-indexer` built; None if it has none.

    Building the venv is the tool's own job (`--setup-only`), so the tests exercise the same
    provisioning path as `make check-functions`. If 3.13 exists but the build fails, fail loudly.
    """
    python = find_python313()
    if python is None:
        return None
    setup = subprocess.run([sys.executable, str(TOOL), "--setup-only"], capture_output=True,
                           text=True, timeout=600, check=False)
    assert setup.returncode == 0, (
        f"Python 3.13 is at {python} but building .venv-indexer failed:\n"
        f"{setup.stdout}\n{setup.stderr}")
    return python
