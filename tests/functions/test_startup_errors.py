"""An app the host cannot run stops it at once: non-zero exit, one clear line naming function and binding."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.processes import REPO_ROOT, free_port

HEADER = "import azure.functions as func\napp = func.FunctionApp()\n"
CASES = {
    "import_error": (HEADER + "import no_such_module_anywhere\n",
                     ["cannot import", "No module named 'no_such_module_anywhere'", "function_app.py:3"]),
    "unsupported_trigger": (HEADER + "@app.blob_trigger(arg_name='blob', path='c/{name}', connection='X')\n"
                            "def on_blob(blob: func.InputStream) -> None: ...\n",
                            ["function 'on_blob'", "binding 'blob'", "'blobTrigger' is not supported"]),
    "unsupported_output": (HEADER + "@app.route(route='r')\n"
                           "@app.queue_output(arg_name='out', queue_name='q', connection='X')\n"
                           "def r(req: func.HttpRequest, out: func.Out[str]) -> str: ...\n",
                           ["function 'r'", "binding 'out'", "'queue' is not supported"]),
    "missing_setting": (HEADER + "@app.service_bus_queue_trigger(arg_name='m', queue_name='q', connection='NotSet')\n"
                        "def m(m: func.ServiceBusMessage) -> None: ...\n",
                        ["function 'm', binding 'm' (serviceBusTrigger)", "needs app setting 'NotSet'"]),
    "missing_eventgrid_setting": (HEADER + "@app.route(route='r')\n"
                                  "@app.event_grid_output(arg_name='e', topic_endpoint_uri='EgUri', "
                                  "topic_key_setting='EgKey')\n"
                                  "def r(req: func.HttpRequest, e: func.Out[str]) -> str: ...\n",
                                  ["function 'r', binding 'e' (eventGrid)", "needs app setting 'EgUri'"]),
    "unbound_parameter": (HEADER + "@app.route(route='r')\ndef r(req: func.HttpRequest, extra: str) -> str: ...\n",
                          ["function 'r'", "extra have no binding"]),
    "bad_schedule": (HEADER + "@app.timer_trigger(arg_name='t', schedule='* * *')\n"
                     "def t(t: func.TimerRequest) -> None: ...\n",
                     ["function 't', binding 't' (timerTrigger)", "NCRONTAB needs 6 fields"]),
    "bad_route": (HEADER + "@app.route(route='items/{id:number}')\ndef r(req: func.HttpRequest) -> str: ...\n",
                  ["function 'r'", "unknown constraint 'number'"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_startup_error_is_one_clear_line(tmp_path: Path, case: str) -> None:
    source, expected = CASES[case]
    (tmp_path / "function_app.py").write_text(source)
    result = subprocess.run([sys.executable, "-m", "devstack", "host", "--app", str(tmp_path),
                             "--port", str(free_port())], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    for fragment in expected:
        assert fragment in result.stderr
    assert "Traceback" not in result.stderr


def test_enable_auth_without_master_key_refuses_to_start(tmp_path: Path) -> None:
    (tmp_path / "function_app.py").write_text(HEADER)
    result = subprocess.run([sys.executable, "-m", "devstack", "host", "--app", str(tmp_path), "--port",
                             str(free_port()), "--enable-auth"], cwd=REPO_ROOT, capture_output=True, text=True,
                            timeout=60, env={"PATH": "/usr/bin:/bin"})
    assert result.returncode == 1
    assert "--enable-auth needs app setting 'FUNCTIONS_MASTER_KEY'" in result.stderr
