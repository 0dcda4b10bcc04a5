"""Lock renewal while a function runs: at half the remaining lock time, until done or the maximum duration."""
from __future__ import annotations

import asyncio

from devstack.functions_host.servicebus.receivers import LockKeeper


def test_renews_until_the_maximum_renewal_duration() -> None:
    renewals: list[float] = []

    async def scenario() -> None:
        async def renew() -> None:
            renewals.append(asyncio.get_running_loop().time())

        LockKeeper(lambda: 0.4, renew, max_duration=1.0)  # renew every 0.2 s for 1 s
        await asyncio.sleep(1.6)

    asyncio.run(scenario())
    assert 3 <= len(renewals) <= 5


def test_stops_when_the_message_is_settled_or_stopped() -> None:
    renewals: list[str] = []

    async def scenario() -> None:
        async def renew() -> None:
            renewals.append("renewed")

        LockKeeper(lambda: 0.4, renew, max_duration=60, done=lambda: True)
        stopped = LockKeeper(lambda: 0.4, renew, max_duration=60)
        stopped.stop()
        await asyncio.sleep(0.5)

    asyncio.run(scenario())
    assert renewals == []


def test_a_failed_renewal_ends_quietly() -> None:
    attempts: list[str] = []

    async def scenario() -> None:
        async def renew() -> None:
            attempts.append("tried")
            raise RuntimeError("lock lost")

        keeper = LockKeeper(lambda: 0.4, renew, max_duration=60)
        await asyncio.sleep(0.6)
        assert keeper._task.done() and keeper._task.exception() is None

    asyncio.run(scenario())
    assert attempts == ["tried"]
