"""Retries, dead letters and late-starting subscribers, driven through the real SDK (time-scaled)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.contract.eventgrid.publishing import SCALE, one_topic, publish, wait_for_dead_letters, wait_until_drained
from tests.support.eventgrid import run_eventgrid
from tests.support.processes import REPO_ROOT
from tests.support.webhook import Webhook, running


def test_failing_subscriber_gets_the_event_on_a_later_attempt(tmp_path: Path) -> None:
    with running(Webhook(statuses=[500, 503, 429])) as hook, \
            run_eventgrid(tmp_path, one_topic(hook.url), extra_args=SCALE) as grid:
        publish(grid, "e1")
        notes = hook.wait_for_notifications(4)
        assert [n.headers["aeg-delivery-count"] for n in notes] == ["0", "1", "2", "3"]
        assert {n.body[0]["id"] for n in notes} == {"e1"}
        assert grid.dead_letters("delivery-events", "notifications") == []


def test_subscriber_that_keeps_failing_is_dead_lettered_after_max_attempts(tmp_path: Path) -> None:
    with running(Webhook(statuses=[500] * 10)) as hook, \
            run_eventgrid(tmp_path, one_topic(hook.url, {"maxDeliveryAttempts": 3}), extra_args=SCALE) as grid:
        publish(grid, "e1")
        [letter] = wait_for_dead_letters(grid, 1)
        assert len(hook.notifications()) == 3
        assert letter["id"] == "e1" and letter["deadLetterReason"] == "MaxDeliveryAttemptsExceeded"
        assert letter["deliveryAttempts"] == 3 and letter["lastHttpStatusCode"] == 500
        assert letter["lastDeliveryOutcome"] == "InternalServerError"


def test_bad_request_answer_is_dead_lettered_at_once(tmp_path: Path) -> None:
    with running(Webhook(statuses=[400])) as hook, \
            run_eventgrid(tmp_path, one_topic(hook.url), extra_args=SCALE) as grid:
        publish(grid, "e1")
        [letter] = wait_for_dead_letters(grid, 1)
        assert letter["deliveryAttempts"] == 1 and letter["lastHttpStatusCode"] == 400
        assert len(hook.notifications()) == 1
        listed = subprocess.run([sys.executable, "-m", "devstack", "eventgrid", "deadletters",
                                 "--data-dir", str(tmp_path)], cwd=REPO_ROOT, capture_output=True,
                                text=True, timeout=60)
        assert listed.returncode == 0, listed.stderr
        assert [d["id"] for d in json.loads(listed.stdout)] == ["e1"]


def test_dead_endpoint_events_expire_into_dead_letters(tmp_path: Path) -> None:
    dead = Webhook()  # never started: nothing listens on its port, so the handshake never succeeds
    policy = {"eventTimeToLiveInMinutes": 1}  # 60 s x 0.01 = 0.6 s
    with run_eventgrid(tmp_path, one_topic(dead.url, policy), extra_args=SCALE) as grid:
        publish(grid, "e1", "e2")
        letters = wait_for_dead_letters(grid, 2)
    assert {d["id"] for d in letters} == {"e1", "e2"}
    assert {d["deadLetterReason"] for d in letters} == {"TimeToLiveExceeded"}
    assert {d["deliveryAttempts"] for d in letters} == {0}


def test_events_wait_for_a_subscriber_that_starts_later(tmp_path: Path) -> None:
    late = Webhook()
    with run_eventgrid(tmp_path, one_topic(late.url), extra_args=SCALE) as grid:
        publish(grid, "early")
        with running(late):
            [note] = late.wait_for_notifications(1)
            assert note.body[0]["id"] == "early"
            assert late.requests[0].headers["aeg-event-type"] == "SubscriptionValidation"


def test_handshake_survives_undecodable_answers_and_validates_later(tmp_path: Path) -> None:
    # Each answer once killed the handshake loop for good (UnicodeDecodeError, RecursionError):
    # the subscription then never validated and its events were neither delivered nor expired.
    answers = [b'\xff\xfe{"validationResponse"', b"[" * 100_000, b'{"validationResponse": NaN}']
    with running(Webhook(bad_validation_answers=list(answers))) as hook, \
            run_eventgrid(tmp_path, one_topic(hook.url), extra_args=SCALE) as grid:
        publish(grid, "e1")
        [note] = hook.wait_for_notifications(1)
        assert note.body[0]["id"] == "e1"
        assert len(hook.handshakes()) == len(answers) + 1
    assert "Traceback" not in (tmp_path / "eventgrid.log").read_text(errors="replace")


def test_endpoint_that_refuses_validation_gets_nothing(tmp_path: Path) -> None:
    with running(Webhook(validate=False)) as hook, \
            run_eventgrid(tmp_path, one_topic(hook.url, {"eventTimeToLiveInMinutes": 1}), extra_args=SCALE) as grid:
        publish(grid, "e1")
        [letter] = wait_for_dead_letters(grid, 1)
        assert letter["deadLetterReason"] == "TimeToLiveExceeded"
        assert len(hook.handshakes()) >= 2  # the handshake is retried with back-off
        assert hook.notifications() == []


def test_subscriber_that_goes_away_is_retried_then_dead_lettered(tmp_path: Path) -> None:
    hook = Webhook()
    with run_eventgrid(tmp_path, one_topic(hook.url, {"maxDeliveryAttempts": 2}), extra_args=SCALE) as grid:
        with running(hook):
            publish(grid, "before")
            hook.wait_for_notifications(1)
        publish(grid, "after")  # the receiver is gone: connection refused on every attempt
        [letter] = wait_for_dead_letters(grid, 1)
    assert letter["id"] == "after" and letter["deliveryAttempts"] == 2
    assert letter["lastDeliveryOutcome"].startswith("ConnectionFailed")
    assert letter["lastHttpStatusCode"] is None


def test_subscriber_that_does_not_answer_in_time_is_retried(tmp_path: Path) -> None:
    with running(Webhook(hang_first=1, hang_seconds=1.0)) as hook, \
            run_eventgrid(tmp_path, one_topic(hook.url), extra_args=[*SCALE, "--delivery-timeout", "0.3"]) as grid:
        publish(grid, "slow")
        notes = hook.wait_for_notifications(2)
        assert [n.headers["aeg-delivery-count"] for n in notes[:2]] == ["0", "1"]
        wait_until_drained(grid)
        assert grid.dead_letters("delivery-events", "notifications") == []
