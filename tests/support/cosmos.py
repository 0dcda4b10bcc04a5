"""Run the devstack Cosmos DB emulator as a real subprocess on a free loopback port (tests, benchmarks)."""
from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.processes import ServiceProcess, devstack_process, free_port

#: The Cosmos DB emulator's published well-known key (the devstack default).
EMULATOR_KEY = "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw=="


@dataclass
class CosmosEmulator:
    """A running emulator: where it listens and how to authenticate."""

    endpoint: str
    key: str
    port: int
    process: ServiceProcess

    @property
    def connection_string(self) -> str:
        """The form of ``CosmosDBConnection`` app setting the SDK's ``from_connection_string`` accepts."""
        return f"AccountEndpoint={self.endpoint};AccountKey={self.key};"

    def restart(self, kill: bool = False) -> None:
        """Stop (SIGTERM, or SIGKILL with ``kill``) and start again on the same port and data."""
        if kill:
            self.process.kill()
        else:
            self.process.stop()
        self.process.start()


@contextmanager
def run_cosmos(data_dir: Path, provision: dict | Path | None = None, *,
               extra_args: Sequence[str] = ()) -> Iterator[CosmosEmulator]:
    """Start ``python -m devstack cosmos`` with its SQLite under ``data_dir``; stop it after the block.

    ``provision`` is a declaration (dict or file) of databases and containers to create at start;
    ``extra_args`` go to the command line last (e.g. ``["--log-level", "DEBUG"]`` logs every request).
    The server's log is ``data_dir / "cosmos.log"``.
    """
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    argv = ["cosmos", "--host", "127.0.0.1", "--port", str(port), "--data-dir", str(data_dir),
            "--log-level", "INFO"]
    if provision is not None:
        path = provision if isinstance(provision, Path) else data_dir / "cosmos-provision.json"
        if not isinstance(provision, Path):
            path.write_text(json.dumps(provision), encoding="utf-8")
        argv += ["--provision", str(path)]
    argv += list(extra_args)
    key = _key_from(extra_args)
    with devstack_process(argv, port, data_dir / "cosmos.log") as process:
        yield CosmosEmulator(f"http://127.0.0.1:{port}/", key, port, process)


def _key_from(extra_args: Sequence[str]) -> str:
    args = list(extra_args)
    if "--key" in args and args.index("--key") + 1 < len(args):
        return args[args.index("--key") + 1]
    return EMULATOR_KEY
