"""tools/check_functions.py against sample apps: the worker's indexer versus azure-functions' get_functions().

Every run is a real subprocess: the project's Python (3.11) starts the tool, which re-runs itself in
`.venv-indexer` under Python 3.13 with `azure-functions-runtime`. Where the machine has no Python
3.13 the tool's documented answer is "skipped: no Python 3.13" (exit 0), which is what is asserted.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.tools.conftest import APPS, TOOL

# What the project's own azure-functions (get_functions() + get_raw_bindings(), as the devstack host
# and `func` use them) makes of an app, run in the project's venv.
_GET_FUNCTIONS = """
import json, sys
sys.path.insert(0, sys.argv[1])
import azure.functions as func
import function_app
[app] = [v for v in vars(function_app).values() if isinstance(v, func.FunctionRegister)]
print(json.dumps({f.get_function_name(): [json.loads(b) for b in f.get_raw_bindings()]
                  for f in app.get_functions()}))
"""

SKIPPED = "check-functions: skipped: no Python 3.13"


def run_tool(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the tool the way `make check-functions` does (any Python starts it)."""
    return subprocess.run([sys.executable, str(TOOL), *args], capture_output=True, text=True,
                          timeout=120, env=env, check=False)


def index(app: str, python313: str | None) -> subprocess.CompletedProcess[str] | None:
    """Index a sample app; None (after checking the skip message) where there is no 3.13."""
    result = run_tool("--app", str(APPS / app))
    if python313 is None:
        assert result.returncode == 0 and SKIPPED in result.stdout, result
        return None
    return result


def get_functions(app: str) -> dict[str, list[dict]]:
    """azure-functions' own view of the app (no worker validation)."""
    result = subprocess.run([sys.executable, "-c", _GET_FUNCTIONS, str(APPS / app)],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def function_lines(stdout: str) -> dict[str, str]:
    """`ok    name  ...` / `FAIL  name: ...` lines keyed by function name."""
    lines = {}
    for line in stdout.splitlines():
        status, _, rest = line.partition(" ")
        if status in ("ok", "FAIL"):
            name = rest.strip().split()[0].rstrip(":")
            lines[name] = line
    return lines


def test_good_app_indexes_every_function_with_its_trigger_and_bindings(python313):
    result = index("good", python313)
    if result is None:
        return
    assert result.returncode == 0, result.stdout + result.stderr
    lines = function_lines(result.stdout)
    assert set(lines) == {"accept_delivery", "on_delivery", "on_status_event"}
    assert all(line.startswith("ok ") for line in lines.values())
    assert "trigger=httpTrigger" in lines["accept_delivery"]
    assert "doc:cosmosDB(out)" in lines["accept_delivery"]
    assert "$return:http(out)" in lines["accept_delivery"]
    # The SDK-type parameter goes through the deferred-binding extension; the settlement client
    # is the one unbound parameter the worker allows (ServiceBusMessageActions).
    assert "trigger=serviceBusTrigger" in lines["on_delivery"]
    assert "msg:serviceBusTrigger(in, sdk-type ServiceBusReceivedMessage)" in lines["on_delivery"]
    assert "actions:settlement-client" in lines["on_delivery"]
    assert "trigger=eventGridTrigger" in lines["on_status_event"]
    assert "out:cosmosDB(out)" in lines["on_status_event"]
    assert "3 function(s) indexed, 0 rejected" in result.stdout
    assert "azure-functions-runtime 1.3.0" in result.stdout


# app, function, fragments of the worker's message (they name the binding or parameter).
BAD_APPS = [
    ("bad_out_type", "accept_delivery",
     ["'doc'", "cosmosDB", "do not match", "annotation HttpResponse"]),
    ("bad_unbound_param", "on_status_event",
     ["declared in Python but not in the function definition", "'fleet'"]),
    ("bad_return_annotation", "get_delivery",
     ['return annotation "dict" does not match binding type "http"']),
    ("bad_output_not_out", "on_status_event",
     ['binding doc is declared to have the "out" direction', "not a subclass of azure.functions.Out"]),
    ("bad_two_unbound", "on_delivery",
     ["declared in Python but not in the function definition", "'clock'", "'actions'"]),
]


@pytest.mark.parametrize(("app", "function", "fragments"), BAD_APPS, ids=[a[0] for a in BAD_APPS])
def test_worker_rejects_what_get_functions_accepts(python313, app, function, fragments):
    # First half: azure-functions alone builds the function and its binding JSON without complaint.
    accepted = get_functions(app)
    assert accepted.get(function), accepted
    # Second half: the worker's indexer refuses it, naming the function and the binding.
    result = index(app, python313)
    if result is None:
        return
    assert result.returncode == 1, result.stdout + result.stderr
    line = function_lines(result.stdout)[function]
    assert line.startswith(f"FAIL  {function}: cannot load the {function} function: ")
    for fragment in fragments:
        assert fragment in line
    assert "check-functions: FAILED: 0 function(s) indexed, 1 rejected" in result.stderr


def test_every_broken_function_is_reported_and_good_ones_still_listed(python313):
    result = index("mixed", python313)
    if result is None:
        return
    assert result.returncode == 1
    lines = function_lines(result.stdout)
    assert lines["health"].startswith("ok    health  trigger=httpTrigger")
    # azure-functions' Event Grid output converter raises a bare TypeError for Out[HttpResponse];
    # the tool adds which bindings were being checked.
    assert lines["relay"].startswith("FAIL  relay: TypeError: ")
    assert "forward:eventGrid" in lines["relay"]
    assert "1 function(s) indexed, 1 rejected" in result.stderr


def test_import_error_names_the_missing_module(python313):
    result = index("bad_import", python313)
    if result is None:
        return
    assert result.returncode == 1
    assert "ModuleNotFoundError: No module named 'drone_telemetry_sdk'" in result.stderr
    assert "Please check the requirements.txt" in result.stderr  # the worker's own hint


def test_missing_script_file_is_a_usage_error(python313, tmp_path):
    result = run_tool("--app", str(tmp_path))
    if python313 is None:
        assert SKIPPED in result.stdout
        return
    assert result.returncode == 2
    assert f"no function_app.py in {tmp_path}" in result.stderr


def _env_without_python313(tmp_path: Path, **extra: str) -> dict[str, str]:
    """An environment where no Python 3.13 can be found: empty PATH, empty pyenv root."""
    env = {k: v for k, v in os.environ.items() if k != "CHECK_FUNCTIONS_PYTHON"}
    (tmp_path / "bin").mkdir()
    return {**env, "PATH": str(tmp_path / "bin"), "PYENV_ROOT": str(tmp_path / "pyenv"), **extra}


def test_without_python313_the_tool_says_skipped_and_exits_0(tmp_path):
    result = run_tool("--app", str(APPS / "bad_out_type"), env=_env_without_python313(tmp_path))
    assert result.returncode == 0
    assert result.stdout.startswith(SKIPPED)
    assert "building" not in result.stdout


def test_an_interpreter_that_is_not_3_13_is_not_used(tmp_path):
    env = _env_without_python313(tmp_path, CHECK_FUNCTIONS_PYTHON=sys.executable)
    result = run_tool("--app", str(APPS / "good"), env=env)
    assert result.returncode == 0
    assert result.stdout.startswith(SKIPPED)


def test_the_project_app_indexes_cleanly(python313):
    """`make check-functions` on this repository: every function of function_app.py loads."""
    repo_root = TOOL.parents[1]
    result = run_tool("--app", str(repo_root))
    if python313 is None:
        assert SKIPPED in result.stdout
        return
    assert result.returncode == 0, result.stdout + result.stderr
    lines = function_lines(result.stdout)
    assert lines and all(line.startswith("ok ") for line in lines.values()), result.stdout
    assert f"{len(lines)} function(s) indexed, 0 rejected" in result.stdout
