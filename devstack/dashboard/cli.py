"""`python -m devstack dashboard ...`: receive OTLP/HTTP traces and show deliveries in a browser.

    python -m devstack dashboard --port 7070 --data-dir .devstack/dashboard [--eventgrid-url http://127.0.0.1:7073]
"""
from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from devstack import logs
from devstack.dashboard.server import serve
from devstack.dashboard.store.spans import DEFAULT_MAX_SPANS


def main(argv: list[str]) -> int:
    """Entry point called by ``python -m devstack dashboard``."""
    args = _parser().parse_args(argv)
    logs.configure(args.log_level)
    if args.max_spans < 1:
        print("dashboard: --max-spans must be at least 1", file=sys.stderr)
        return 2
    args.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        asyncio.run(serve(args.data_dir, args.host, args.port, args.max_spans, args.eventgrid_url))
    except OSError as exc:  # e.g. the port is taken
        print(f"dashboard: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m devstack dashboard",
        description="OTLP/HTTP trace receiver (POST /v1/traces) and a dashboard of deliveries at /.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7070)
    parser.add_argument("--data-dir", type=Path, default=Path(".devstack/dashboard"))
    parser.add_argument("--max-spans", type=int, default=DEFAULT_MAX_SPANS,
                        help=f"keep only the newest N spans (default {DEFAULT_MAX_SPANS})")
    parser.add_argument("--eventgrid-url",
                        help="a devstack Event Grid (http://host:port) whose pending deliveries to show")
    parser.add_argument("--log-level", default="INFO")
    return parser
