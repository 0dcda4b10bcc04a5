"""`python -m devstack host --app <dir> [--port 7071] [--enable-auth]`: run a function app in the foreground."""
from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from devstack import logs
from devstack.functions_host.errors import StartupError

if TYPE_CHECKING:
    from devstack.functions_host.host import FunctionsHost

log = logging.getLogger("devstack.functions_host")


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m devstack host",
                                     description="Run an Azure Functions (Python v2) app without func/.NET.")
    parser.add_argument("--app", type=Path, default=Path("."), help="directory holding function_app.py")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7071)
    parser.add_argument("--data-dir", type=Path, default=None, help="accepted for symmetry; the host stores nothing")
    parser.add_argument("--log-level", default=None, help="default: host.json logging.logLevel.default, else INFO")
    parser.add_argument("--enable-auth", action="store_true",
                        help="enforce FUNCTION/ADMIN auth levels (keys from FUNCTIONS_MASTER_KEY/FUNCTIONS_HOST_KEY)")
    parser.add_argument("--reuse-port", action="store_true",
                        help="bind with SO_REUSEPORT so several host instances share the port (scale-out)")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    """Run until SIGINT/SIGTERM; exit 0 on a clean stop, 1 when the app cannot start."""
    args = parse_args(argv)
    logs.configure(args.log_level or "INFO")
    # The SDKs log every AMQP/HTTP retry at INFO; keep the host's own lines readable.
    sdk_level = logging.DEBUG if (args.log_level or "").upper() == "DEBUG" else logging.WARNING
    for noisy in ("azure", "uamqp"):
        logging.getLogger(noisy).setLevel(sdk_level)
    from devstack.functions_host.host import FunctionsHost, load  # after logging: the imports are slow

    try:
        app = load(args.app)
        if args.log_level is None:
            logging.getLogger().setLevel(app.options.log_level)
        if args.data_dir is not None:
            args.data_dir.mkdir(parents=True, exist_ok=True)
        host = FunctionsHost(app, host=args.host, port=args.port, enable_auth=args.enable_auth,
                             reuse_port=args.reuse_port)
        return asyncio.run(_serve(host))
    except StartupError as exc:
        print(f"host: cannot start: {exc}", file=sys.stderr)
        return 1


async def _serve(host: FunctionsHost) -> int:
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)
    try:
        await host.start()
    except OSError as exc:  # the port is taken, or the address is not ours
        await host.stop()
        raise StartupError(f"cannot listen on {host.address}: {exc}") from None
    await stopping.wait()
    log.info("stopping: waiting for in-flight invocations")
    await host.stop()
    return 0
