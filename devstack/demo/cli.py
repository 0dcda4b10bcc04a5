"""`python -m devstack demo` and `python -m devstack status <deliveryId>`."""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import aiohttp
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskID, TextColumn
from rich.table import Table

from devstack.demo.client import DeliveriesClient
from devstack.demo.scenarios import STAGES, edge_cases, ship_many
from devstack.stack.app_settings import local_values
from devstack.stack.services import stack_services
from devstack.stack.settings import Ports, StackSettings
from devstack.stack.supervisor import Supervisor, port_in_use


def parse_demo_args(argv: list[str]) -> argparse.Namespace:
    """Flags of `demo`."""
    parser = argparse.ArgumentParser(prog="python -m devstack demo",
                                     description="Submit deliveries and show how the choreography handles them.")
    parser.add_argument("--url", default="http://127.0.0.1:7071", help="the Functions host")
    parser.add_argument("--count", type=int, default=20, help="deliveries to ship (default 20)")
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds to wait for each delivery")
    parser.add_argument("--seed", type=int, default=None, help="makes the generated requests repeatable")
    return parser.parse_args(argv)


@contextlib.contextmanager
def stack_if_needed(url: str, console: Console) -> Iterator[None]:
    """Use the stack listening at ``url``; when none is, start one (default ports) for the demo."""
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    if port_in_use("127.0.0.1", port):
        yield
        return
    app_dir = Path.cwd()
    settings = StackSettings(app_dir=app_dir, data_dir=app_dir / ".devstack",
                             ports=Ports(host=port), app_settings=local_values(app_dir))
    log = (settings.data_dir / "demo-stack.log")
    log.parent.mkdir(parents=True, exist_ok=True)
    console.print(f"no stack at {url}: starting one (logs in {log})")
    with open(log, "a") as sink_file:
        supervisor = Supervisor(stack_services(settings),
                                lambda name, line: print(f"{name:>10} | {line}", file=sink_file, flush=True))
        supervisor.start()
        try:
            yield
        finally:
            supervisor.stop()


async def demo(args: argparse.Namespace, console: Console) -> int:
    """Ship ``count`` deliveries with progress bars, then the edge cases as a table."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        client = DeliveriesClient(session, args.url)
        columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[state]}"))
        with Progress(*columns, console=console) as progress:
            tasks: dict[str, TaskID] = {}

            def show(delivery_id: str, state: str | None) -> None:
                if delivery_id not in tasks:
                    tasks[delivery_id] = progress.add_task(delivery_id, total=len(STAGES), state="")
                done = STAGES.index(state) + 1 if state in STAGES else 0
                progress.update(tasks[delivery_id], completed=done, state=state or "pending")

            finals = await ship_many(client, args.count, args.timeout, show, args.seed)
        shipped = sum(1 for state in finals.values() if state == "Shipped")
        console.print(f"{shipped} of {args.count} deliveries shipped")
        outcomes = await edge_cases(client, args.timeout)
    table = Table("scenario", "expected", "observed", "", title="edge cases")
    for outcome in outcomes:
        table.add_row(outcome.scenario, outcome.expected, escape(outcome.observed),
                      "[green]ok[/]" if outcome.ok else "[red]unexpected[/]")
    console.print(table)
    return 0 if shipped == args.count and all(o.ok for o in outcomes) else 1


def main(argv: list[str]) -> int:
    """Entry point of `demo`."""
    args = parse_demo_args(argv)
    console = Console(highlight=False)
    try:
        with stack_if_needed(args.url, console):
            return asyncio.run(demo(args, console))
    except (aiohttp.ClientError, RuntimeError) as exc:
        console.print(f"[bold red]demo failed:[/] {escape(str(exc))}")
        return 1


def status_main(argv: list[str]) -> int:
    """Entry point of `status <deliveryId>`: the delivery document as the API returns it."""
    parser = argparse.ArgumentParser(prog="python -m devstack status")
    parser.add_argument("delivery_id")
    parser.add_argument("--url", default="http://127.0.0.1:7071")
    args = parser.parse_args(argv)

    async def fetch() -> tuple[int, object]:
        async with aiohttp.ClientSession() as session:
            reply = await DeliveriesClient(session, args.url).get(args.delivery_id)
            return reply.status, reply.body

    try:
        status, body = asyncio.run(fetch())
    except aiohttp.ClientError as exc:
        print(f"cannot reach {args.url}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(body, indent=2) if body is not None else f"HTTP {status}")
    return 0 if status == 200 else 1
