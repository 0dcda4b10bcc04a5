"""Fault-injection runs, longer than the test suite's: N deliveries with C clients through the HTTP API while
the host, the broker, Cosmos DB or Event Grid is killed (-9) or kept down; then every invariant is checked
from the services' own data and a table of scenarios × invariants is printed (tests/support/faults.py).

    .venv/bin/python bench/faults.py --deliveries 500 --clients 16 --cancel-fraction 0.3 \\
        --scenario eventgrid-down:30 --scenario host-kill:5 --scenario broker-kill:3 --scenario cosmos-kill:3 \\
        [--json out.json] [--keep]

Scenarios: ``<host|broker|cosmos|eventgrid>-kill:<times>``, ``<...>-down:<seconds>``, ``none``. Each runs on
its own fresh stack (free loopback ports, a temporary data folder), one after another. Exit code 1 when an
invariant failed in any scenario.
"""
from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rich.console import Console

from tests.support.faults import Budget, Load, Result, Scenario, run_isolated, table

DEFAULT_SCENARIOS = ["eventgrid-down:30", "host-kill:5", "broker-kill:3", "cosmos-kill:3"]


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Flags."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deliveries", type=int, default=500)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--cancel-fraction", type=float, default=0.3)
    parser.add_argument("--cancel-within", type=float, default=2.0, help="cancel at most this long after the 202")
    parser.add_argument("--scenario", action="append", type=Scenario.parse, dest="scenarios",
                        help=f"repeatable; default {' '.join(DEFAULT_SCENARIOS)}")
    parser.add_argument("--settle", type=float, default=300.0, help="seconds to wait for the system to settle")
    parser.add_argument("--stall", type=float, default=30.0, help="give up after this long without any change")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="write every figure and offending item here")
    parser.add_argument("--keep", action="store_true", help="keep the stacks' data folders (logs, SQLite)")
    parser.add_argument("--details", type=int, default=10, help="offending items shown per failed invariant")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    """Run each scenario on a fresh stack, print the table (and what failed), exit 1 on any failure."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("azure").setLevel(logging.WARNING)  # the SDKs log every link state change at INFO
    scenarios = args.scenarios or [Scenario.parse(text) for text in DEFAULT_SCENARIOS]
    load = Load(deliveries=args.deliveries, clients=args.clients, cancel_fraction=args.cancel_fraction,
                cancel_within=args.cancel_within, seed=args.seed)
    budget, console = Budget(settle=args.settle, stall=args.stall), Console()
    root = Path(tempfile.mkdtemp(prefix="faults-bench-"))
    results: list[Result] = []
    try:
        for number, scenario in enumerate(scenarios):
            console.print(f"[bold]{scenario.name}[/]: {load.deliveries} deliveries, {load.clients} clients")
            results.append(run_isolated(root / f"{number}-{scenario.service}", scenario, load, budget))
            console.print(table(results[-1:]))
    finally:
        if args.keep:
            console.print(f"stack data (logs, SQLite) kept in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    console.print(table(results))
    for result in results:
        if not result.ok:
            console.print(result.failure_report(args.details), markup=False, highlight=False)
    if args.json:
        args.json.write_text(json.dumps([result.to_json() for result in results], indent=2))
    return 0 if all(result.ok for result in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
