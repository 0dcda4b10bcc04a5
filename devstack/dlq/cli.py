"""`python -m devstack dlq list|show|redrive`: what Remediation recorded, and putting it back."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from azure.core.exceptions import AzureError, ResourceNotFoundError
from rich.console import Console
from rich.table import Table

from devstack.dlq.connections import Connections, connections_for
from devstack.dlq.operations import list_records, peek_broker, read_record, redrive
from devstack.dlq.topology import Target, dead_letter_paths, redrive_targets, target_of


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Sub-commands and flags."""
    parser = argparse.ArgumentParser(prog="python -m devstack dlq", description=__doc__)
    parser.add_argument("--app", type=Path, default=Path.cwd(),
                        help="app folder: its local settings and resources/Config.json")
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="dead letters Remediation recorded (newest first)")
    listing.add_argument("--operator", action="store_true", help="only those flagged for an operator")
    listing.add_argument("--broker", action="store_true",
                         help="instead, peek what still sits in the broker's dead-letter queues")
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    show = commands.add_parser("show", help="one record, whole")
    show.add_argument("record_id")
    again = commands.add_parser("redrive", help="resend recorded dead letters with a new MessageId")
    again.add_argument("record_ids", nargs="*")
    again.add_argument("--all-operator", action="store_true",
                       help="every record flagged for an operator and not redriven yet")
    again.add_argument("--again", action="store_true",
                       help="with --all-operator: include records that were redriven before")
    return parser.parse_args(argv)


def _table(rows: list[dict], columns: list[str]) -> Table:
    table = Table(*columns)
    for row in rows:
        table.add_row(*(str(row.get(column, "")) for column in columns))
    return table


def run(args: argparse.Namespace, console: Console) -> int:
    """Carry out one sub-command."""
    conn = connections_for(args.app)
    config = args.app / "resources" / "Config.json"
    if args.command == "list":
        rows = (peek_broker(conn, dead_letter_paths(config)) if args.broker
                else list_records(conn, operator_only=args.operator))
        if args.json:
            print(json.dumps(rows, indent=2, default=str))
        elif args.broker:
            console.print(_table(rows, ["entity", "messageId", "subject", "reason", "description"]))
        else:
            console.print(_table(rows, ["id", "deadLetterReason", "action", "requiresOperator",
                                        "redriveCount"]))
        return 0
    if args.command == "show":
        print(json.dumps(read_record(conn, args.record_id), indent=2))
        return 0
    records = {record_id: read_record(conn, record_id) for record_id in dict.fromkeys(args.record_ids)}
    if args.all_operator:
        for record in list_records(conn, operator_only=True):
            if args.again or not record.get("redriveCount"):
                records.setdefault(record["id"], record)
    if not records:
        console.print("nothing to redrive: give record ids or --all-operator")
        return 2
    return redrive_all(conn, list(records.values()), redrive_targets(config), console)


def redrive_all(conn: Connections, records: list[dict], targets: dict[str, Target], console: Console) -> int:
    """Redrive each record, reporting each result; one failure does not stop the others."""
    failed = 0
    for record in records:
        try:
            target = target_of(record, targets)
            message_id = redrive(conn, record, target)
        except (ValueError, AzureError) as exc:
            failed += 1
            console.print(f"[red]{record['id']}: not redriven: {str(exc).splitlines()[0]}[/]")
            continue
        console.print(f"{record['id']} → {target.kind} {target.entity} as {message_id}")
    return 1 if failed else 0


def main(argv: list[str]) -> int:
    """Entry point; operator mistakes and unreachable services get one clear line, not a traceback."""
    args = parse_args(argv)
    console = Console(highlight=False)
    try:
        return run(args, console)
    except ResourceNotFoundError as exc:
        console.print(f"[red]not found:[/] {str(exc).splitlines()[0]}")
    except (ValueError, OSError, AzureError) as exc:
        console.print(f"[red]dlq failed:[/] {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}")
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
