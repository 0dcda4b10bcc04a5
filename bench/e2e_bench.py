"""Throughput, latency and CPU cost of the whole choreography, driven through the public HTTP API.

    .venv/bin/python bench/e2e_bench.py --deliveries 200 --clients 16 [--rate 5] \\
        [--setting AzureFunctionsJobHost__extensions__serviceBus__maxConcurrentSessions=32] \\
        [--vary maxConcurrentSessions=8,32 --vary sessionIdleTimeout=00:00:05,00:00:01] \\
        [--host-instances 1,2] [--json out.json]
    .venv/bin/python bench/e2e_bench.py --base-url http://127.0.0.1:7071 --servicebus-port 5672 \\
        --cosmos-port 8081 --eventgrid-port 7073      # against a running `devstack up`

Each configuration (every combination of ``--vary`` values and ``--host-instances``) runs on a fresh stack:
devstack's own Supervisor and service specs, free loopback ports, flights scaled down as in the end-to-end
tests. Clients POST deliveries (closed loop: ``--clients`` each waiting for its delivery to end; open loop:
``--rate`` per second) and wait for every delivery to be terminal (``--wait``). Reported: throughput, POST→Shipped
percentiles, per-hop latency from each delivery's history, CPU seconds per delivery of every process
(utime+stime from /proc/<pid>/stat), the CPU-bound rate (cores ÷ CPU per delivery) and achieved ÷ bound, and
the busiest process's share of one core with its own bound (1 ÷ its CPU per delivery: one Python process, one
GIL, at most one core), which is what caps a single host before the machine's cores are used up.
Figures are printed, never asserted: this is a benchmark, not a test.

How a client learns that its delivery ended (``--wait``, comma-separated values run side by side):
``events`` (the default with a stack of the bench's own) subscribes the bench to the outcome events Delivery
announces on Event Grid, as an owner's app would (resources/eventgrid.json plus one webhook subscription), and
reads each delivery's history once the measured window is over; ``poll`` GETs each delivery until it is terminal
(the only choice with ``--base-url``). Polling costs host and Cosmos CPU per GET and leaves each closed-loop
client idle until its next GET, so it measures the client as much as the choreography.
"""
from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp
from aiohttp import web
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from devstack.demo.client import TERMINAL_STATES, DeliveriesClient, delivery_request, state_of
from devstack.stack.app_settings import local_values
from devstack.stack.listeners import pids_listening
from devstack.stack.services import stack_services
from devstack.stack.settings import Ports, StackSettings
from devstack.stack.supervisor import Supervisor

REPO_ROOT = Path(__file__).resolve().parents[1]
WAIT_MODES = ("events", "poll")
# Event Grid's header naming what a POST to a webhook carries (learn.microsoft.com/azure/event-grid/
# webhook-event-delivery): a SubscriptionValidation handshake or a Notification.
AEG_EVENT_TYPE = "aeg-event-type"
SB_PREFIX = "AzureFunctionsJobHost__extensions__serviceBus__"
# Hops read from a delivery's history: (label, from, to); each end is a history milestone (see milestones).
HOPS = [("POST→202", "post", "accepted"), ("202→Requested", "accepted", "requested"),
        ("Requested→1st report", "requested", "first_report"),
        ("1st→2nd report (Scheduled)", "first_report", "scheduled"), ("Scheduled→InTransit", "scheduled", "in_transit"),
        ("InTransit→Shipped", "in_transit", "shipped"), ("POST→Shipped", "post", "shipped")]


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process from /proc/<pid>/stat (fields 14 and 15, in clock ticks); 0 if gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine spent not idle (all cores), from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    """A free loopback port."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Config:
    """One run's knobs: app settings (host.json overrides included) and host instances."""

    label: str
    settings: dict[str, str]
    host_instances: int = 1
    wait: str = "events"  # how a client learns that its delivery ended (WAIT_MODES)


@dataclass
class Sample:
    """One delivery as the client saw it."""

    delivery_id: str
    posted_at: float  # wall clock (the history's `at` is wall clock too)
    accepted_at: float = 0.0
    state: str | None = None
    reason: str | None = None
    milestones: dict[str, float] = field(default_factory=dict)
    gets: int = 0  # GETs while the delivery was in flight (poll mode)

    def record(self, status: dict[str, Any]) -> None:
        """The milestones of a terminal delivery's status body (POST and 202 as the client saw them)."""
        self.milestones = {"post": self.posted_at, "accepted": self.accepted_at,
                           **milestones(status.get("history") or [])}


@dataclass
class Result:
    """One configuration's figures."""

    config: str
    host_instances: int
    wait: str
    deliveries: int
    outcomes: dict[str, int]
    seconds: float
    throughput: float
    latency: dict[str, dict[str, float]]  # hop label -> p50/p95/p99 seconds
    cpu: dict[str, float]                 # process -> CPU seconds per delivery
    cpu_total: float
    cpu_bound_rate: float
    achieved_over_bound: float
    gets_per_delivery: float
    load: dict[str, float]
    idle_cpu_percent: dict[str, float] = field(default_factory=dict)  # % of one core, before any load
    # The process with the most CPU per delivery: each of ours is one Python process (one GIL, one event loop),
    # so it can use at most one core, and 1 ÷ its CPU per delivery bounds the rate whatever the other cores do.
    busiest: str = ""
    busiest_core_share: float = 0.0   # of one core, over the measured window
    one_process_bound_rate: float = float("inf")


def _at(entry: dict[str, Any]) -> float | None:
    value = entry.get("at")
    if not isinstance(value, str):
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def milestones(history: list[dict[str, Any]]) -> dict[str, float]:
    """When each step happened, from the delivery's history (each entry: messageType, at, note)."""
    seen: dict[str, float] = {}
    reports: list[float] = []
    flights: list[float] = []
    for entry in sorted(history, key=lambda e: _at(e) or 0.0):
        kind, at = entry.get("messageType") or entry.get("message_type"), _at(entry)
        if at is None:
            continue
        if kind == "DeliveryRequested":
            seen.setdefault("requested", at)
        elif kind in ("PackageReady", "DroneScheduled"):
            reports.append(at)
        elif kind == "FlightProgress":
            flights.append(at)
    if reports:
        seen["first_report"] = reports[0]
    if len(reports) > 1:
        seen["scheduled"] = reports[1]
    if flights:
        seen["in_transit"] = flights[0]
    if len(flights) > 1:
        seen["shipped"] = flights[-1]
    return seen


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank) of ``values``; NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


class OutcomeWebhook:
    """The bench's Event Grid subscriber: each delivery's outcome as Delivery announces it (DeliveryShipped,
    DeliveryFailed, DeliveryCancelled), on a free loopback port in the bench's own event loop.

    It answers the validation handshake by echoing ``validationCode`` (Event Grid's webhook contract) and keys the
    notifications by ``data.deliveryId``. Event Grid delivers at least once, so a repeat is simply recorded again."""

    def __init__(self) -> None:
        self.port = free_port()
        self._outcomes: dict[str, tuple[str, str | None]] = {}
        self._waiters: dict[str, asyncio.Future[tuple[str, str | None]]] = {}
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/outcomes"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/outcomes", self._receive)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def subscribe(self, app_config: Path, out: Path) -> Path:
        """The app's Event Grid declaration plus this webhook on every topic, for the terminal event types."""
        config = json.loads(app_config.read_text())
        for topic in config["topics"]:
            types = sorted({kind for sub in topic.get("subscriptions", [])
                            for kind in sub.get("filter", {}).get("includedEventTypes", [])})
            topic.setdefault("subscriptions", []).append({
                "name": "bench-outcomes", "endpointUrl": self.url,
                **({"filter": {"includedEventTypes": types}} if types else {})})
        out.write_text(json.dumps(config, indent=2))
        return out

    async def outcome(self, delivery_id: str, seconds: float) -> tuple[str, str | None] | None:
        """The delivery's announced (state, reason); None if none came within ``seconds``."""
        if delivery_id in self._outcomes:
            return self._outcomes[delivery_id]
        waiter = self._waiters.setdefault(delivery_id, asyncio.get_running_loop().create_future())
        try:
            async with asyncio.timeout(seconds):
                return await waiter
        except TimeoutError:
            return None
        finally:
            self._waiters.pop(delivery_id, None)

    async def _receive(self, request: web.Request) -> web.Response:
        try:
            events = await request.json()
        except ValueError:
            return web.json_response({"error": "body is not JSON"}, status=400)
        if request.headers.get(AEG_EVENT_TYPE) == "SubscriptionValidation":
            return web.json_response({"validationResponse": events[0]["data"]["validationCode"]})
        for event in events if isinstance(events, list) else [events]:
            data = event.get("data") or {}
            delivery_id, state = data.get("deliveryId"), data.get("state")
            if not isinstance(delivery_id, str) or state not in TERMINAL_STATES:
                continue
            self._outcomes[delivery_id] = (state, data.get("reason"))
            waiter = self._waiters.get(delivery_id)
            if waiter is not None and not waiter.done():
                waiter.set_result(self._outcomes[delivery_id])
        return web.Response(status=200)


class Load:
    """Drives deliveries through the HTTP API and waits for each to be terminal."""

    def __init__(self, client: DeliveriesClient, args: argparse.Namespace, progress: Progress, task: Any,
                 outcomes: OutcomeWebhook | None) -> None:
        self._client, self._args, self._progress, self._task = client, args, progress, task
        self._outcomes = outcomes
        self._rng = random.Random(args.seed)
        self.samples: list[Sample] = []

    async def one(self, index: int) -> Sample:
        """POST one delivery, then wait for its outcome: announced on Event Grid, or polled (see module doc)."""
        body = delivery_request(f"bench-{os.getpid()}-{index}-{self._rng.randrange(1 << 30):x}", rng=self._rng)
        sample = Sample(body["deliveryId"], time.time())
        self.samples.append(sample)
        reply = await self._client.submit(body)
        sample.accepted_at = time.time()
        if reply.status != 202:
            sample.state = f"HTTP {reply.status}"
        elif self._outcomes is not None:
            announced = await self._outcomes.outcome(sample.delivery_id, self._args.timeout)
            sample.state, sample.reason = announced if announced else ("timed out", None)
        else:
            await self._poll(sample)
        self._progress.advance(self._task)
        return sample

    async def histories(self) -> None:
        """After the measured window: one GET per announced delivery for its history (the per-hop latencies)."""
        limit = asyncio.Semaphore(16)

        async def fetch(sample: Sample) -> None:
            async with limit:
                reply = await self._client.get(sample.delivery_id)
            if state_of(reply) in TERMINAL_STATES:
                sample.record(reply.body)

        await asyncio.gather(*(fetch(s) for s in self.samples if s.state in TERMINAL_STATES and not s.milestones))

    async def _poll(self, sample: Sample) -> None:
        deadline, interval = time.monotonic() + self._args.timeout, 0.25
        while time.monotonic() < deadline:
            # Back off up to --poll-interval: every GET costs host and Cosmos CPU that would be counted
            # against the delivery. Latencies come from the history, so polling late does not skew them.
            await asyncio.sleep(interval)
            interval = min(self._args.poll_interval, interval * 1.5)
            reply = await self._client.get(sample.delivery_id)
            sample.gets += 1
            if state_of(reply) in TERMINAL_STATES:
                sample.state, sample.reason = state_of(reply), reply.body.get("reason")
                sample.record(reply.body)
                return
        sample.state = "timed out"

    async def closed_loop(self, count: int, clients: int) -> None:
        """``clients`` workers, each submitting its next delivery once the last one is terminal."""
        counter = itertools.count()

        async def worker() -> None:
            while (index := next(counter)) < count:
                await self.one(index)

        await asyncio.gather(*(worker() for _ in range(clients)))

    async def open_loop(self, count: int, rate: float) -> None:
        """One POST every 1/``rate`` seconds, whatever the system's progress."""
        started, tasks = time.monotonic(), []
        for index in range(count):
            await asyncio.sleep(max(0.0, started + index / rate - time.monotonic()))
            tasks.append(asyncio.create_task(self.one(index)))
        await asyncio.gather(*tasks)


@dataclass
class Target:
    """Where the load goes and which processes' CPU is counted."""

    base_url: str
    pids: dict[str, int]


def stack_settings(data_dir: Path, config: Config, args: argparse.Namespace,
                   outcomes: OutcomeWebhook | None = None) -> StackSettings:
    """This app on free ports, flights scaled down as in tests/support/stack.py, plus the config's settings;
    with ``outcomes``, Event Grid also delivers the outcome events to the bench."""
    ports = Ports(servicebus=free_port(), cosmos=free_port(), eventgrid=free_port(), host=free_port())
    app_settings = {**local_values(REPO_ROOT), "FlightTimeScale": str(args.flight_time_scale),
                    "ReadinessDeadlineSeconds": str(args.readiness_deadline), "FleetSize": str(args.fleet_size),
                    **config.settings}
    eventgrid_config = (outcomes.subscribe(REPO_ROOT / "resources" / "eventgrid.json", data_dir / "eventgrid.json")
                        if outcomes else None)
    return StackSettings(app_dir=REPO_ROOT, data_dir=data_dir, ports=ports, eventgrid_time_scale=0.01,
                         app_settings=app_settings, log_level="WARNING", host_instances=config.host_instances,
                         eventgrid_config=eventgrid_config)


@contextmanager
def own_stack(config: Config, args: argparse.Namespace, outcomes: OutcomeWebhook | None) -> Iterator[Target]:
    """A fresh stack for one configuration (temporary data folder, log kept there while it runs)."""
    data_dir = Path(tempfile.mkdtemp(prefix="e2e-bench-"))
    settings = stack_settings(data_dir, config, args, outcomes)
    log = open(data_dir / "stack.log", "a", buffering=1)  # noqa: SIM115 - closed below
    def write(name: str, line: str) -> None:
        log.write(f"{name:>10} | {line}\n")

    supervisor = Supervisor(stack_services(settings), write)
    try:
        supervisor.start(timeout=120)
        pids = {child.spec.name: child.proc.pid for child in supervisor.children}
        yield Target(f"http://127.0.0.1:{settings.ports.host}", pids)
    finally:
        supervisor.stop()
        log.close()
        if args.keep:
            print(f"kept {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)


def running_stack(args: argparse.Namespace) -> Target:
    """An already running stack: its processes found by the ports they listen on."""
    host_port = int(args.base_url.rsplit(":", 1)[1].split("/")[0])
    pids: dict[str, int] = {}
    for number, pid in enumerate(pids_listening(host_port), start=1):
        pids["host" if number == 1 else f"host-{number}"] = pid
    for name in ("servicebus", "cosmos", "eventgrid"):
        port = getattr(args, f"{name}_port")
        listening = pids_listening(port) if port else []
        if listening:
            pids[name] = listening[0]
    return Target(args.base_url, pids)


async def idle_cpu(target: Target, seconds: float) -> dict[str, float]:
    """Each process's CPU over ``seconds`` of no load, as a percentage of one core."""
    before = {name: cpu_seconds(pid) for name, pid in target.pids.items()}
    await asyncio.sleep(seconds)
    return {name: 100 * (cpu_seconds(pid) - before[name]) / seconds for name, pid in target.pids.items()}


async def run_own(config: Config, args: argparse.Namespace, console: Console) -> Result:
    """One configuration on a fresh stack; the outcome webhook listens before Event Grid starts (its handshake)."""
    outcomes = OutcomeWebhook() if config.wait == "events" else None
    if outcomes:
        await outcomes.start()
    try:
        # Starting the stack blocks this loop for a few seconds; Event Grid's handshake waits in the listen
        # backlog meanwhile (it allows 30 s for an answer) or is retried.
        with own_stack(config, args, outcomes) as target:
            return await drive(target, config, args, console, outcomes)
    finally:
        if outcomes:
            await outcomes.stop()


async def drive(target: Target, config: Config, args: argparse.Namespace, console: Console,
                outcomes: OutcomeWebhook | None = None) -> Result:
    """Warm up, then run the load and measure wall time, every process's CPU and the machine's load."""
    if args.idle and args.settle:
        await asyncio.sleep(args.settle)  # e.g. past tryTimeout, when the host rests its spare session slots
    idle = await idle_cpu(target, args.idle) if args.idle else {}
    connector = aiohttp.TCPConnector(limit=0, force_close=args.connection_per_request)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as session:
        client = DeliveriesClient(session, target.base_url)
        with Progress(TextColumn(f"[bold]{config.label}[/]"), BarColumn(), MofNCompleteColumn(),
                      TextColumn("terminal"), TimeElapsedColumn(), console=console, transient=True) as progress:
            warm = Load(client, args, progress, progress.add_task("warm-up", total=args.warmup), outcomes)
            await asyncio.gather(*(warm.one(-1 - n) for n in range(args.warmup)))  # imports, clients, links
            load = Load(client, args, progress, progress.add_task("load", total=args.deliveries), outcomes)
            cpu_before = {name: cpu_seconds(pid) for name, pid in target.pids.items()}
            busy_before, bench_before = machine_busy_seconds(), time.process_time()
            started = time.monotonic()
            if args.rate:
                await load.open_loop(args.deliveries, args.rate)
            else:
                await load.closed_loop(args.deliveries, args.clients)
            seconds = time.monotonic() - started
            cpu = {name: cpu_seconds(pid) - cpu_before[name] for name, pid in target.pids.items()}
            machine = machine_busy_seconds() - busy_before
            cpu["bench client"] = time.process_time() - bench_before
        await load.histories()  # outside the measured window
    result = summarize(config, load.samples, seconds, cpu, machine)
    result.idle_cpu_percent = idle
    return result


def summarize(config: Config, samples: list[Sample], seconds: float, cpu: dict[str, float],
              machine_busy: float) -> Result:
    """Figures of one run."""
    count = len(samples)
    outcomes: dict[str, int] = {}
    for sample in samples:
        key = sample.state if sample.state != "Failed" else f"Failed ({sample.reason})"
        outcomes[str(key)] = outcomes.get(str(key), 0) + 1
    latency = {}
    for label, start, end in HOPS:
        values = [s.milestones[end] - s.milestones[start] for s in samples
                  if start in s.milestones and end in s.milestones]
        latency[label] = {"p50": percentile(values, 50), "p95": percentile(values, 95),
                          "p99": percentile(values, 99), "n": len(values)}
    per_delivery = {name: value / count for name, value in cpu.items()}
    stack_total = sum(value for name, value in per_delivery.items() if name != "bench client")
    cores = os.cpu_count() or 1
    bound = cores / stack_total if stack_total else float("inf")
    throughput = count / seconds
    ours = sum(cpu.values())
    load = {"cores": cores, "loadavg_1m": os.getloadavg()[0], "machine_busy_cores": machine_busy / seconds,
            "other_processes_cores": max(0.0, (machine_busy - ours) / seconds)}
    stack = {name: value for name, value in per_delivery.items() if name != "bench client"}
    busiest = max(stack, key=lambda name: stack[name]) if stack else ""
    result = Result(config.label, config.host_instances, config.wait, count, outcomes, seconds, throughput, latency,
                    per_delivery, stack_total, bound, throughput / bound, sum(s.gets for s in samples) / count, load)
    if busiest and stack[busiest]:
        result.busiest = busiest
        result.busiest_core_share = stack[busiest] * throughput
        result.one_process_bound_rate = 1.0 / stack[busiest]
    return result


def configs(args: argparse.Namespace) -> list[Config]:
    """Every combination of the ``--vary`` values, times each ``--host-instances`` count."""
    base = dict(parse_setting(text) for text in args.setting)
    axes = [parse_vary(text) for text in args.vary]
    found = []
    for combination in itertools.product(*[values for _, values in axes]) if axes else [()]:
        chosen = {name: value for (name, _), value in zip(axes, combination, strict=True)}
        for instances, wait in itertools.product(args.host_instances, args.wait):
            label = " ".join(f"{short(k)}={v}" for k, v in chosen.items()) or "baseline"
            if len(args.host_instances) > 1:
                label += f" ×{instances}"
            if len(args.wait) > 1:
                label += f" {wait}"
            found.append(Config(label, {**base, **chosen}, instances, wait))
    return found


def parse_wait(text: str) -> list[str]:
    """``events``, ``poll`` or both, comma-separated."""
    modes = text.split(",")
    if not modes or any(mode not in WAIT_MODES for mode in modes):
        raise argparse.ArgumentTypeError(f"--wait takes {' or '.join(WAIT_MODES)} (comma-separated), not {text!r}")
    return modes


def parse_setting(text: str) -> tuple[str, str]:
    """``NAME=value``."""
    name, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"--setting needs NAME=value, not {text!r}")
    return name, value


def parse_vary(text: str) -> tuple[str, list[str]]:
    """``name=v1,v2``; a bare Service Bus key (``maxConcurrentSessions``) gets the host override prefix."""
    name, values = parse_setting(text)
    if "__" not in name and name[:1].islower():  # PYTHON_THREADPOOL_THREAD_COUNT stays as it is
        name = SB_PREFIX + name
    return name, values.split(",")


def short(name: str) -> str:
    """A setting's name without the host override prefix."""
    return name.removeprefix(SB_PREFIX)


def _ms(seconds: float) -> str:
    return "—" if seconds != seconds else f"{seconds:.2f}"


def print_tables(console: Console, results: list[Result]) -> None:
    """Side by side, one column per configuration: throughput, latency, CPU; then per-hop latency."""
    processes = sorted({name for r in results for name in r.cpu}, key=lambda n: (n == "bench client", n))
    table = Table(title="throughput and CPU seconds per delivery (bound = cores ÷ stack CPU per delivery)")
    table.add_column("")
    for r in results:
        table.add_column(r.config, justify="right")
    shipped = [r.latency["POST→Shipped"] for r in results]
    rows: list[tuple[str, list[str]]] = [
        ("deliveries/s", [f"{r.throughput:.2f}" for r in results]),
        ("POST→Shipped p50 / p95 / p99 s", [f"{_ms(s['p50'])} / {_ms(s['p95'])} / {_ms(s['p99'])}" for s in shipped]),
        *[(f"CPU/delivery {p}", [f"{r.cpu.get(p, 0.0):.4f}" for r in results]) for p in processes],
        ("CPU/delivery stack total", [f"{r.cpu_total:.4f}" for r in results]),
        ("CPU-bound rate /s", [f"{r.cpu_bound_rate:.1f}" for r in results]),
        ("achieved ÷ bound", [f"{r.achieved_over_bound:.0%}" for r in results]),
        ("busiest process: share of one core", [f"{r.busiest} {r.busiest_core_share:.0%}" for r in results]),
        ("its one-core bound /s (1 ÷ its CPU/delivery)", [f"{r.one_process_bound_rate:.1f}" for r in results]),
        ("client waits by", [r.wait for r in results]),
        ("GETs per delivery in flight", [f"{r.gets_per_delivery:.1f}" for r in results]),
        ("outcomes", [", ".join(f"{k} {v}" for k, v in sorted(r.outcomes.items())) for r in results]),
        ("other load on the machine (cores)", [f"{r.load['other_processes_cores']:.2f}" for r in results]),
        *[(f"idle CPU % of a core {p}", [f"{r.idle_cpu_percent[p]:.2f}" if p in r.idle_cpu_percent else "—"
                                         for r in results]) for p in processes if p != "bench client"],
    ]
    for label, cells in rows:
        table.add_row(label, *cells)
    console.print(table)
    hops = Table(title="per-hop latency from the delivery history, p50 / p95 seconds")
    hops.add_column("hop")
    for r in results:
        hops.add_column(r.config, justify="right")
    for label, _, _ in HOPS:
        hops.add_row(label, *[f"{_ms(r.latency[label]['p50'])} / {_ms(r.latency[label]['p95'])}" for r in results])
    console.print(hops)


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Flags."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deliveries", type=int, default=200)
    loop = parser.add_mutually_exclusive_group()
    loop.add_argument("--clients", type=int, default=16, help="closed loop: deliveries in flight (default)")
    loop.add_argument("--rate", type=float, help="open loop: POSTs per second")
    parser.add_argument("--setting", action="append", default=[], metavar="NAME=value",
                        help="app setting for every run, e.g. AzureFunctionsJobHost__extensions__serviceBus__"
                             "maxConcurrentSessions=32 (repeatable)")
    parser.add_argument("--vary", action="append", default=[], metavar="NAME=v1,v2",
                        help="run once per value (combinations of all --vary); a bare name is a host.json "
                             "extensions.serviceBus key, e.g. maxConcurrentSessions=8,16,32")
    parser.add_argument("--host-instances", type=lambda t: [int(n) for n in t.split(",")], default=[1],
                        help="comma-separated, e.g. 1,2: the same load against each count of host processes")
    parser.add_argument("--base-url", help="target a running stack instead of starting one")
    for name in ("servicebus", "cosmos", "eventgrid"):
        parser.add_argument(f"--{name}-port", type=int, help=f"with --base-url: {name}'s port (for its CPU)")
    parser.add_argument("--idle", type=float, default=0.0, metavar="SECONDS",
                        help="first measure each process's CPU with no load for this long (e.g. 30)")
    parser.add_argument("--settle", type=float, default=0.0, metavar="SECONDS",
                        help="with --idle: wait this long before measuring; a host that started or saw load within "
                             "tryTimeout (60 s) still has an accept pending in every session slot (e.g. 65)")
    parser.add_argument("--warmup", type=int, default=4, help="deliveries before measuring (not counted)")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds a delivery may take to be terminal")
    parser.add_argument("--wait", type=parse_wait, default=None,
                        help="how a client learns its delivery ended: events (Event Grid webhook; default with the "
                             "bench's own stack), poll (GET until terminal; the default with --base-url), or both "
                             "side by side: events,poll")
    parser.add_argument("--poll-interval", type=float, default=2.0,
                        help="at most this many seconds between GETs of one delivery (from 0.25 s, ×1.5 each)")
    parser.add_argument("--flight-time-scale", type=float, default=0.002, help="FlightTimeScale (own stack)")
    parser.add_argument("--readiness-deadline", type=float, default=30.0, help="ReadinessDeadlineSeconds")
    parser.add_argument("--fleet-size", type=int, default=64, help="FleetSize (enough drones for the load)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--connection-per-request", action="store_true",
                        help="close each HTTP connection after its request (default: keep-alive, one pooled "
                             "connection per client in flight; SO_REUSEPORT spreads connections, not requests, among "
                             "host instances, so a pool of 16 lands on both)")
    parser.add_argument("--json", type=Path, help="write every figure here")
    parser.add_argument("--keep", action="store_true", help="keep each stack's data folder (logs, SQLite)")
    args = parser.parse_args(argv)
    if args.base_url and (args.vary or args.host_instances != [1] or args.setting):
        parser.error("--vary, --setting and --host-instances need a stack of the bench's own (no --base-url)")
    if args.base_url and args.wait not in (None, ["poll"]):
        parser.error("--base-url needs --wait poll: the bench subscribes to outcome events on stacks of its own")
    args.wait = args.wait or (["poll"] if args.base_url else ["events"])
    return args


def main(argv: list[str]) -> int:
    """Run each configuration in turn, print them side by side, optionally write JSON."""
    args = parse_args(argv)
    # Wide enough for one column per configuration, even when piped to a file.
    console = Console(width=max(100, 40 + 24 * len(configs(args))))
    results = []
    mode = f"open loop {args.rate}/s" if args.rate else f"closed loop, {args.clients} clients"
    console.print(f"{args.deliveries} deliveries, {mode}; {os.cpu_count()} cores, load average "
                  f"{os.getloadavg()[0]:.2f} before starting")
    for config in configs(args) if not args.base_url else [Config("running stack", {}, wait="poll")]:
        if args.base_url:
            results.append(asyncio.run(drive(running_stack(args), config, args, console)))
        else:
            results.append(asyncio.run(run_own(config, args, console)))
        print_tables(console, results[-1:])
    if len(results) > 1:
        print_tables(console, results)
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
