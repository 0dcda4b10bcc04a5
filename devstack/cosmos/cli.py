"""``python -m devstack cosmos``: run the Cosmos DB emulator in the foreground until SIGINT/SIGTERM."""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import logging
import os
import signal
from pathlib import Path

from aiohttp import web

from devstack import logs
from devstack.cosmos.core.account import Account
from devstack.cosmos.core.ports import SystemClock
from devstack.cosmos.http.auth import EMULATOR_KEY, MasterKeyAuth
from devstack.cosmos.http.server import create_app
from devstack.cosmos.provision import ProvisionError, load_declaration, provision
from devstack.cosmos.store.sqlite_store import SqliteStore

log = logging.getLogger(__name__)


class StartupError(Exception):
    """The emulator cannot start as configured (message says why)."""


class DataDirInUse(StartupError):
    """Another emulator already serves this data directory."""


def build_parser() -> argparse.ArgumentParser:
    """Command-line options."""
    parser = argparse.ArgumentParser(prog="python -m devstack cosmos",
                                     description="Cosmos DB NoSQL REST emulator (SQLite-backed)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--data-dir", type=Path, default=Path(".devstack/cosmos"),
                        help="directory for cosmos.sqlite (created if missing)")
    parser.add_argument("--provision", type=Path, help="databases/containers declaration to create at start")
    parser.add_argument("--key", default=EMULATOR_KEY, help="account master key (default: the emulator key)")
    parser.add_argument("--log-level", default="INFO")
    parser.add_argument("--purge-interval", type=float, default=5.0,
                        help="seconds between sweeps that delete TTL-expired items (reads hide them anyway)")
    parser.add_argument("--cursor-ttl", type=float, default=300.0,
                        help="seconds an unread query continuation stays valid")
    parser.add_argument("--sync", choices=("FULL", "NORMAL"), default="FULL",
                        help="SQLite synchronous mode; FULL also survives power loss, NORMAL survives process kills")
    return parser


def main(argv: list[str]) -> int:
    """Entry point used by devstack/__main__.py."""
    args = build_parser().parse_args(argv)
    logs.configure(args.log_level)
    try:
        return asyncio.run(_serve(args))
    except (ProvisionError, StartupError) as exc:
        log.error("%s", exc)
        return 2


def _lock_data_dir(data_dir: Path) -> int:
    """Hold an exclusive lock on the data directory for the life of the process (released on exit)."""
    fd = os.open(data_dir / "cosmos.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise DataDirInUse(f"another Cosmos emulator is using {data_dir}") from None
    return fd


async def _serve(args: argparse.Namespace) -> int:
    args.data_dir.mkdir(parents=True, exist_ok=True)
    lock = _lock_data_dir(args.data_dir)
    store = SqliteStore(args.data_dir / "cosmos.sqlite", synchronous=args.sync)
    account = Account(store, SystemClock(), cursor_ttl=args.cursor_ttl)
    if args.provision:
        provision(account.catalog, load_declaration(args.provision))
    try:
        auth = MasterKeyAuth(args.key)
    except ValueError:
        raise StartupError("--key must be a base64 string, like the account keys Azure issues") from None
    runner = web.AppRunner(create_app(account, auth), access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, args.host, args.port).start()
    except OSError as exc:
        raise StartupError(f"cannot listen on {args.host}:{args.port}: {exc.strerror}") from None
    log.info("listening on http://%s:%d", args.host, args.port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    purger = asyncio.create_task(_purge_periodically(account, args.purge_interval))
    await stop.wait()
    log.info("stopping")
    purger.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await purger
    await runner.cleanup()
    store.close()
    os.close(lock)
    return 0


async def _purge_periodically(account: Account, interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            account.purge_expired()
        except Exception:  # a failed sweep must not stop the server; the next one retries
            log.exception("purging expired items failed")
