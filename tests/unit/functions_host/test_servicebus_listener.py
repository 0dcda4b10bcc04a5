"""The Service Bus trigger driver against an in-memory receiver: settlement, concurrency, sessions, stop."""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from devstack.functions_host.errors import InvocationError
from devstack.functions_host.servicebus.message_actions import MessageActions, SettlementRegistry
from devstack.functions_host.servicebus.ports import ReceiverPort
from devstack.functions_host.servicebus.triggers import IDLE_ACCEPTS, ListenerOptions, ServiceBusListener
from tests.unit.functions_host.fake_receivers import FakeEntity, FakeFactory, FakeMessage


def options(**overrides: Any) -> ListenerOptions:
    values = {"sessions": False, "auto_complete": True, "max_concurrent_calls": 4, "max_concurrent_sessions": 1,
              "session_idle_timeout": 0.05, "max_lock_renewal": 60.0}
    return ListenerOptions(**{**values, **overrides})


async def run_until(listener: ServiceBusListener, done: Callable[[], bool], within: float = 5.0) -> None:
    """Run the listener until ``done()`` holds (``within`` seconds at most), then stop it and wait for it to finish."""
    task = asyncio.create_task(listener.run())
    await reached(done, within)
    listener.stop()
    await asyncio.wait_for(task, 5)


async def reached(done: Callable[[], bool], within: float = 5.0) -> None:
    """Wait until ``done()`` holds (``within`` seconds at most)."""
    deadline = asyncio.get_running_loop().time() + within
    while not done():
        assert asyncio.get_running_loop().time() < deadline, "the listener did not get there in time"
        await asyncio.sleep(0.005)


def listener_for(entity: FakeEntity, process: Callable[[ReceiverPort, Any], Awaitable[None]],
                 registry: SettlementRegistry | None = None, **overrides: Any) -> ServiceBusListener:
    return ServiceBusListener("f", FakeFactory(entity), options(**overrides), process, registry or SettlementRegistry())


def test_auto_complete_on_success_and_abandon_on_failure() -> None:
    entity = FakeEntity()
    entity.add(FakeMessage("ok"), FakeMessage("bad"))

    async def process(receiver: ReceiverPort, message: Any) -> None:
        if message.body == "bad":
            raise InvocationError("f", "id", ValueError("bad"))

    asyncio.run(run_until(listener_for(entity, process), lambda: len(entity.outcomes) == 2))
    assert sorted(entity.outcomes) == [("abandon", "bad"), ("complete", "ok")]
    assert entity.renewals == 2  # each message's lock was kept while its function ran


def test_without_auto_complete_an_unsettled_success_is_left_to_its_lock() -> None:
    entity = FakeEntity()
    entity.add(FakeMessage("left"), FakeMessage("fails"))
    calls: list[str] = []

    async def process(receiver: ReceiverPort, message: Any) -> None:
        calls.append(message.body)
        if message.body == "fails":
            raise InvocationError("f", "id", ValueError("x"))

    asyncio.run(run_until(listener_for(entity, process, auto_complete=False), lambda: len(calls) == 2))
    assert entity.outcomes == [("abandon", "fails")]  # an exception abandons regardless of auto-complete


def test_message_actions_settle_from_the_function_thread_and_the_host_does_not_settle_again() -> None:
    entity = FakeEntity()
    entity.add(FakeMessage("dead"), FakeMessage("deferred"), FakeMessage("completed-then-raise"))
    registry = SettlementRegistry()

    async def scenario() -> None:
        actions = MessageActions(registry, asyncio.get_running_loop())

        def user_function(message: FakeMessage) -> None:  # runs in a worker thread, like a sync function
            if message.body == "dead":
                actions.deadletter(message, deadletter_reason="Why", deadletter_error_description="because")
            elif message.body == "deferred":
                actions.defer(message)
            else:
                actions.complete(message)
                raise RuntimeError("after settling")

        async def process(receiver: ReceiverPort, message: Any) -> None:
            try:
                await asyncio.to_thread(user_function, message)
            except RuntimeError as exc:
                raise InvocationError("f", "id", exc) from exc

        await run_until(listener_for(entity, process, registry, auto_complete=True),
                        lambda: len(entity.outcomes) == 3)

    asyncio.run(scenario())
    assert sorted(entity.outcomes) == sorted([("complete", "completed-then-raise"), ("defer", "deferred"),
                                              ("deadletter:Why:because", "dead")])
    assert registry.messages == {}


def test_max_concurrent_calls_is_never_exceeded() -> None:
    entity = FakeEntity()
    entity.add(*(FakeMessage(f"m{n}") for n in range(10)))
    running, peak = 0, 0

    async def process(receiver: ReceiverPort, message: Any) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.02)
        running -= 1

    asyncio.run(run_until(listener_for(entity, process, max_concurrent_calls=3), lambda: len(entity.outcomes) == 10))
    assert peak == 3


def test_a_message_waiting_when_a_receive_starts_is_invoked_at_once() -> None:
    # The SDK's receive_messages(n > 1) may hold a message that reached its buffer while the call was sending
    # credit until the next message arrives or the try-timeout (60 s) ends: the CI failure where Drone Scheduler
    # saw a DeliveryRequested 12 s late. One message per receive cannot be held that way.
    entity = FakeEntity(batches_wait_for_an_arrival=True)
    entity.add(FakeMessage("waiting"))
    invoked: list[str] = []

    async def process(receiver: ReceiverPort, message: Any) -> None:
        invoked.append(message.body)

    listener = listener_for(entity, process, try_timeout=30.0)
    asyncio.run(run_until(listener, lambda: invoked == ["waiting"], within=2.0))


def test_a_receive_is_quiet_only_while_nothing_is_in_flight() -> None:
    # A quiet receive may read its connection seldom; a running invocation's lock renewal and settlement need
    # their replies read promptly, so any receive made while one runs is not quiet.
    entity = FakeEntity()
    entity.add(FakeMessage("first"))
    release = asyncio.Event()

    async def process(receiver: ReceiverPort, message: Any) -> None:
        if message.body == "first":
            await release.wait()

    async def scenario() -> None:
        task = asyncio.create_task(listener.run())
        await reached(lambda: len(entity.receives) >= 2)  # the first brought "first"; the second waits meanwhile
        entity.add(FakeMessage("second"))
        await reached(lambda: len(entity.outcomes) >= 1)
        release.set()
        await reached(lambda: len(entity.outcomes) >= 2 and len(entity.receives) >= 4)
        listener.stop()
        await asyncio.wait_for(task, 5)

    listener = listener_for(entity, process, try_timeout=0.05)
    asyncio.run(asyncio.wait_for(scenario(), 10))
    assert entity.receives[0] == (1, True)       # nothing in flight yet
    assert entity.receives[1] == (1, False)      # "first" is running
    assert entity.receives[-1] == (1, True)      # both done: quiet again
    assert all(count == 1 for count, _ in entity.receives)


def test_sessions_are_served_one_message_at_a_time_in_order() -> None:
    entity = FakeEntity()
    entity.add(*(FakeMessage(f"A{n}", "A") for n in range(4)))
    seen: list[str] = []
    running = 0

    async def process(receiver: ReceiverPort, message: Any) -> None:
        nonlocal running
        running += 1
        assert running == 1
        seen.append(message.body)
        await asyncio.sleep(0.005)
        running -= 1

    asyncio.run(run_until(listener_for(entity, process, sessions=True, max_concurrent_sessions=1),
                          lambda: len(entity.outcomes) == 4))
    assert seen == ["A0", "A1", "A2", "A3"]


def test_an_idle_session_is_released_so_the_next_session_gets_the_slot() -> None:
    entity = FakeEntity()
    entity.add(FakeMessage("A0", "A"))
    factory_box: dict[str, FakeFactory] = {}

    async def process(receiver: ReceiverPort, message: Any) -> None:
        if message.body == "A0":  # B arrives while A is held; only releasing idle A lets B in
            entity.add(FakeMessage("B0", "B"))

    async def scenario() -> None:
        factory = FakeFactory(entity)
        factory_box["f"] = factory
        listener = ServiceBusListener("f", factory, options(sessions=True, max_concurrent_sessions=1), process,
                                      SettlementRegistry())
        await run_until(listener, lambda: len(entity.outcomes) == 2)

    asyncio.run(scenario())
    assert entity.outcomes == [("complete", "A0"), ("complete", "B0")]
    assert factory_box["f"].accepted == ["A", "B"]
    assert entity.locked_sessions == set()


def test_release_session_action_ends_the_session_after_the_invocation() -> None:
    entity = FakeEntity()
    entity.add(FakeMessage("A0", "A"), FakeMessage("A1", "A"))
    registry = SettlementRegistry()
    accepted: list[str] = []

    async def process(receiver: ReceiverPort, message: Any) -> None:
        accepted.append(f"{message.body}@{id(receiver)}")
        if message.body == "A0":
            registry.session("A").release_requested = True  # what MessageActions.release_session does

    asyncio.run(run_until(listener_for(entity, process, registry, sessions=True, session_idle_timeout=5.0),
                          lambda: len(entity.outcomes) == 2))
    receivers = {entry.split("@")[1] for entry in accepted}
    assert len(receivers) == 2  # A1 came through a new session receiver: the first one was released


def test_session_state_is_set_through_message_actions() -> None:
    entity = FakeEntity()
    entity.add(FakeMessage("A0", "A"))
    registry = SettlementRegistry()

    async def scenario() -> None:
        actions = MessageActions(registry, asyncio.get_running_loop())

        async def process(receiver: ReceiverPort, message: Any) -> None:
            await asyncio.to_thread(actions.set_session_state, "A", b"state-1")

        await run_until(listener_for(entity, process, registry, sessions=True), lambda: len(entity.outcomes) == 1)

    asyncio.run(scenario())
    assert entity.session_state == {"A": b"state-1"}


def test_stop_waits_for_in_flight_invocations_and_settles_them() -> None:
    entity = FakeEntity()
    entity.add(FakeMessage("slow"))
    started, finish = asyncio.Event(), asyncio.Event()

    async def process(receiver: ReceiverPort, message: Any) -> None:
        started.set()
        await finish.wait()

    async def scenario() -> None:
        listener = listener_for(entity, process)
        task = asyncio.create_task(listener.run())
        await started.wait()
        listener.stop()
        await asyncio.sleep(0.05)
        assert not task.done()  # still waiting for the invocation
        finish.set()
        await asyncio.wait_for(task, 5)

    asyncio.run(scenario())
    assert entity.outcomes == [("complete", "slow")]


def test_message_actions_refuse_unknown_messages_and_the_host_loop() -> None:
    from devstack.functions_host.servicebus.message_actions import SettlementError

    registry = SettlementRegistry()

    async def scenario() -> None:
        actions = MessageActions(registry, asyncio.get_running_loop())
        unknown = FakeMessage("x")
        try:
            await asyncio.to_thread(actions.complete, unknown)
        except SettlementError as exc:
            assert "not locked by this host" in str(exc)
        else:
            raise AssertionError("completing an unknown message must fail")
        try:
            actions.release_session("nope")
        except SettlementError as exc:
            assert "not held by this host" in str(exc)
        else:
            raise AssertionError("releasing an unknown session must fail")

    asyncio.run(scenario())


def test_max_concurrent_sessions_are_served_in_parallel_and_never_more() -> None:
    entity = FakeEntity()
    entity.add(*(FakeMessage(f"{s}0", s) for s in "ABC"))
    running, peak = 0, 0

    async def process(receiver: ReceiverPort, message: Any) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.05)
        running -= 1

    asyncio.run(run_until(listener_for(entity, process, sessions=True, max_concurrent_sessions=2),
                          lambda: len(entity.outcomes) == 3))
    assert peak == 2


class RecordingFactory(FakeFactory):
    """Counts accepts and records how long each may wait, and how many are pending at once."""

    def __init__(self, entity: FakeEntity) -> None:
        super().__init__(entity)
        self.waits: list[float] = []
        self.pending, self.peak_pending = 0, 0

    async def accept_session(self, max_wait: float) -> Any:
        self.waits.append(max_wait)
        self.pending += 1
        self.peak_pending = max(self.peak_pending, self.pending)
        try:
            return await super().accept_session(max_wait)
        finally:
            self.pending -= 1


def test_free_slots_wait_for_the_next_session_with_long_accepts_not_by_polling() -> None:
    # The session processor accepts with its TryTimeout and the broker answers as soon as a session is
    # available; accepting with sessionIdleTimeout re-attached a link every 50 ms here while idle.
    entity = FakeEntity()
    factory = RecordingFactory(entity)
    seen: list[str] = []

    async def process(receiver: ReceiverPort, message: Any) -> None:
        seen.append(message.body)

    async def scenario() -> None:
        listener = ServiceBusListener("f", factory, options(sessions=True, max_concurrent_sessions=4,
                                                            try_timeout=30.0), process, SettlementRegistry())
        task = asyncio.create_task(listener.run())
        deadline = asyncio.get_running_loop().time() + 5
        while len(factory.waits) < 4:  # one accept pending per free slot; nothing is available yet
            assert asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.005)
        await asyncio.sleep(0.3)  # six idle timeouts (0.05 s): no re-accept meanwhile
        entity.add(FakeMessage("late", "L"))
        while not seen:
            assert asyncio.get_running_loop().time() < deadline, "the pending accept never got the session"
            await asyncio.sleep(0.005)
        listener.stop()
        await asyncio.wait_for(task, 5)

    asyncio.run(scenario())
    assert seen == ["late"]
    assert set(factory.waits) == {30.0}  # the try-timeout, not sessionIdleTimeout (0.05)
    assert len(factory.waits) <= 5  # four pending, no re-accept while idle (one more once L's slot is freed)
    assert factory.peak_pending == 4


def test_sessions_fill_every_free_slot_and_never_more() -> None:
    entity = FakeEntity()
    entity.add(*(FakeMessage(f"{s}0", s) for s in "ABCDEF"))
    factory = RecordingFactory(entity)
    running, peak = 0, 0

    async def process(receiver: ReceiverPort, message: Any) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.1)
        running -= 1

    listener = ServiceBusListener("f", factory, options(sessions=True, max_concurrent_sessions=3), process,
                                  SettlementRegistry())
    asyncio.run(run_until(listener, lambda: len(entity.outcomes) == 6))
    assert peak == 3  # three sessions held at once, never more
    assert factory.peak_pending <= 3
    assert sorted(factory.accepted) == list("ABCDEF")


def test_after_a_quiet_try_timeout_only_a_few_slots_keep_accepting_and_load_wakes_the_others() -> None:
    # Each pending accept polls its connection in the SDK: an idle host keeps IDLE_ACCEPTS of them, not one per
    # slot. Sessions arriving wake resting slots, so a burst is served by many slots again.
    entity = FakeEntity()
    factory = RecordingFactory(entity)
    held: set[str] = set()
    release = asyncio.Event()

    async def process(receiver: ReceiverPort, message: Any) -> None:
        held.add(message.body)
        await release.wait()  # every session stays held until the test lets go

    async def scenario() -> None:
        listener = ServiceBusListener("f", factory, options(sessions=True, max_concurrent_sessions=8,
                                                            try_timeout=0.6, session_idle_timeout=0.05),
                                      process, SettlementRegistry())
        task = asyncio.create_task(listener.run())
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 5
        while factory.peak_pending < 8:
            assert loop.time() < deadline
            await asyncio.sleep(0.005)
        await asyncio.sleep(1.5)  # two try-timeouts with nothing to accept
        assert factory.pending == IDLE_ACCEPTS, "the other slots rest"
        entity.add(*(FakeMessage(f"m{i}", f"S{i}") for i in range(6)))
        while len(held) < 6:  # six sessions held at once: resting slots were woken to accept them
            assert loop.time() < deadline, f"only {sorted(held)} were accepted"
            await asyncio.sleep(0.005)
        release.set()
        listener.stop()
        await asyncio.wait_for(task, 5)

    asyncio.run(scenario())
