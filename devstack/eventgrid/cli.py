"""`python -m devstack eventgrid ...`: run the emulator, or list dead letters.

    python -m devstack eventgrid --port 7073 --config resources/eventgrid.json --data-dir .devstack/eventgrid
    python -m devstack eventgrid deadletters --data-dir .devstack/eventgrid [--topic T] [--subscription S]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from pathlib import Path

from devstack import logs
from devstack.eventgrid.core.config import load_config
from devstack.eventgrid.core.errors import ConfigError
from devstack.eventgrid.core.records import dead_letter_view
from devstack.eventgrid.server import DATABASE_NAME, serve
from devstack.eventgrid.store.outbox import Outbox

log = logging.getLogger(__name__)


def main(argv: list[str]) -> int:
    """Entry point called by ``python -m devstack eventgrid``."""
    if argv and argv[0] == "deadletters":
        return _dead_letters(argv[1:])
    args = _serve_parser().parse_args(argv)
    logs.configure(args.log_level)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"eventgrid: invalid config: {exc}", file=sys.stderr)
        return 2
    if args.time_scale <= 0:
        print("eventgrid: --time-scale must be positive", file=sys.stderr)
        return 2
    args.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        asyncio.run(serve(config, args.data_dir, args.host, args.port, args.time_scale, args.delivery_timeout))
    except OSError as exc:  # e.g. the port is taken
        print(f"eventgrid: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    return 0


def _serve_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m devstack eventgrid",
        description="Event Grid topics with webhook delivery. "
                    "Subcommand: `deadletters --data-dir DIR` lists dead-lettered events.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7073)
    parser.add_argument("--config", type=Path, required=True, help="topics/subscriptions JSON file")
    parser.add_argument("--data-dir", type=Path, default=Path(".devstack/eventgrid"))
    parser.add_argument("--time-scale", type=float, default=1.0,
                        help="multiplies retry back-off, event TTL and handshake back-off (e.g. 0.01 in tests)")
    parser.add_argument("--delivery-timeout", type=float, default=30.0,
                        help="seconds a subscriber has to answer (Event Grid: 30)")
    parser.add_argument("--log-level", default="INFO")
    return parser


def _dead_letters(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack eventgrid deadletters",
                                     description="Print dead-lettered events as a JSON array.")
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--topic")
    parser.add_argument("--subscription")
    args = parser.parse_args(argv)
    database = args.data_dir / DATABASE_NAME
    if not database.exists():
        print(f"eventgrid: no Event Grid data in {args.data_dir}", file=sys.stderr)
        return 1
    outbox = Outbox(database)
    try:
        rows = outbox.dead_letters(args.topic, args.subscription)
    finally:
        outbox.close()
    print(json.dumps([dead_letter_view(row) for row in rows], indent=2))
    return 0
