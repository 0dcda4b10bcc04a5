"""Durability: a kill -9 of the emulator mid-retry, or right after a publish, loses no event."""
from __future__ import annotations

from pathlib import Path

from tests.contract.eventgrid.publishing import SCALE, one_topic, publish, wait_until_drained
from tests.support.eventgrid import run_eventgrid
from tests.support.webhook import Webhook, running


def test_kill_mid_retry_then_restart_delivers_with_the_attempt_count_kept(tmp_path: Path) -> None:
    with running(Webhook(statuses=[500] * 1000)) as hook, \
            run_eventgrid(tmp_path, one_topic(hook.url), extra_args=SCALE) as grid:
        publish(grid, "e1", "e2")
        hook.wait_for(lambda: {n.body[0]["id"] for n in hook.notifications()[2:]} == {"e1", "e2"},
                      what="a retry of both events")
        grid.process.kill()  # SIGKILL (waits for the exit): nothing flushed, nothing cleaned up
        # Counted while the emulator is dead: the restarted one may deliver both events before
        # restart() even returns, so counting after it raced (CI flake, 2 runs in 5).
        seen = len(hook.notifications())
        hook.statuses.clear()  # the subscriber recovers while the emulator is down
        grid.restart()  # same port, same data folder

        def accepted_after_restart() -> set[str]:
            return {n.body[0]["id"] for n in hook.notifications()[seen:] if n.status == 200}

        hook.wait_for(lambda: accepted_after_restart() >= {"e1", "e2"}, what="delivery after the restart")
        wait_until_drained(grid)
        after = hook.notifications()[seen:]
        # A second attempt was seen, so the first failed attempt was committed before the kill.
        assert all(int(n.headers["aeg-delivery-count"]) >= 1 for n in after)
        assert len(hook.handshakes()) == 1  # the validated endpoint is remembered across restarts
        assert grid.dead_letters("delivery-events", "notifications") == []


def test_kill_right_after_publish_loses_nothing(tmp_path: Path) -> None:
    hook = Webhook()  # not listening yet, so nothing can be delivered before the kill
    with run_eventgrid(tmp_path, one_topic(hook.url), extra_args=SCALE) as grid:
        publish(grid, *[f"e{i}" for i in range(50)])
        grid.restart(kill=True)
        with running(hook):
            hook.wait_for(lambda: {n.body[0]["id"] for n in hook.notifications()} == {f"e{i}" for i in range(50)},
                          what="all 50 events after the restart")
            wait_until_drained(grid)
