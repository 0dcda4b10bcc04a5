"""`python -m devstack dashboard ...`: receive OTLP/HTTP traces and show deliveries in a browser.

    python -m devstack dashboard --port 7070 --data-dir .devstack/dashboard [--eventgrid-url http://127.0.0.1:7073]
        [--eventgrid-config resources/eventgrid.json] [--servicebus-admin-url http://127.0.0.1:5673]
        [--servicebus-config resources/Config.json]

Dead letters also need ServiceBusConnection and CosmosDBConnection (and CosmosDatabaseName) in the environment, the
settings the Functions host gets; `python -m devstack up` passes all of these.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path

from devstack import logs
from devstack.dashboard.server import serve
from devstack.dashboard.sources import sources_from
from devstack.dashboard.store.spans import DEFAULT_MAX_SPANS
from devstack.eventgrid.core.errors import ConfigError


def main(argv: list[str]) -> int:
    """Entry point called by ``python -m devstack dashboard``."""
    args = _parser().parse_args(argv)
    logs.configure(args.log_level)
    # The Azure SDKs behind the dead-letter pages log every HTTP request at INFO (as in functions_host/cli.py).
    logging.getLogger("azure").setLevel(logging.DEBUG if args.log_level.upper() == "DEBUG" else logging.WARNING)
    if args.max_spans < 1:
        print("dashboard: --max-spans must be at least 1", file=sys.stderr)
        return 2
    try:
        sources = sources_from(os.environ, args.eventgrid_url, args.eventgrid_config, args.servicebus_admin_url,
                               args.servicebus_config)
    except (ConfigError, OSError, ValueError, KeyError, TypeError) as exc:  # json.JSONDecodeError is a ValueError
        what = "--eventgrid-config" if isinstance(exc, ConfigError) else "--servicebus-config"
        detail = f"missing {exc}" if isinstance(exc, KeyError) else str(exc)
        print(f"dashboard: cannot use {what}: {detail}", file=sys.stderr)
        return 2
    args.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        asyncio.run(serve(args.data_dir, args.host, args.port, args.max_spans, sources))
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
    parser.add_argument("--eventgrid-config", type=Path,
                        help="its topics and subscriptions (resources/eventgrid.json): their dead letters are shown")
    parser.add_argument("--servicebus-admin-url",
                        help="the devstack broker's admin endpoint (http://host:port, its --admin-port): "
                             "entity depths are shown")
    parser.add_argument("--servicebus-config", type=Path,
                        help="the broker's topology (resources/Config.json): where dead letters are redriven to")
    parser.add_argument("--log-level", default="INFO")
    return parser
