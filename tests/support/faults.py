"""Fault-injection harness: drive deliveries through the HTTP API while processes are killed or kept down,
then check the choreography's invariants from the services' own data (Cosmos containers, the broker,
Event Grid), never from the harness's bookkeeping alone.

Used by tests/reliability/test_faults.py (short runs) and bench/faults.py (longer runs, a table).
"""
from __future__ import annotations

import io
import json
import logging
import random
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from azure.servicebus import NEXT_AVAILABLE_SESSION, ServiceBusClient, ServiceBusReceiveMode, ServiceBusSubQueue
from azure.servicebus.exceptions import OperationTimeoutError
from rich.console import Console
from rich.table import Table

from devstack.stack.settings import EVENTGRID_KEY, EVENTGRID_TOPIC
from tests.support.processes import REPO_ROOT
from tests.support.stack import RunningStack, running_stack

log = logging.getLogger(__name__)

TERMINAL = ("Shipped", "Failed", "Cancelled")
OUTCOME_OF = {state: f"Delivery{state}" for state in TERMINAL}   # final state -> the outcome message type
AUDIT = "audit"                                                  # the tap subscription added to `deliveries`
TOPIC = "deliveries"
# (topic or queue, subscription, Remediation's entity name): the consumers whose queues must drain and
# whose dead-letter queues Remediation watches (remediation/blueprint.py).
CONSUMERS = ((TOPIC, "package", "package"), (TOPIC, "drone-scheduler", "drone-scheduler"),
             (TOPIC, "delivery", "delivery"), ("delivery-inbox", None, "delivery-inbox"))
SERVICES = {"host": "host", "broker": "servicebus", "cosmos": "cosmos", "eventgrid": "eventgrid"}
INVARIANTS = ("1 terminal", "2a Event Grid", "2b topic", "3 drones", "4 nothing held", "5 dead letters")


# ---------------------------------------------------------------------------------------------- scenarios
@dataclass(frozen=True)
class Scenario:
    """``<service>-kill:<times>`` (SIGKILL then restart at once) or ``<service>-down:<seconds>`` (stop, wait,
    start again on the same port and data folder); ``none`` for a baseline. Service: host|broker|cosmos|eventgrid."""

    service: str
    mode: str      # "kill" | "down" | "none"
    amount: float  # kills, or seconds down

    @classmethod
    def parse(cls, text: str) -> Scenario:
        """From ``eventgrid-down:30``, ``host-kill:5``, ``none``."""
        if text == "none":
            return cls("none", "none", 0)
        head, _, amount = text.partition(":")
        service, _, mode = head.rpartition("-")
        if service not in SERVICES or mode not in ("kill", "down"):
            raise ValueError(f"unknown scenario {text!r}: expected <host|broker|cosmos|eventgrid>-<kill|down>:<n>")
        return cls(service, mode, float(amount or (1 if mode == "kill" else 8)))

    @property
    def name(self) -> str:
        """The spelling ``parse`` reads."""
        return "none" if self.mode == "none" else f"{self.service}-{self.mode}:{self.amount:g}"

    def moments(self) -> list[float]:
        """When to strike, as fractions of the posts made: k kills spread evenly (1 → 50 %, 3 → 25/50/75 %);
        one outage starting at 30 %, so posts keep arriving while the service is down."""
        if self.mode == "kill":
            count = int(self.amount)
            return [(i + 1) / (count + 1) for i in range(count)]
        return [0.3] if self.mode == "down" else []


@dataclass(frozen=True)
class Load:
    """How many deliveries, how many concurrent clients, how many cancelled and how soon."""

    deliveries: int = 100
    clients: int = 8
    cancel_fraction: float = 0.3
    cancel_within: float = 2.0      # a cancel is sent at a random moment up to this long after the 202
    request_deadline: float = 90.0  # a client retries a POST/DELETE the host did not answer for this long
    seed: int = 0


@dataclass(frozen=True)
class Budget:
    """How long to wait for the system to settle, and after how long without any change to give up."""

    settle: float = 120.0
    stall: float = 20.0


# ------------------------------------------------------------------------------------------------- results
@dataclass
class Check:
    """One invariant's verdict: a short summary for the table and the offending items for the message."""

    name: str
    ok: bool
    summary: str
    details: list[str] = field(default_factory=list)


@dataclass
class Result:
    """What one scenario run measured."""

    scenario: Scenario
    load: Load
    accepted: int = 0
    refused: dict[str, str] = field(default_factory=dict)
    cancels: Counter[str] = field(default_factory=Counter)
    states: Counter[str] = field(default_factory=Counter)
    faults: list[str] = field(default_factory=list)
    post_seconds: float = 0.0
    settle_seconds: float = 0.0
    terminal_seconds: float | None = None  # from the first POST until every accepted delivery was terminal
    settled: bool = False
    checks: list[Check] = field(default_factory=list)

    @property
    def wall_seconds(self) -> float:
        """From the first POST until the system settled (or the harness gave up)."""
        return self.post_seconds + self.settle_seconds

    @property
    def throughput(self) -> float:
        """Accepted deliveries per second, from the first POST until the last one was terminal (the drain
        after that is waiting for stale timers, not delivering); 0 when some never ended."""
        return self.accepted / self.terminal_seconds if self.terminal_seconds else 0.0

    @property
    def ok(self) -> bool:
        """Every invariant held."""
        return all(check.ok for check in self.checks)

    def failure_report(self, limit: int = 15) -> str:
        """Each failed invariant with the first ``limit`` offending items, for an assertion message."""
        lines = [f"scenario {self.scenario.name}: faults {self.faults}; states {dict(self.states)}"]
        for check in self.checks:
            if not check.ok:
                lines.append(f"[{check.name}] {check.summary}")
                lines += [f"    {item}" for item in check.details[:limit]]
                if len(check.details) > limit:
                    lines.append(f"    ... and {len(check.details) - limit} more")
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        """The figures, for --json."""
        return {"scenario": self.scenario.name, "deliveries": self.load.deliveries, "clients": self.load.clients,
                "cancelFraction": self.load.cancel_fraction, "accepted": self.accepted, "refused": self.refused,
                "cancels": dict(self.cancels), "states": dict(self.states), "faults": self.faults,
                "postSeconds": round(self.post_seconds, 2), "settleSeconds": round(self.settle_seconds, 2),
                "terminalSeconds": self.terminal_seconds and round(self.terminal_seconds, 2),
                "wallSeconds": round(self.wall_seconds, 2), "throughput": round(self.throughput, 2),
                "settled": self.settled,
                "checks": [{"name": c.name, "ok": c.ok, "summary": c.summary, "details": c.details}
                           for c in self.checks]}


def table(results: list[Result]) -> Table:
    """Scenarios × invariants, with counts, throughput and wall time."""
    grid = Table(title="fault injection: scenarios × invariants")
    for column in ("scenario", "accepted", "final states", *INVARIANTS, "deliveries/s", "posts/terminal/wall s"):
        grid.add_column(column, overflow="fold")
    for result in results:
        cells = [f"[green]✓[/] {c.summary}" if c.ok else f"[red]✗[/] {c.summary}" for c in result.checks]
        states = " ".join(f"{state[0]}{result.states.get(state, 0)}" for state in (*TERMINAL, "stuck"))
        grid.add_row(result.scenario.name, f"{result.accepted}/{result.load.deliveries}", states, *cells,
                     f"{result.throughput:.1f}", f"{result.post_seconds:.0f}/"
                     f"{'-' if result.terminal_seconds is None else f'{result.terminal_seconds:.0f}'}/"
                     f"{result.wall_seconds:.0f}")
    return grid


def render(results: list[Result], width: int = 220) -> str:
    """The table as plain text (for test output and logs)."""
    console = Console(width=width, file=io.StringIO(), color_system=None)
    console.print(table(results))
    return console.file.getvalue()


# ----------------------------------------------------------------------------------------------- the stack
def audit_config(source: Path, target: Path) -> Path:
    """A copy of the app's Config.json with one extra subscription on `deliveries` that taps the three outcome
    subjects (correlation filters; rules are OR-ed), so the test can read what was announced on the topic."""
    config = json.loads(source.read_text())
    topic = next(topic for namespace in config["UserConfig"]["Namespaces"]
                 for topic in namespace.get("Topics", []) if topic["Name"] == TOPIC)
    topic["Subscriptions"].append({
        "Name": AUDIT,
        "Properties": {"DeadLetteringOnMessageExpiration": False, "DefaultMessageTimeToLive": "PT1H",
                       "LockDuration": "PT1M", "MaxDeliveryCount": 10, "ForwardDeadLetteredMessagesTo": "",
                       "ForwardTo": "", "RequiresSession": False},
        "Rules": [{"Name": f"outcome-{subject}",
                   "Properties": {"FilterType": "Correlation", "CorrelationFilter": {"Label": subject}}}
                  for subject in OUTCOME_OF.values()],
    })
    target.write_text(json.dumps(config, indent=2))
    return target


def fault_settings(load: Load) -> dict[str, str]:
    """App settings for a fault run: enough session slots for the concurrency, and a fleet that never runs dry
    (so NoDroneAvailable does not drown the faults' effects; it would still be a legitimate Failed)."""
    return {"AzureFunctionsJobHost__extensions__serviceBus__maxConcurrentSessions": "32",
            "AzureFunctionsJobHost__extensions__serviceBus__maxConcurrentCalls": "32",
            "FleetSize": str(max(20, load.deliveries))}


@contextmanager
def fault_stack(data_dir: Path, load: Load, **overrides: str) -> Iterator[RunningStack]:
    """A whole stack with the audit tap, for one scenario."""
    data_dir.mkdir(parents=True, exist_ok=True)
    config = audit_config(REPO_ROOT / "resources" / "Config.json", data_dir / "Config.audit.json")
    with running_stack(data_dir, servicebus_config=config, **{**fault_settings(load), **overrides}) as stack:
        yield stack


# -------------------------------------------------------------------------------------------- the clients
def delivery_body(delivery_id: str, rng: random.Random) -> dict[str, Any]:
    """A valid request near the seeded fleet that every drone can carry (Small, ≤ 4 kg)."""
    jitter = lambda: rng.uniform(-0.01, 0.01)  # noqa: E731 - spreads the legs a little
    return {"deliveryId": delivery_id, "ownerId": "owner-faults",
            "pickupLocation": {"latitude": 47.615 + jitter(), "longitude": -122.33 + jitter()},
            "dropoffLocation": {"latitude": 47.625 + jitter(), "longitude": -122.34 + jitter()},
            "expedited": False, "confirmationRequired": "None",
            "packageInfo": {"packageId": f"pkg-{delivery_id}", "size": "Small",
                            "weight": round(rng.uniform(0.5, 4), 1)}}


def http(method: str, url: str, body: Any | None, deadline: float) -> str:
    """One request, retried while the host cannot answer (connection refused/reset, timeouts, 5xx) until
    ``deadline``; returns the final status, or ``unreachable`` / ``<status>`` after the deadline."""
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"} if body is not None else {}
    last, pause = "unreachable", 0.1
    while True:
        try:
            with urllib.request.urlopen(urllib.request.Request(url, data, headers, method=method), timeout=15) as r:
                return str(r.status)
        except urllib.error.HTTPError as error:
            last = str(error.code)
            if error.code < 500:
                return last
        except (urllib.error.URLError, OSError) as error:  # the host is down or was killed mid-request
            last = f"unreachable ({type(error).__name__})"
        if time.monotonic() + pause > deadline:
            return last
        time.sleep(pause)
        pause = min(pause * 2, 1.0)


class Clients:
    """C threads posting N deliveries (retrying while the host is down) and cancelling a fraction of them."""

    def __init__(self, base_url: str, load: Load, prefix: str) -> None:
        self.url, self.load, self.prefix = f"{base_url}/api/deliveries", load, prefix
        self.ids = [f"{prefix}-{i:04d}" for i in range(load.deliveries)]
        rng = random.Random(load.seed)
        self.cancelled = set(rng.sample(self.ids, round(load.cancel_fraction * load.deliveries)))
        self.accepted: dict[str, float] = {}
        self.refused: dict[str, str] = {}
        self.cancels: Counter[str] = Counter()
        self._next, self._done, self._lock = 0, 0, threading.Lock()
        self._threads = [threading.Thread(target=self._client, args=(n,), daemon=True) for n in range(load.clients)]

    @property
    def posted(self) -> int:
        """POSTs answered (or given up on) so far."""
        with self._lock:
            return self._done

    def start(self) -> None:
        """Start every client."""
        for thread in self._threads:
            thread.start()

    def join(self, timeout: float) -> None:
        """Wait for the clients; each request has its own deadline, so this ends."""
        end = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, end - time.monotonic()))

    def alive(self) -> bool:
        """True while a client still works."""
        return any(thread.is_alive() for thread in self._threads)

    def _take(self) -> int | None:
        with self._lock:
            if self._next >= len(self.ids):
                return None
            self._next += 1
            return self._next - 1

    def _client(self, number: int) -> None:
        rng = random.Random(f"{self.load.seed}:{number}")
        while (index := self._take()) is not None:
            delivery_id = self.ids[index]
            status = http("POST", self.url, delivery_body(delivery_id, rng),
                          time.monotonic() + self.load.request_deadline)
            with self._lock:
                self._done += 1
                if status == "202":
                    self.accepted[delivery_id] = time.monotonic()
                else:
                    self.refused[delivery_id] = status
            if status == "202" and delivery_id in self.cancelled:
                # A random moment: before the drone is booked, while it flies, or after it landed.
                time.sleep(rng.uniform(0, self.load.cancel_within))
                deadline = time.monotonic() + self.load.request_deadline
                answer = http("DELETE", f"{self.url}/{delivery_id}", None, deadline)
                with self._lock:
                    self.cancels[answer] += 1


# --------------------------------------------------------------------------------------------- the faults
def inject(stack: RunningStack, scenario: Scenario, clients: Clients, started: float) -> list[str]:
    """Strike at each moment of the scenario once that share of the posts is done; returns what was done, when.
    Runs on the caller's thread, which outlives the restarted child (see RunningStack.start_service)."""
    done: list[str] = []
    service = SERVICES.get(scenario.service, "")
    for fraction in scenario.moments():
        target = int(fraction * clients.load.deliveries)
        while clients.posted < target and clients.alive():
            time.sleep(0.05)
        at, posted = time.monotonic() - started, clients.posted
        if scenario.mode == "kill":
            pid = stack.pid(service)
            stack.kill(service)
            stack.start_service(service)
            done.append(f"kill -9 {service} (pid {pid}) at {at:.1f}s after {posted} posts, "
                        f"up again at {time.monotonic() - started:.1f}s")
        else:
            stack.stop_service(service)
            time.sleep(scenario.amount)  # the outage itself: a deliberate duration, not a wait for a condition
            stack.start_service(service)
            done.append(f"{service} down from {at:.1f}s to {time.monotonic() - started:.1f}s "
                        f"(after {posted} posts)")
        log.info("fault: %s", done[-1])
    return done


# ------------------------------------------------------------------------------------------ looking inside
def deliveries(stack: RunningStack, prefix: str) -> dict[str, dict[str, Any]]:
    """This run's delivery documents, by id (Delivery's container)."""
    rows = stack.query("deliveries", "SELECT * FROM c WHERE STARTSWITH(c.id, @prefix)", prefix=prefix)
    return {row["id"]: row for row in rows}


def _receiver(client: ServiceBusClient, entity: str, subscription: str | None, **kwargs: Any) -> Any:
    if subscription:
        return client.get_subscription_receiver(entity, subscription, **kwargs)
    return client.get_queue_receiver(entity, **kwargs)


def peek_all(client: ServiceBusClient, entity: str, subscription: str | None, dead_letters: bool = False,
             limit: int = 20_000) -> list[Any]:
    """Every message of an entity (or its dead-letter queue) in any state, by peeking page by page."""
    kwargs = {"sub_queue": ServiceBusSubQueue.DEAD_LETTER} if dead_letters else {}
    found: list[Any] = []
    with _receiver(client, entity, subscription, **kwargs) as receiver:
        next_seq = 0
        while len(found) < limit:
            page = receiver.peek_messages(max_message_count=250, sequence_number=next_seq)
            if not page:
                break
            found += page
            next_seq = max(m.sequence_number for m in page) + 1
    return found


def _state(message: Any) -> str:
    return getattr(getattr(message, "state", None), "name", "ACTIVE")


def _quick_client(stack: RunningStack) -> ServiceBusClient:
    # No SDK retries: a session the host holds answers SessionCannotBeLocked, which the SDK would retry with
    # back-off for seconds; here it just means "busy, look again later".
    return ServiceBusClient.from_connection_string(stack.settings.connection_settings()["ServiceBusConnection"],
                                                   retry_total=0)


def residue(stack: RunningStack) -> list[str]:
    """What the broker still holds for the app: any message on a subscription (active, locked, deferred or
    scheduled), dead letters Remediation has not taken yet (a deferred one stays; invariant 5), and any session
    of `delivery-inbox` with an available message. That queue requires sessions and a session receiver per
    delivery costs ~1 s to open here, so it is probed with one next-available-session receiver: stale timers
    (scheduled) of ended deliveries and sessions the host is working on are not seen by it."""
    left: list[str] = []
    with _quick_client(stack) as client:
        for entity, subscription, name in CONSUMERS:
            if subscription is not None:
                left += [f"{name}: {m.message_id} {_state(m)}" for m in peek_all(client, entity, subscription)]
            left += [f"{name}/$deadletterqueue: {m.message_id} {m.dead_letter_reason}"
                     for m in peek_all(client, entity, subscription, dead_letters=True) if _state(m) != "DEFERRED"]
        left += _available_session(client)
    return left


def _available_session(client: ServiceBusClient) -> list[str]:
    try:
        with client.get_queue_receiver("delivery-inbox", session_id=NEXT_AVAILABLE_SESSION,
                                       max_wait_time=1) as receiver:
            messages = receiver.peek_messages(max_message_count=100)
            return [f"delivery-inbox session {receiver.session.session_id}: {m.message_id} {_state(m)}"
                    for m in messages] or [f"delivery-inbox session {receiver.session.session_id}: available"]
    except OperationTimeoutError:  # no session has a message available: drained
        return []


@dataclass
class Settled:
    """How settling ended: drained or not, the delivery documents then, and when all were first terminal."""

    drained: bool
    documents: dict[str, dict[str, Any]]
    all_terminal_at: float | None


def settle(stack: RunningStack, clients: Clients, budget: Budget) -> Settled:
    """Poll until every accepted delivery is terminal, the broker is drained and Event Grid owes nothing; give
    up at the deadline or once nothing has changed for ``budget.stall`` seconds (a stuck system)."""
    deadline, last_change, last_seen = time.monotonic() + budget.settle, time.monotonic(), None
    all_terminal_at: float | None = None
    while True:
        documents = deliveries(stack, clients.prefix)
        open_ = sorted((i, (documents.get(i) or {}).get("state")) for i in clients.accepted
                       if (documents.get(i) or {}).get("state") not in TERMINAL)
        if not open_ and all_terminal_at is None:
            all_terminal_at = time.monotonic()
        left, pending = residue(stack), stack.eventgrid_pending()
        log.debug("settling: %d open, %d broker messages, %d Event Grid pending", len(open_), len(left), pending)
        if not open_ and not left and pending == 0:
            return Settled(True, documents, all_terminal_at)
        seen = (open_, sorted(left), pending)
        # A delivery with a timer still set or effects still owed (its own document says so) is waiting, not
        # stuck: only a run with nothing left to happen counts towards the stall; the deadline bounds the rest.
        waiting = any((documents.get(i) or {}).get("timers") or (documents.get(i) or {}).get("outbox")
                      for i, _ in open_)
        if seen != last_seen or waiting:
            last_seen, last_change = seen, time.monotonic()
        now = time.monotonic()
        if now > deadline or now - last_change > budget.stall:
            log.warning("gave up settling: %d open, %d broker messages, %d Event Grid pending",
                        len(open_), len(left), pending)
            return Settled(False, documents, all_terminal_at)
        time.sleep(1.0)


def _at(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def shipped_at(document: dict[str, Any]) -> datetime | None:
    """When the delivery landed: the history entry of its FlightProgress(Delivered) timer (MessageId
    `{id}:FlightProgress:Delivered`, possibly followed by the timer's state instance)."""
    for entry in document.get("history", []):
        if ":FlightProgress:Delivered" in (entry.get("messageId") or ""):
            return _at(entry["at"])
    return None


# -------------------------------------------------------------------------------------------- invariants
def check_terminal(clients: Clients, documents: dict[str, dict[str, Any]]) -> Check:
    """1. Every accepted delivery is Shipped, Failed or Cancelled in `deliveries`."""
    stuck = []
    for delivery_id in sorted(clients.accepted):
        document = documents.get(delivery_id)
        if document is None or document.get("state") not in TERMINAL:
            history = (document or {}).get("history") or [{}]
            stuck.append(f"{delivery_id}: state {(document or {}).get('state', 'no document')}, last message "
                         f"{history[-1].get('messageType')} at {history[-1].get('at')}")
    ok_count = len(clients.accepted) - len(stuck)
    detail = f"{ok_count}/{len(clients.accepted)}" + (f", {len(stuck)} stuck" if stuck else "")
    return Check(INVARIANTS[0], not stuck, detail, stuck)


def check_eventgrid(stack: RunningStack, clients: Clients, documents: dict[str, dict[str, Any]]) -> Check:
    """2a. Notifications recorded exactly one outcome event per delivery, matching its final state; Event Grid
    has nothing pending and dead-lettered nothing."""
    by_delivery: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for row in stack.query("notifications", "SELECT * FROM c WHERE STARTSWITH(c.deliveryId, @prefix)",
                           prefix=clients.prefix):
        by_delivery[row["deliveryId"]].add((row["eventType"].rsplit(".", 1)[-1], row["state"]))
    wrong = []
    for delivery_id in sorted(clients.accepted):
        state = (documents.get(delivery_id) or {}).get("state")
        expected = {(OUTCOME_OF[state], state)} if state in TERMINAL else set()
        if by_delivery.get(delivery_id, set()) != expected:
            wrong.append(f"{delivery_id}: state {state}, notifications {sorted(by_delivery.get(delivery_id, []))}")
    dead = eventgrid_dead_letters(stack)
    wrong += [f"Event Grid dead letter {d.get('id')}: {d.get('deadLetterReason')} after {d.get('deliveryAttempts')} "
              f"attempts ({d.get('lastDeliveryOutcome')})" for d in dead]
    pending = stack.eventgrid_pending()
    if pending:
        wrong.append(f"Event Grid still owes {pending} deliveries")
    good = len(clients.accepted) - len([w for w in wrong if not w.startswith("Event Grid")])
    summary = f"{good}/{len(clients.accepted)}, {len(dead)} EG dead letters"
    return Check(INVARIANTS[1], not wrong, summary, wrong)


def eventgrid_dead_letters(stack: RunningStack) -> list[dict[str, Any]]:
    """Events Event Grid gave up delivering to Notifications."""
    url = (f"http://127.0.0.1:{stack.settings.ports.eventgrid}/topics/{EVENTGRID_TOPIC}"
           f"/subscriptions/notifications/deadletters")
    request = urllib.request.Request(url, headers={"aeg-sas-key": EVENTGRID_KEY})
    with urllib.request.urlopen(request, timeout=10) as reply:
        return list(json.loads(reply.read()))


def drain_audit(stack: RunningStack, budget: float = 60.0) -> dict[str, list[str]]:
    """Receive (and delete) everything the audit tap holds: outcome subjects per delivery, in order."""
    subjects: dict[str, list[str]] = defaultdict(list)
    deadline = time.monotonic() + budget
    with stack.servicebus() as client, client.get_subscription_receiver(
            TOPIC, AUDIT, receive_mode=ServiceBusReceiveMode.RECEIVE_AND_DELETE) as receiver:
        while time.monotonic() < deadline:
            batch = receiver.receive_messages(max_message_count=200, max_wait_time=2)
            if not batch:
                break
            for message in batch:
                body = json.loads(b"".join(message.body))
                subjects[body.get("deliveryId", message.session_id)].append(message.subject)
    return subjects


def check_topic(clients: Clients, documents: dict[str, dict[str, Any]], audit: dict[str, list[str]]) -> Check:
    """2b. On the topic, exactly one distinct outcome type per delivery, equal to its final state
    (re-published copies of the same outcome are fine)."""
    wrong = []
    for delivery_id in sorted(clients.accepted):
        state = (documents.get(delivery_id) or {}).get("state")
        expected = {OUTCOME_OF[state]} if state in TERMINAL else set()
        if set(audit.get(delivery_id, [])) != expected:
            wrong.append(f"{delivery_id}: state {state}, outcomes on the topic {audit.get(delivery_id, [])}")
    copies = sum(len(v) for v in audit.values())
    return Check(INVARIANTS[2], not wrong, f"{len(clients.accepted) - len(wrong)}/{len(clients.accepted)}, "
                 f"{copies} messages", wrong)


def check_drones(stack: RunningStack, clients: Clients, documents: dict[str, dict[str, Any]]) -> Check:
    """3. No drone held by two deliveries at overlapping times, none released before its delivery landed, and
    a shipped delivery flew the drone its reservation held."""
    reservations = {row["deliveryId"]: row for row in stack.query(
        "drones", "SELECT * FROM c WHERE c.kind = 'reservation' AND STARTSWITH(c.deliveryId, @prefix)",
        prefix=clients.prefix)}
    wrong: list[str] = []
    by_drone: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in reservations.values():
        if row.get("droneId"):
            by_drone[row["droneId"]].append(row)
    for drone_id, rows in sorted(by_drone.items()):
        rows.sort(key=lambda r: r["createdAt"])
        holder, held_until = None, None
        for row in rows:
            start = _at(row["createdAt"])
            if holder is not None and (held_until is None or start < held_until):
                wrong.append(f"{drone_id} held by {holder['deliveryId']} ({holder['createdAt']} → "
                             f"{holder.get('releasedAt') or 'still held'}) and by {row['deliveryId']} from "
                             f"{row['createdAt']}")
            end = _at(row.get("releasedAt")) if row.get("status") == "Released" else None
            if holder is None or (held_until is not None and (end is None or end > held_until)):
                holder, held_until = row, end
    for delivery_id, document in sorted(documents.items()):
        if document.get("state") != "Shipped":
            continue
        row, landed = reservations.get(delivery_id), shipped_at(document)
        flew = (document.get("drone") or {}).get("droneId")
        if row is None or row.get("droneId") != flew:
            wrong.append(f"{delivery_id} shipped with {flew} but its reservation is {row and row.get('droneId')}")
        elif landed is None:
            wrong.append(f"{delivery_id} is Shipped but its history has no FlightProgress(Delivered)")
        elif row.get("status") == "Released" and _at(row["releasedAt"]) < landed:
            wrong.append(f"{flew} released for {delivery_id} at {row['releasedAt']}, before it landed at "
                         f"{landed.isoformat()}")
    summary = f"{len(reservations)} reservations on {len(by_drone)} drones, {len(wrong)} violations"
    return Check(INVARIANTS[3], not wrong, summary, wrong)


def check_nothing_held(stack: RunningStack, clients: Clients, documents: dict[str, dict[str, Any]],
                       settled: bool) -> Check:
    """4. Once everything is terminal and drained: no Held reservation, every drone Available, no Ready package."""
    held = stack.query("drones", "SELECT * FROM c WHERE c.kind = 'reservation' AND c.status = 'Held'")
    busy = stack.query("drones", "SELECT * FROM c WHERE c.kind = 'drone' AND c.status != 'Available'")
    ready = stack.query("packages", "SELECT * FROM c WHERE c.status = 'Ready'")
    wrong = ([f"reservation of {r['deliveryId']} still Held on {r.get('droneId')} since {r['createdAt']}" for r in held]
             + [f"{d['id']} is {d['status']} for {d.get('reservedFor')}" for d in busy]
             + [f"package {p['id']} of {p.get('deliveryId')} still Ready since {p.get('updatedAt')}" for p in ready])
    left = residue(stack)
    owed = sorted(i for i, d in documents.items() if d.get("outbox"))
    wrong += [f"delivery {i} still owes {len(documents[i]['outbox'])} effect(s) (its outbox)" for i in owed]
    wrong += [f"broker still holds {item}" for item in left]
    if not settled:
        wrong.append("the system did not settle (see invariant 1 and the broker's residue)")
    summary = (f"{len(held)} held, {len(busy)} drones busy, {len(ready)} packages Ready, {len(left)} msgs left, "
               f"{len(owed)} outboxes owing")
    return Check(INVARIANTS[4], not wrong, summary, wrong)


def check_dead_letters(stack: RunningStack) -> Check:
    """5. Every dead letter still in a dead-letter queue has a Remediation record (by MessageId), and none was
    dead-lettered MaxDeliveryCountExceeded; counts per queue and reason from the records and the queues."""
    records = stack.query("deadletters", "SELECT * FROM c")
    recorded = {(r["entity"], r.get("messageId")) for r in records}
    counts: Counter[str] = Counter(f"{r['entity']}:{r.get('deadLetterReason')}" for r in records)
    wrong: list[str] = []
    with stack.servicebus() as client:
        for entity, subscription, name in CONSUMERS:
            for message in peek_all(client, entity, subscription, dead_letters=True):
                if (name, message.message_id) not in recorded:
                    counts[f"{name}:{message.dead_letter_reason} (unrecorded)"] += 1
                    wrong.append(f"{name}/$deadletterqueue {message.message_id} ({message.dead_letter_reason}, "
                                 f"{_state(message)}) has no Remediation record")
    exhausted = sorted(f"{r['entity']}: {r.get('messageId')} ({r.get('subject')})" for r in records
                       if r.get("deadLetterReason") == "MaxDeliveryCountExceeded")
    wrong += [f"MaxDeliveryCountExceeded on {item}" for item in exhausted]
    summary = ", ".join(f"{key} {n}" for key, n in sorted(counts.items())) or "none"
    return Check(INVARIANTS[5], not wrong, summary, wrong)


# -------------------------------------------------------------------------------------------------- a run
def run_scenario(stack: RunningStack, scenario: Scenario, load: Load, budget: Budget = Budget()) -> Result:
    """Drive one scenario on a running stack (fresh delivery ids), settle, and check every invariant."""
    prefix = f"f{uuid.uuid4().hex[:6]}-{scenario.service}"
    clients, result = Clients(stack.base_url, load, prefix), Result(scenario, load)
    started = time.monotonic()
    clients.start()
    result.faults = inject(stack, scenario, clients, started)
    clients.join(timeout=load.request_deadline * 2 + load.deliveries)
    result.post_seconds = time.monotonic() - started
    settled = settle(stack, clients, budget)
    result.settled, documents = settled.drained, settled.documents
    result.settle_seconds = time.monotonic() - started - result.post_seconds
    if settled.all_terminal_at is not None:
        result.terminal_seconds = settled.all_terminal_at - started
    result.accepted, result.refused, result.cancels = len(clients.accepted), clients.refused, clients.cancels
    audit = drain_audit(stack)
    # Read the deliveries again after the announcements, so a run that did not settle is judged on one picture.
    documents = deliveries(stack, prefix)
    result.states = Counter((documents.get(i) or {}).get("state") if (documents.get(i) or {}).get("state")
                            in TERMINAL else "stuck" for i in clients.accepted)
    result.checks = [check_terminal(clients, documents), check_eventgrid(stack, clients, documents),
                     check_topic(clients, documents, audit), check_drones(stack, clients, documents),
                     check_nothing_held(stack, clients, documents, result.settled), check_dead_letters(stack)]
    return result


def run_isolated(data_dir: Path, scenario: Scenario, load: Load, budget: Budget = Budget(),
                 on_stack: Callable[[RunningStack], None] | None = None) -> Result:
    """One scenario on its own fresh stack (so one scenario's leftovers never fail the next one's checks)."""
    with fault_stack(data_dir, load) as stack:
        if on_stack is not None:
            on_stack(stack)
        return run_scenario(stack, scenario, load, budget)
