"""Throughput and CPU cost of the devstack Service Bus broker, driven by the real azure-servicebus SDK.

Run: ``.venv/bin/python bench/servicebus_bench.py [--messages 2000]``. The broker runs in its own
process (as in the tests); its CPU comes from /proc/<pid>/stat, the client's from this process.
Figures are printed, never asserted: the point is that the broker is not the bottleneck.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from azure.servicebus import ServiceBusClient, ServiceBusMessage, ServiceBusReceiver, ServiceBusSender

from tests.support.servicebus import run_broker

CONFIG = {"UserConfig": {"Namespaces": [{"Name": "bench", "Queues": [
    {"Name": "single", "Properties": {}}, {"Name": "batched", "Properties": {}},
]}]}}
BODY = b"x" * 256


@dataclass
class Result:
    """One scenario's measurements."""

    name: str
    messages: int
    seconds: float
    broker_cpu: float
    client_cpu: float

    def row(self) -> str:
        """One table line."""
        per_k = 1000 / self.messages
        return (f"| {self.name:<28} | {self.messages:>8} | {self.messages / self.seconds:>9.0f} | "
                f"{self.broker_cpu * per_k:>12.3f} | {self.client_cpu * per_k:>12.3f} |")


def process_cpu_seconds(pid: int) -> float:
    """utime + stime of a process from /proc/<pid>/stat (fields 14 and 15, in clock ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(name: str, messages: int, broker_pid: int, work: Callable[[], None]) -> Result:
    """Run ``work`` and record wall time and both sides' CPU."""
    broker_before, client_before, started = process_cpu_seconds(broker_pid), time.process_time(), time.perf_counter()
    work()
    return Result(name, messages, time.perf_counter() - started,
                  process_cpu_seconds(broker_pid) - broker_before, time.process_time() - client_before)


def send_single(sender: ServiceBusSender, count: int) -> None:
    """One message per send call (each waits for the broker's accepted disposition)."""
    for _ in range(count):
        sender.send_messages(ServiceBusMessage(BODY))


def send_batched(sender: ServiceBusSender, count: int, batch_size: int = 100) -> None:
    """ServiceBusMessageBatch of ``batch_size`` messages per send call."""
    for start in range(0, count, batch_size):
        batch = sender.create_message_batch()
        for _ in range(min(batch_size, count - start)):
            batch.add_message(ServiceBusMessage(BODY))
        sender.send_messages(batch)


def receive_complete(receiver: ServiceBusReceiver, count: int) -> None:
    """PEEK_LOCK receive (the receiver prefetches), completing every message."""
    received = 0
    while received < count:
        batch = receiver.receive_messages(max_message_count=100, max_wait_time=5)
        if not batch:
            raise RuntimeError(f"only {received} of {count} messages arrived")
        for message in batch:
            receiver.complete_message(message)
        received += len(batch)


def main(argv: list[str] | None = None) -> int:
    """Run the three scenarios and print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000, help="messages per scenario (single send: 1/4)")
    args = parser.parse_args(argv)
    single = max(args.messages // 4, 100)
    with tempfile.TemporaryDirectory() as tmp, run_broker(Path(tmp), CONFIG) as broker:
        pid = broker.process.proc.pid  # type: ignore[union-attr]
        # Links are opened before measuring: opening and closing them is the SDK's fixed cost
        # (it polls every 50 ms), not per-message work.
        with ServiceBusClient.from_connection_string(broker.connection_string) as client:
            with client.get_queue_sender("single") as single_sender, \
                    client.get_queue_sender("batched") as batch_sender:
                send_single(single_sender, 20)  # warm-up: first transfers, imports
                results = [
                    measure("send, one message per call", single, pid, lambda: send_single(single_sender, single)),
                    measure("send, batches of 100", args.messages, pid,
                            lambda: send_batched(batch_sender, args.messages)),
                ]
            with client.get_queue_receiver("batched", prefetch_count=100) as receiver:
                results.append(measure("PEEK_LOCK receive + complete", args.messages, pid,
                                       lambda: receive_complete(receiver, args.messages)))
    print("| scenario                     | messages |   msgs/s | broker CPU s/1k | client CPU s/1k |")
    print("|------------------------------|----------|----------|--------------|--------------|")
    for result in results:
        print(result.row())
    return 0


if __name__ == "__main__":
    sys.exit(main())
