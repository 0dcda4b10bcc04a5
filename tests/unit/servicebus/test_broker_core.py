"""Broker semantics against an in-memory store and a hand-moved clock (no sockets, no proton)."""
from __future__ import annotations

import pytest

from devstack.servicebus.core import management, timers
from devstack.servicebus.core.broker import Broker
from devstack.servicebus.core.entity import Entity
from devstack.servicebus.core.errors import (
    EntityNotFound,
    InvalidOperation,
    MessageLockLost,
    MessageNotFound,
    MessageSizeExceeded,
    SessionCannotBeLocked,
    SessionLockLost,
)
from devstack.servicebus.core.filters import MessageFacts
from devstack.servicebus.core.message import Envelope, MessageState
from devstack.servicebus.core.settlement import Outcome, settle
from devstack.servicebus.core.topology import load_topology
from tests.unit.servicebus.fakes import CountingSessions, FakeClock, FakeReceiver, MemoryStore

CONFIG = {"UserConfig": {"Namespaces": [{"Name": "ns", "Queues": [
    {"Name": "q", "Properties": {"LockDuration": "PT10S", "MaxDeliveryCount": 3}},
    {"Name": "ttl", "Properties": {"DefaultMessageTimeToLive": "PT5S", "DeadLetteringOnMessageExpiration": True}},
    {"Name": "s", "Properties": {"RequiresSession": True, "LockDuration": "PT10S"}},
    {"Name": "dd", "Properties": {"RequiresDuplicateDetection": True, "DuplicateDetectionHistoryTimeWindow": "PT20S"}},
    {"Name": "fwd", "Properties": {"ForwardTo": "s"}},
    {"Name": "cyc-a", "Properties": {"ForwardTo": "cyc-b"}},
    {"Name": "cyc-b", "Properties": {"ForwardTo": "cyc-a"}},
], "Topics": [{"Name": "t", "Subscriptions": [
    {"Name": "all"},
    {"Name": "red", "Rules": [{"Name": "r", "Properties": {"FilterType": "Correlation",
                                                          "CorrelationFilter": {"Properties": {"color": "red"}}}}]},
]}]}]}}


def env(body: str, session: str | None = None, message_id: str | None = None, ttl: float | None = None,
        scheduled_at: float | None = None, **user: object) -> Envelope:
    return Envelope(body.encode(), MessageFacts({}, user), message_id, session, ttl, scheduled_at)


@pytest.fixture()
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture()
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture()
def broker(clock: FakeClock, store: MemoryStore) -> Broker:
    return Broker(load_topology(CONFIG), store, clock)


def attach(broker: Broker, path: str, receiver: FakeReceiver, session: str | None = None,
           sessionful: bool = False, timeout: float = 5.0) -> Entity:
    return broker.attach(path, receiver, session, sessionful=sessionful, timeout=timeout)


def test_peek_lock_then_complete_removes_durably(broker: Broker, store: MemoryStore) -> None:
    broker.send("q", [env("a"), env("b")])
    receiver = FakeReceiver(credit=1)
    attach(broker, "q", receiver)
    assert receiver.bodies == [b"a"]
    settle(broker, receiver.token(), Outcome.COMPLETE)
    assert receiver.bodies == [b"a"]  # no credit left for b
    receiver.grant(1)
    broker.pump(broker.receivable("q"))
    assert receiver.bodies == [b"a", b"b"]
    assert [m.payload for m in store.messages.values()] == [b"b"]


def test_abandon_counts_and_max_delivery_dead_letters(broker: Broker) -> None:
    broker.send("q", [env("poison")])
    receiver = FakeReceiver()
    attach(broker, "q", receiver)
    for _ in range(3):
        settle(broker, receiver.token(), Outcome.ABANDON)
    assert [m.delivery_count for m, _, _ in receiver.delivered] == [0, 1, 2]
    [dead] = broker.receivable("q/$DeadLetterQueue").messages.values()
    assert dead.dead_letter is not None and dead.dead_letter.reason == "MaxDeliveryCountExceeded"


def test_release_does_not_count_a_delivery(broker: Broker) -> None:
    broker.send("q", [env("x")])
    receiver = FakeReceiver()
    attach(broker, "q", receiver)
    settle(broker, receiver.token(), Outcome.RELEASE)
    assert [m.delivery_count for m, _, _ in receiver.delivered] == [0, 0]


def test_lock_expiry_redelivers_and_old_token_is_lost(broker: Broker, clock: FakeClock) -> None:
    broker.send("q", [env("slow")])
    receiver = FakeReceiver()
    attach(broker, "q", receiver)
    first = receiver.token()
    clock.advance(10.5)
    timers.tick(broker)
    assert len(receiver.delivered) == 2 and receiver.delivered[1][0].delivery_count == 1
    with pytest.raises(MessageLockLost):
        settle(broker, first, Outcome.COMPLETE)


def test_renew_lock_pushes_expiry(broker: Broker, clock: FakeClock) -> None:
    broker.send("q", [env("hold")])
    receiver = FakeReceiver()
    entity = attach(broker, "q", receiver)
    clock.advance(8)
    [until] = management.renew_locks(broker, entity, [receiver.token()])
    assert until == clock.now + 10
    clock.advance(8)
    timers.tick(broker)
    assert len(receiver.delivered) == 1


def test_ttl_dead_letters_with_reason(broker: Broker, clock: FakeClock) -> None:
    broker.send("ttl", [env("old", ttl=60), env("young", ttl=2)])  # entity default 5 s caps the 60 s
    clock.advance(5.1)
    timers.tick(broker)
    dlq = broker.receivable("ttl/$deadletterqueue")
    reasons = sorted((m.payload, m.dead_letter.reason) for m in dlq.messages.values() if m.dead_letter)
    assert reasons == [(b"old", "TTLExpiredException"), (b"young", "TTLExpiredException")]


def test_a_schedule_already_due_is_enqueued_at_once_under_a_real_sequence_number(broker: Broker,
                                                                                  clock: FakeClock) -> None:
    [seq] = broker.send("q", [env("late", scheduled_at=clock.now - 1)])
    assert seq > 0 and broker.receivable("q").messages[seq].state is MessageState.ACTIVE
    with pytest.raises(MessageNotFound):
        management.cancel_scheduled(broker, "q", [seq])  # nothing scheduled under that number


def test_scheduled_message_waits_and_can_be_cancelled(broker: Broker, clock: FakeClock) -> None:
    keep, drop = broker.send("q", [env("later", scheduled_at=clock.now + 30),
                                   env("never", scheduled_at=clock.now + 30)])
    management.cancel_scheduled(broker, "q", [drop])
    receiver = FakeReceiver()
    attach(broker, "q", receiver)
    assert receiver.delivered == []
    assert broker.receivable("q").messages[keep].state is MessageState.SCHEDULED
    clock.advance(30)
    timers.tick(broker)
    assert receiver.bodies == [b"later"]


def test_next_due_is_the_earliest_pending_work(broker: Broker, clock: FakeClock) -> None:
    # What lets the AMQP loop sleep while idle (amqp/loop.py): never later than the work tick would do.
    assert timers.next_due(broker) == float("inf")
    broker.send("q", [env("later", scheduled_at=clock.now + 30)])
    assert timers.next_due(broker) == clock.now + 30
    broker.send("q", [env("now")])
    attach(broker, "q", FakeReceiver())  # takes "now": its lock (LockDuration 10 s) expires first
    assert timers.next_due(broker) == clock.now + 10
    attach(broker, "s", FakeReceiver(), sessionful=True, timeout=5.0)  # no session yet: waits up to 5 s
    assert timers.next_due(broker) == clock.now + 5
    clock.advance(5)
    timers.tick(broker)  # the session wait timed out
    assert timers.next_due(broker) == clock.now + 5  # the lock, 10 s after it was taken


def test_duplicates_dropped_inside_window_only(broker: Broker, clock: FakeClock) -> None:
    broker.send("dd", [env("1", message_id="m"), env("2", message_id="m")])
    clock.advance(21)
    broker.send("dd", [env("3", message_id="m")])
    assert sorted(m.payload for m in broker.receivable("dd").messages.values()) == [b"1", b"3"]


def test_topic_copies_have_their_own_sequence_numbers(broker: Broker) -> None:
    broker.send("t", [env("plain"), env("red one", color="red")])
    everything = broker.receivable("t/subscriptions/all").messages
    red = broker.receivable("t/Subscriptions/red").messages
    assert sorted(everything) == [1, 2]
    assert [(seq, m.payload) for seq, m in red.items()] == [(1, b"red one")]


def test_sessions_are_exclusive_fifo_and_lock_expiry_frees_them(broker: Broker, clock: FakeClock) -> None:
    broker.send("s", [env("a1", session="a"), env("b1", session="b"), env("a2", session="a")])
    first = FakeReceiver()
    attach(broker, "s", first, "a", sessionful=True)
    assert first.bodies == [b"a1", b"a2"]
    with pytest.raises(SessionCannotBeLocked):
        attach(broker, "s", FakeReceiver(), "a", sessionful=True)
    clock.advance(10.5)
    timers.tick(broker)
    assert first.closed == ["session-lock-lost"]
    with pytest.raises(SessionLockLost):
        management.renew_session_lock(broker, broker.receivable("s"), "a")
    second = FakeReceiver()
    attach(broker, "s", second, "a", sessionful=True)
    assert [(m.payload, m.delivery_count) for m, _, _ in second.delivered] == [(b"a1", 1), (b"a2", 1)]


def test_next_available_waits_for_a_session_then_times_out(broker: Broker, clock: FakeClock) -> None:
    waiting = FakeReceiver()
    attach(broker, "s", waiting, None, sessionful=True, timeout=5)
    broker.send("s", [env("x", session="late")])
    assert waiting.assigned == ["late"] and waiting.bodies == [b"x"]
    idle = FakeReceiver()
    attach(broker, "s", idle, None, sessionful=True, timeout=5)
    clock.advance(5)
    timers.tick(broker)
    assert idle.closed == ["timeout"]


def test_detach_releases_locks_and_session(broker: Broker) -> None:
    broker.send("s", [env("x", session="k")])
    holder = FakeReceiver()
    entity = attach(broker, "s", holder, "k", sessionful=True)
    broker.detach(entity, holder)
    other = FakeReceiver()
    attach(broker, "s", other, None, sessionful=True)
    assert other.assigned == ["k"]
    # Closing a session receiver is not a failed delivery.
    assert [m.delivery_count for m, _, _ in other.delivered] == [0]


def use_session(broker: Broker, session: str, *, state: bytes | None = None, outcome: Outcome = Outcome.COMPLETE,
                peek_lock: bool = True) -> None:
    """Send one message to a session, receive it by session id, settle it, let the session go."""
    broker.send("s", [env("m", session=session)])
    receiver = FakeReceiver(peek_lock=peek_lock)
    entity = attach(broker, "s", receiver, session, sessionful=True)
    if state is not None:
        management.set_session_state(broker, entity, session, state)
    if peek_lock:
        settle(broker, receiver.token(), outcome)
    broker.detach(entity, receiver)


def test_session_slots_are_forgotten_once_nothing_keeps_them(broker: Broker, clock: FakeClock) -> None:
    entity = broker.receivable("s")
    for i in range(30):
        use_session(broker, f"done{i}")
    use_session(broker, "dead", outcome=Outcome.DEAD_LETTER)
    use_session(broker, "rad", peek_lock=False)
    use_session(broker, "deferred", outcome=Outcome.DEFER)
    use_session(broker, "stateful", state=b"kept")
    with pytest.raises(SessionLockLost):  # asking about a session nobody holds creates nothing
        management.get_session_state(broker, entity, "never-seen")
    assert sorted(entity.sessions) == ["deferred", "stateful"]  # a message or state keeps a slot
    assert entity.session_ids() == ["deferred", "stateful"]
    # A session lock that runs out lets the slot go once its message is gone too.
    broker.send("s", [env("x", session="expiring")])
    holder = FakeReceiver()
    attach(broker, "s", holder, "expiring", sessionful=True)
    clock.advance(11)
    timers.tick(broker)
    other = FakeReceiver()
    attach(broker, "s", other, "expiring", sessionful=True)
    settle(broker, other.token(), Outcome.COMPLETE)
    broker.detach(entity, other)
    assert sorted(entity.sessions) == ["deferred", "stateful"]


def test_waiting_session_receiver_does_not_scan_old_sessions_and_keeps_arrival_order(broker: Broker) -> None:
    entity = broker.receivable("s")
    for i in range(50):
        use_session(broker, f"old{i}", state=b"history")  # state keeps these slots for good
    entity.sessions = walks = CountingSessions(entity.sessions)
    first, second = FakeReceiver(credit=0), FakeReceiver(credit=0)
    attach(broker, "s", first, None, sessionful=True, timeout=60)
    attach(broker, "s", second, None, sessionful=True, timeout=60)
    for i in range(20):
        broker.send("s", [env("x", session="hot-b" if i % 2 else "hot-a")])
    assert walks.walks == 0
    assert (first.assigned, second.assigned) == (["hot-a"], ["hot-b"])  # sessions in the order they filled
    late = FakeReceiver()
    attach(broker, "s", late, None, sessionful=True)  # nothing free: it waits, still without a scan
    broker.detach(entity, first)
    assert late.assigned == ["hot-a"] and walks.walks == 0


def test_forward_to_session_queue_keeps_the_session(broker: Broker) -> None:
    broker.send("fwd", [env("on", session="z")])
    [moved] = broker.receivable("s").messages.values()
    assert (moved.payload, moved.session_id) == (b"on", "z")
    assert broker.receivable("fwd").messages == {}


def test_forwarding_cycle_dead_letters_after_four_hops(broker: Broker) -> None:
    broker.send("cyc-a", [env("loop")])
    # cyc-a -> b -> a -> b -> a: four hops; a fifth would exceed the limit.
    assert broker.receivable("cyc-a").messages == {} and broker.receivable("cyc-b").messages == {}
    [dead] = broker.receivable("cyc-a/$DeadLetterQueue").messages.values()
    assert dead.payload == b"loop"
    assert dead.dead_letter is not None and dead.dead_letter.reason == "MaxTransferHopCountExceeded"
    assert broker.receivable("cyc-b/$DeadLetterQueue").messages == {}


def test_scheduled_message_to_forwarding_queue_waits_there_and_can_be_cancelled(
        broker: Broker, clock: FakeClock) -> None:
    keep, drop = broker.send("fwd", [env("later", session="z", scheduled_at=clock.now + 30),
                                     env("never", session="z", scheduled_at=clock.now + 30)])
    assert {m.state for m in broker.receivable("fwd").messages.values()} == {MessageState.SCHEDULED}
    management.cancel_scheduled(broker, "fwd", [drop])
    assert broker.receivable("s").messages == {}
    clock.advance(31)
    timers.tick(broker)
    assert broker.receivable("fwd").messages == {}
    [moved] = broker.receivable("s").messages.values()
    assert (moved.payload, moved.session_id, moved.state) == (b"later", "z", MessageState.ACTIVE)
    assert keep == 1


def test_bad_requests_are_typed_errors(broker: Broker) -> None:
    with pytest.raises(EntityNotFound):
        broker.send("nope", [env("x")])
    with pytest.raises(InvalidOperation):
        broker.send("s", [env("no session")])
    with pytest.raises(MessageSizeExceeded):
        broker.send("q", [Envelope(b"x" * 300_000, MessageFacts({}, {}))])
    with pytest.raises(InvalidOperation):
        attach(broker, "s", FakeReceiver())  # a session entity needs a session receiver
    assert broker.receivable("q").messages == {}


def test_restart_restores_messages_unlocked_and_sequences(clock: FakeClock, store: MemoryStore) -> None:
    first = Broker(load_topology(CONFIG), store, clock)
    first.send("q", [env("a"), env("b")])
    attach(first, "q", FakeReceiver())  # both locked when the process "dies"
    first.send("q", [env("c")])
    lock = first.receivable("q").messages[1].lock
    assert lock is not None
    settle(first, lock.token, Outcome.COMPLETE)
    again = Broker(load_topology(CONFIG), store, clock)
    receiver = FakeReceiver()
    attach(again, "q", receiver)
    assert receiver.bodies == [b"b", b"c"]
    again.send("q", [env("d")])
    assert max(again.receivable("q").messages) == 4
