"""`python -m devstack <command> ...`: one entry point, one module per command.

Each command lives in its own package and exposes ``main(argv) -> int``; it is imported only when
chosen, so starting one emulator never pays for importing the others (proton, aiohttp, the app).
"""
from __future__ import annotations

import importlib
import sys

COMMANDS: dict[str, tuple[str, str]] = {
    "servicebus": ("devstack.servicebus.cli", "Service Bus: AMQP 1.0 broker (SQLite-backed)"),
    "cosmos": ("devstack.cosmos.cli", "Cosmos DB NoSQL: REST emulator (SQLite-backed)"),
    "eventgrid": ("devstack.eventgrid.cli", "Event Grid: topics and webhook delivery"),
    "host": ("devstack.functions_host.cli", "Functions host: runs function_app.py"),
    "dashboard": ("devstack.dashboard.cli", "trace dashboard: OTLP/HTTP receiver and deliveries' timelines"),
    "up": ("devstack.stack.cli", "the whole stack: the three emulators and the host running this app"),
    "demo": ("devstack.demo.cli", "submit deliveries to a running stack (or start one) and show the outcome"),
    "dlq": ("devstack.dlq.cli", "list, show and redrive dead letters (Remediation's records)"),
    "status": ("devstack.demo.status", "show one delivery: python -m devstack status <deliveryId>"),
}


def usage() -> str:
    """Text listing every command."""
    lines = ["usage: python -m devstack <command> [options]", "", "commands:"]
    lines += [f"  {name:<12} {summary}" for name, (_, summary) in COMMANDS.items()]
    lines += ["", "`python -m devstack <command> --help` for a command's options."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Dispatch to the chosen command's ``main``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(usage())
        return 0 if args else 2
    name, rest = args[0], args[1:]
    if name not in COMMANDS:
        print(f"unknown command {name!r}\n\n{usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[name][0])
    return int(module.main(rest) or 0)


if __name__ == "__main__":
    sys.exit(main())
