"""Throughput of the devstack Cosmos emulator through the real azure-cosmos SDK.

Runs the emulator as a separate process, then for each operation (point read, upsert, parameterized
query) loops for a fixed time and reports operations per second plus CPU milliseconds per operation on
the server (from /proc/<pid>/stat) and in this client process.

    .venv/bin/python bench/cosmos_bench.py [--seconds 5] [--items 1000] [--sync FULL|NORMAL]
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from azure.cosmos import ContainerProxy, CosmosClient, PartitionKey

from tests.support.cosmos import run_cosmos

_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from /proc/<pid>/stat (fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def measure(name: str, operation: Callable[[int], object], seconds: float, server_pid: int) -> dict[str, Any]:
    """Run ``operation`` repeatedly for ``seconds``; return rates and CPU per operation."""
    server_before, client_before = process_cpu_seconds(server_pid), time.process_time()
    start, count = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        operation(count)
        count += 1
    elapsed = time.perf_counter() - start
    server_cpu = process_cpu_seconds(server_pid) - server_before
    client_cpu = time.process_time() - client_before
    return {"name": name, "ops": count, "rate": count / elapsed,
            "server_ms": 1000 * server_cpu / count, "client_ms": 1000 * client_cpu / count}


def seed(container: ContainerProxy, items: int) -> None:
    """Create ``items`` drone documents over 10 fleets."""
    for i in range(items):
        container.upsert_item({"id": f"drone-{i}", "fleetId": f"fleet-{i % 10}", "payload": i % 25,
                               "status": "idle" if i % 3 else "busy"})


def main() -> int:
    """Run the benchmark and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--sync", choices=("FULL", "NORMAL"), default="FULL")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data_dir, \
            run_cosmos(Path(data_dir), extra_args=["--log-level", "WARNING", "--sync", args.sync]) as emulator:
        container = CosmosClient(emulator.endpoint, emulator.key).create_database("bench").create_container(
            "drones", PartitionKey("/fleetId"))
        seed(container, args.items)
        assert emulator.process.proc is not None, "run_cosmos returns a started emulator"
        pid = emulator.process.proc.pid
        rng = random.Random(7)

        def read(n: int) -> object:
            i = rng.randrange(args.items)
            return container.read_item(f"drone-{i}", f"fleet-{i % 10}")

        def upsert(n: int) -> object:
            i = rng.randrange(args.items)
            return container.upsert_item({"id": f"drone-{i}", "fleetId": f"fleet-{i % 10}", "payload": n % 25,
                                          "status": "idle"})

        def query(n: int) -> object:
            return list(container.query_items(
                "SELECT c.id, c.payload FROM c WHERE c.status = @s AND c.payload >= @p",
                parameters=[{"name": "@s", "value": "idle"}, {"name": "@p", "value": 20}],
                partition_key=f"fleet-{n % 10}"))

        rows = [measure("point read", read, args.seconds, pid),
                measure(f"upsert (sync={args.sync})", upsert, args.seconds, pid),
                measure(f"query, 1 partition of {args.items // 10}", query, args.seconds, pid)]
    print(f"{'operation':<32} {'ops':>7} {'ops/s':>8} {'server CPU ms/op':>17} {'client CPU ms/op':>17}")
    for row in rows:
        print(f"{row['name']:<32} {row['ops']:>7} {row['rate']:>8.0f} {row['server_ms']:>17.3f} "
              f"{row['client_ms']:>17.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
