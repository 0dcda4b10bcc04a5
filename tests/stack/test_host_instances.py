"""`devstack up --host-instances N`: N host processes share one port, each is checked ready on its own, and a
dead instance is restarted like any child while the others keep serving."""
from __future__ import annotations

import signal
import threading
from dataclasses import replace
from pathlib import Path

from devstack.stack.listeners import pids_listening
from devstack.stack.restarts import RestartPolicy
from devstack.stack.services import host_instances
from devstack.stack.settings import Ports, StackSettings
from devstack.stack.supervisor import Supervisor
from tests.functions.sample_apps import http, poll, prepare_app
from tests.support.processes import free_port


def two_hosts(tmp_path: Path) -> Supervisor:
    """Two instances of the HTTP sample app (no Service Bus trigger, so no broker needed)."""
    app_dir = prepare_app("http_app", tmp_path)
    settings = StackSettings(app_dir=app_dir, data_dir=tmp_path / "data", ports=Ports(host=free_port()),
                             host_instances=2)
    specs = host_instances(settings, {}, ["--host", "127.0.0.1", "--log-level", "INFO"])
    return Supervisor(specs, lambda name, line: None,
                      restart_policy=RestartPolicy(initial=0.2, maximum=1.0))


def greet(port: int) -> int:
    status, _, _ = http("GET", f"http://127.0.0.1:{port}/v1/greet/x", headers={"Connection": "close"})
    return status


def test_instances_share_the_port_and_a_dead_one_is_restarted(tmp_path: Path) -> None:
    supervisor = two_hosts(tmp_path)
    stop = threading.Event()
    watcher = threading.Thread(target=supervisor.supervise, args=(stop,), daemon=True)
    try:
        supervisor.start(timeout=60)
        port = supervisor.specs[0].port
        first, second = (child.proc.pid for child in supervisor.children)
        assert [child.spec.name for child in supervisor.children] == ["host", "host-2"]
        assert pids_listening(port) == sorted([first, second])  # both hold a listening socket of their own
        watcher.start()
        supervisor.children[1].proc.send_signal(signal.SIGKILL)
        supervisor.children[1].proc.wait(10)  # its listening socket is gone once it has exited
        assert {greet(port) for _ in range(10)} == {200}  # the survivor takes every connection
        restarted = poll(lambda: next((c.proc.pid for c in supervisor.children
                                       if c.spec.name == "host-2" and c.proc.pid != second
                                       and c.proc.pid in pids_listening(port)), None),
                         timeout=60, what="host-2 to be restarted and listening")
        assert pids_listening(port) == sorted([first, restarted])
        assert greet(port) == 200
    finally:
        stop.set()
        if watcher.is_alive():
            watcher.join(10)
        supervisor.stop()


def test_instances_may_share_a_port_but_other_services_may_not(tmp_path: Path) -> None:
    supervisor = two_hosts(tmp_path)
    supervisor.check_ports()  # two host instances on one port: allowed
    clash = replace(supervisor.specs[0], name="cosmos", shared_port=False, role="")
    supervisor.specs.append(clash)
    try:
        supervisor.check_ports()
    except Exception as exc:
        assert "is given to both host and cosmos" in str(exc)
    else:
        raise AssertionError("a port shared by a host instance and another service must be refused")
