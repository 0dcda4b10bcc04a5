"""``python -m devstack servicebus``: run the AMQP 1.0 Service Bus broker in the foreground."""
from __future__ import annotations

import argparse
import logging
import signal
import time
from pathlib import Path
from types import FrameType

from devstack import logs
from devstack.servicebus.admin.server import AdminServer
from devstack.servicebus.admin.snapshots import SnapshotBoard
from devstack.servicebus.amqp import codec
from devstack.servicebus.amqp.cbs import SasKey
from devstack.servicebus.amqp.loop import DEFAULT_HANDSHAKE_TIMEOUT, EngineLoop
from devstack.servicebus.amqp.server import BrokerHandler
from devstack.servicebus.core.broker import Broker
from devstack.servicebus.core.depths import DepthSnapshot, measure
from devstack.servicebus.core.errors import TopologyError
from devstack.servicebus.core.topology import load_topology
from devstack.servicebus.store.sqlite_store import SqliteStore

log = logging.getLogger(__name__)


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Command-line options (devstack conventions: --host, --port, --data-dir, --log-level)."""
    parser = argparse.ArgumentParser(prog="python -m devstack servicebus",
                                     description="Service Bus stand-in: AMQP 1.0 broker, durable in SQLite.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5672)
    parser.add_argument("--config", required=True, type=Path,
                        help="topology in the official Service Bus emulator Config.json format")
    parser.add_argument("--data-dir", type=Path, default=Path(".devstack/servicebus"))
    parser.add_argument("--log-level", default="INFO")
    parser.add_argument("--sas-key-name", default="RootManageSharedAccessKey")
    parser.add_argument("--sas-key", default="SAS_KEY_VALUE")
    parser.add_argument("--tick", type=float, default=0.05,
                        help="seconds between timer passes (lock expiry, scheduling, TTL)")
    parser.add_argument("--handshake-timeout", type=float, default=DEFAULT_HANDSHAKE_TIMEOUT,
                        help="seconds a client has to open its AMQP connection before the socket is closed")
    parser.add_argument("--admin-port", type=_port, default=0,
                        help="serve entity depths as JSON on http://<host>:<port>/entities (devstack only; "
                             "default 0: off)")
    return parser.parse_args(argv)


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a TCP port (0-65535)")
    return value


def main(argv: list[str]) -> int:
    """Run until SIGINT/SIGTERM; exit 0 on a clean stop, 2 on a bad topology."""
    args = parse_args(argv)
    logs.configure(args.log_level)
    try:
        topology = load_topology(args.config)
    except TopologyError as exc:
        log.error("bad topology: %s", exc)
        return 2
    args.data_dir.mkdir(parents=True, exist_ok=True)
    store = SqliteStore(args.data_dir / "servicebus.sqlite3")
    broker = Broker(topology, store, time.time, read_facts=codec.facts_of)
    handler = BrokerHandler(broker, SasKey(args.sas_key_name, args.sas_key))
    board: SnapshotBoard[DepthSnapshot] = SnapshotBoard(lambda: measure(broker))
    admin = None
    # The admin endpoint binds first: once the AMQP port accepts (what `devstack up` waits for), it answers too.
    if args.admin_port:
        try:
            admin = AdminServer(args.host, args.admin_port, board)
        except OSError as exc:
            log.error("cannot listen on %s:%d for the admin endpoint (--admin-port): %s",
                      args.host, args.admin_port, exc)
            store.close()
            return 1
    try:
        loop = EngineLoop(handler, args.host, args.port, args.tick, args.handshake_timeout,
                          on_tick=board.on_tick if admin is not None else None)
    except OSError as exc:
        log.error("cannot listen on %s:%d: %s", args.host, args.port, exc)
        if admin is not None:
            admin.close()
        store.close()
        return 1
    board.wake = loop.wake  # a quiet loop sleeps between passes: a reader must not wait for the next one
    log.info("%d queues, %d topics from %s", len(topology.queues), len(topology.topics), args.config)
    if admin is not None:
        admin.start()
        log.info("admin endpoint on http://%s:%d/entities", args.host, admin.port)
    log.info("listening on amqp://%s:%d", args.host, args.port)

    def stop(signum: int, frame: FrameType | None) -> None:
        log.info("signal %d: stopping", signum)
        loop.stop()  # the loop finishes its current pass, then closes connections

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        loop.run()
    finally:
        if admin is not None:
            admin.close()
        store.close()
    log.info("stopped")
    return 0
