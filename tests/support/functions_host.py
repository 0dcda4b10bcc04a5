"""Run the devstack Functions host on an app directory as a real subprocess on a free loopback port."""
from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.processes import ServiceProcess, devstack_process, free_port


@dataclass
class FunctionsHost:
    """A running host: where to reach it and its process (for logs, stop/kill)."""

    port: int
    process: ServiceProcess

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    def log_text(self) -> str:
        """Everything the host logged so far."""
        return self.process.log_path.read_text(errors="replace")


@contextmanager
def run_host(app_dir: Path, settings: dict[str, str], *, extra_args: Sequence[str] = (),
             log_path: Path | None = None, timeout: float = 60.0,
             port: int | None = None) -> Iterator[FunctionsHost]:
    """Run ``python -m devstack host --app <app_dir>`` with ``settings`` as environment (they win over
    local.settings.json, as app settings do); stop it with SIGTERM when the block ends. Pass ``port``
    when another service must know the host's URL before it starts (an Event Grid subscription)."""
    port = port or free_port()
    if log_path is None:
        log_path = Path(tempfile.mkdtemp(prefix="functions-host-")) / "host.log"
    argv = ["host", "--app", str(app_dir), "--port", str(port), *extra_args]
    with devstack_process(argv, port, log_path, env=dict(settings), timeout=timeout) as process:
        yield FunctionsHost(port, process)
