"""The SQLite outbox: due rows, retries, dead letters, validation memory, survival across reopen."""
from __future__ import annotations

from pathlib import Path

from devstack.eventgrid.core.records import NewDelivery
from devstack.eventgrid.store.outbox import Outbox

ACTIVE = {("t", "s1"), ("t", "s2")}


def new(event_id: str, sub: str = "s1") -> NewDelivery:
    return NewDelivery("t", sub, event_id, {"id": event_id}, "1")


def test_rows_survive_reopening_and_become_due(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "db")
    assert outbox.enqueue([new("a"), new("b", "s2")], now=100.0) == 2
    outbox.close()
    reopened = Outbox(tmp_path / "db")
    due = reopened.due(100.0, 10, set(), ACTIVE)
    assert [(d.event_id, d.subscription, d.attempts, d.event) for d in due] == \
        [("a", "s1", 0, {"id": "a"}), ("b", "s2", 0, {"id": "b"})]
    assert reopened.due(99.0, 10, set(), ACTIVE) == []


def test_due_skips_inactive_subscriptions_and_in_flight_rows(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "db")
    outbox.enqueue([new("a"), new("b", "s2")], now=0.0)
    assert [d.event_id for d in outbox.due(1.0, 10, set(), {("t", "s2")})] == ["b"]
    first = outbox.due(1.0, 10, set(), ACTIVE)[0]
    assert [d.event_id for d in outbox.due(1.0, 10, {first.id}, ACTIVE)] == ["b"]
    assert outbox.next_due_at({("t", "s1")}) == 0.0 and outbox.next_due_at(set()) is None


def test_failed_attempt_reschedules_and_delivered_forgets(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "db")
    outbox.enqueue([new("a")], now=0.0)
    [row] = outbox.due(0.0, 10, set(), ACTIVE)
    outbox.failed_attempt(row.id, 1, "InternalServerError", 500, now=1.0, retry_at=11.0)
    assert outbox.due(10.0, 10, set(), ACTIVE) == []
    [again] = outbox.due(11.0, 10, set(), ACTIVE)
    assert (again.attempts, again.last_status) == (1, 500)
    outbox.delivered(again.id)
    assert outbox.pending_count() == 0


def test_dead_letters_are_listed_per_subscription(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "db")
    outbox.enqueue([new("a"), new("b", "s2")], now=0.0)
    a, _b = outbox.due(0.0, 10, set(), ACTIVE)
    outbox.dead_letter(a.id, 3, "MaxDeliveryAttemptsExceeded", "InternalServerError", 500, now=5.0)
    assert outbox.expire_pending("t", "s2", 1.0, "TimeToLiveExceeded", now=6.0) == 1
    [letter] = outbox.dead_letters("T", "S1")
    assert (letter.event_id, letter.dead_letter_reason, letter.attempts, letter.last_attempt_at) == \
        ("a", "MaxDeliveryAttemptsExceeded", 3, 5.0)
    assert [d.dead_letter_reason for d in outbox.dead_letters()] == ["MaxDeliveryAttemptsExceeded",
                                                                    "TimeToLiveExceeded"]
    assert outbox.pending_count() == 0 and outbox.pending_subscriptions() == set()


def test_validation_is_remembered_per_endpoint(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "db")
    outbox.mark_validated("t", "s1", "http://a", now=1.0)
    assert outbox.is_validated("t", "s1", "http://a")
    assert not outbox.is_validated("t", "s1", "http://b")
