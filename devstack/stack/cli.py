"""`python -m devstack up`: start Service Bus, Cosmos DB, Event Grid, the trace dashboard and the Functions host."""
from __future__ import annotations

import argparse
import shutil
import signal
import sys
import threading
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from devstack.stack.app_settings import local_values
from devstack.stack.services import stack_services
from devstack.stack.settings import DEFAULT_DASHBOARD_PORT, SERVICEBUS_ADMIN_PORT_OFFSET, Ports, StackSettings
from devstack.stack.supervisor import StackError, Supervisor

COLOURS = {"servicebus": "cyan", "servicebus-admin": "cyan", "cosmos": "green", "eventgrid": "magenta",
           "host": "yellow", "dashboard": "blue", "devstack": "bold white"}


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Flags of `up`."""
    defaults = Ports()
    parser = argparse.ArgumentParser(prog="python -m devstack up", description=__doc__)
    parser.add_argument("--app", type=Path, default=Path.cwd(), help="app folder (function_app.py)")
    parser.add_argument("--data-dir", type=Path, default=Path(".devstack"), help="where state persists")
    parser.add_argument("--reset", action="store_true", help="delete the data folder first")
    for name, port in defaults.by_service().items():
        parser.add_argument(f"--{name}-port", type=int, default=port, help=f"default {port}")
    parser.add_argument("--dashboard-port", type=int, default=DEFAULT_DASHBOARD_PORT,
                        help=f"trace dashboard and OTLP/HTTP receiver the host exports to (default "
                             f"{DEFAULT_DASHBOARD_PORT}; 0: no dashboard, the host exports nothing unless "
                             "OTEL_EXPORTER_OTLP_ENDPOINT is set)")
    parser.add_argument("--servicebus-admin-port", type=int, default=None, metavar="PORT",
                        help="the broker's JSON admin endpoint, which the dashboard reads entity depths from "
                             f"(default: --servicebus-port + {SERVICEBUS_ADMIN_PORT_OFFSET}, i.e. "
                             f"{defaults.servicebus + SERVICEBUS_ADMIN_PORT_OFFSET}; 0: none)")
    parser.add_argument("--eventgrid-time-scale", type=float, default=1.0,
                        help="multiplies Event Grid's retry back-off (e.g. 0.01 for fast retries)")
    parser.add_argument("--host-instances", type=_instances, default=1, metavar="N",
                        help="Functions host processes sharing --host-port (SO_REUSEPORT) and competing for "
                             "the same Service Bus entities, like instances of a scaled-out app (default 1)")
    parser.add_argument("--log-level", default="INFO")
    parser.add_argument("--no-restart", action="store_true",
                        help="stop the whole stack when one process dies (default: restart it with back-off)")
    return parser.parse_args(argv)


def _instances(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("needs at least 1 host instance")
    return value


def settings_from(args: argparse.Namespace) -> StackSettings:
    """StackSettings from flags plus the app's local settings."""
    app_dir = args.app.resolve()
    admin = (args.servicebus_port + SERVICEBUS_ADMIN_PORT_OFFSET if args.servicebus_admin_port is None
             else args.servicebus_admin_port or None)
    if admin is not None and admin > 65535:  # the Service Bus port was the last one: no room next to it
        admin = None
    ports = Ports(args.servicebus_port, args.cosmos_port, args.eventgrid_port, args.host_port,
                  args.dashboard_port or None, admin)
    return StackSettings(app_dir=app_dir, data_dir=args.data_dir.resolve(), ports=ports,
                         eventgrid_time_scale=args.eventgrid_time_scale,
                         app_settings=local_values(app_dir), log_level=args.log_level,
                         host_instances=args.host_instances)


def print_summary(console: Console, settings: StackSettings) -> None:
    """Endpoints, then the connection settings a client (or `func start`) would use, whole."""
    table = Table(title="devstack is up — Ctrl-C stops everything", show_header=False)
    for name, url in settings.endpoints().items():
        if name == "host" and settings.host_instances > 1:
            url += f"  ({settings.host_instances} instances)"
        table.add_row(f"[{COLOURS[name]}]{name}[/]", url)
    table.add_row("data", str(settings.data_dir))
    console.print(table)
    # Plain KEY=value lines, never truncated to the terminal's width, so they can be pasted.
    for key, value in settings.connection_settings().items():
        console.print(f"{key}={escape(value)}", soft_wrap=True)


def main(argv: list[str]) -> int:
    """Run the stack in the foreground until Ctrl-C/SIGTERM, restarting children that die
    (with ``--no-restart``: until the first child dies, then stop everything and exit 1)."""
    args = parse_args(argv)
    settings = settings_from(args)
    console = Console(highlight=False)
    lock = threading.Lock()

    def sink(name: str, line: str) -> None:
        with lock:
            colour = COLOURS.get(name.split("-")[0], "white")  # host-2 is coloured like host
            console.print(f"[{colour}]{name:>10} |[/] {escape(line)}", soft_wrap=True)

    supervisor = Supervisor(stack_services(settings), sink, settings.bind)
    stop = threading.Event()
    # SIGHUP too: closing the terminal must stop the stack, not orphan it.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, lambda *_: stop.set())
    try:
        # Ports first: --reset must never wipe the data of a stack that is still running.
        supervisor.check_ports()
        if args.reset and settings.data_dir.exists():
            shutil.rmtree(settings.data_dir)
        supervisor.start(stop_event=stop)
    except StackError as exc:
        console.print(f"[bold red]devstack up failed:[/] {escape(str(exc))}")
        return 2
    print_summary(console, settings)
    if args.no_restart:
        died = supervisor.first_exit(stop_event=stop)
        if died is not None:
            sink("devstack", f"{died.spec.name} exited with code {died.proc.returncode}; stopping the stack")
            supervisor.stop()
            return 1
    else:
        supervisor.supervise(stop)  # restarts what dies, as a platform would, until Ctrl-C/SIGTERM
    sink("devstack", "stopping (host first, then the emulators)")
    supervisor.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
