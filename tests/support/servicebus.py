"""Run the devstack Service Bus broker as a real subprocess for tests and benchmarks."""
from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.processes import ServiceProcess, devstack_process, free_port

KEY_NAME = "RootManageSharedAccessKey"
KEY = "SAS_KEY_VALUE"


def connection_string(port: int, key: str = KEY, key_name: str = KEY_NAME) -> str:
    """The local connection string the SDK uses (plain AMQP thanks to UseDevelopmentEmulator)."""
    return (f"Endpoint=sb://127.0.0.1:{port};SharedAccessKeyName={key_name};SharedAccessKey={key};"
            "UseDevelopmentEmulator=true;")


@dataclass
class Broker:
    """A running broker: where it listens and how to restart it."""

    port: int
    connection_string: str
    process: ServiceProcess
    admin_port: int | None = None  # the admin endpoint (``--admin-port``), when started with ``admin=True``

    @property
    def admin_url(self) -> str:
        """``http://127.0.0.1:<admin port>`` (only with ``admin=True``)."""
        assert self.admin_port is not None, "started without admin=True"
        return f"http://127.0.0.1:{self.admin_port}"

    def restart(self, *, kill: bool = False) -> None:
        """Stop (SIGTERM, or SIGKILL with ``kill=True``) and start again on the same port and data."""
        if kill:
            self.process.kill()
        else:
            self.process.stop()
        self.process.start()


def _config_path(data_dir: Path, config: Mapping[str, Any] | Path) -> Path:
    if isinstance(config, Path):
        return config
    path = data_dir / "servicebus-config.json"
    path.write_text(json.dumps(config))
    return path


@contextmanager
def run_broker(data_dir: Path, config: Mapping[str, Any] | Path, *,
               extra_args: Sequence[str] = (), admin: bool = False) -> Iterator[Broker]:
    """Start ``python -m devstack servicebus`` on a free loopback port (``admin``: its admin endpoint on another);
    stop it after the block."""
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    admin_port = free_port() if admin else None
    argv = ["servicebus", "--host", "127.0.0.1", "--port", str(port), "--config",
            str(_config_path(data_dir, config)), "--data-dir", str(data_dir / "servicebus"),
            *(["--admin-port", str(admin_port)] if admin_port else []), *extra_args]
    with devstack_process(argv, port, data_dir / "servicebus.log") as process:
        yield Broker(port, connection_string(port), process, admin_port)
