"""Run the devstack Event Grid emulator as a real subprocess on a free loopback port (tests, benches).

    with run_eventgrid(tmp_path, {"topics": [...]}, env={"HOOK_PORT": "12345"},
                       extra_args=["--time-scale", "0.01"]) as grid:
        client = EventGridPublisherClient(grid.topic_endpoint("t"), AzureKeyCredential(grid.key_for("t")))
"""
from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devstack.eventgrid.core.config import EventGridConfig, load_config
from tests.support.processes import ServiceProcess, free_port


@dataclass
class EventGrid:
    """A running emulator: where to publish, with which key, and its process."""

    port: int
    config: EventGridConfig
    process: ServiceProcess

    def topic_endpoint(self, topic_name: str) -> str:
        """The publish URL to give ``EventGridPublisherClient``."""
        return f"http://127.0.0.1:{self.port}/topics/{topic_name}/api/events"

    def key_for(self, topic_name: str) -> str:
        """The topic's access key (after ``${VAR}`` expansion)."""
        topic = self.config.topic(topic_name)
        if topic is None:
            raise KeyError(f"no topic {topic_name!r} in the emulator's config")
        return topic.key

    def dead_letters(self, topic_name: str, subscription: str) -> list[dict[str, Any]]:
        """The subscription's dead letters, read over HTTP with the topic key."""
        url = f"http://127.0.0.1:{self.port}/topics/{topic_name}/subscriptions/{subscription}/deadletters"
        request = urllib.request.Request(url, headers={"aeg-sas-key": self.key_for(topic_name)})
        with urllib.request.urlopen(request, timeout=10) as response:
            return list(json.loads(response.read()))

    def restart(self, *, kill: bool = False) -> None:
        """Stop (SIGTERM, or SIGKILL with ``kill``) unless already dead; start again on the same port and data."""
        self.process.kill() if kill else self.process.stop()
        self.process = ServiceProcess(self.process.argv, self.port, self.process.log_path,
                                      self.process.env).start()


@contextmanager
def run_eventgrid(data_dir: Path, config: dict | Path, *, env: dict | None = None,
                  extra_args: Sequence[str] = ()) -> Iterator[EventGrid]:
    """Start ``python -m devstack eventgrid`` with ``config`` (a dict is written to ``data_dir``)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    if isinstance(config, dict):
        config_path = data_dir / "eventgrid-config.json"
        config_path.write_text(json.dumps(config, indent=2))
    else:
        config_path = Path(config)
    env = {k: str(v) for k, v in (env or {}).items()}
    parsed = load_config(config_path, {**os.environ, **env})
    port = free_port()
    argv = ["eventgrid", "--port", str(port), "--config", str(config_path),
            "--data-dir", str(data_dir), *extra_args]
    process = ServiceProcess(argv, port, data_dir / "eventgrid.log", env).start()
    grid = EventGrid(port, parsed, process)
    try:
        yield grid
    finally:
        grid.process.stop()
