"""SQLite outbox, the core's ``DeliveryStore`` (core/ports.py): one row per (event, subscription), committed
before the publisher hears 200.

A row is ``pending`` until delivered (then removed) or dead-lettered (kept, listable). Nothing is
marked in flight on disk: a crash mid-attempt leaves the row pending, so it is delivered again after
a restart — Event Grid's at-least-once promise, never at-most-once.
"""
from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from devstack.eventgrid.core.records import Delivery, NewDelivery

SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    subscription TEXT NOT NULL,
    event_id TEXT NOT NULL,
    event_json TEXT NOT NULL,
    data_version TEXT NOT NULL DEFAULT '',
    enqueued_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    last_outcome TEXT,
    last_status INTEGER,
    last_attempt_at REAL,
    dead_letter_reason TEXT,
    dead_lettered_at REAL
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (status, next_attempt_at);
CREATE TABLE IF NOT EXISTS validated_endpoints (
    topic TEXT NOT NULL,
    subscription TEXT NOT NULL,
    endpoint_url TEXT NOT NULL,
    validated_at REAL NOT NULL,
    PRIMARY KEY (topic, subscription, endpoint_url)
);
"""


_COLUMNS = ("id, topic, subscription, event_id, event_json, data_version, enqueued_at, attempts, "
            "next_attempt_at, last_outcome, last_status, last_attempt_at, dead_letter_reason, dead_lettered_at")


def _among(pairs: set[tuple[str, str]]) -> tuple[str, list[str]]:
    """SQL matching any of the (topic, subscription) pairs, and its arguments."""
    where = " OR ".join("(topic = ? AND subscription = ?)" for _ in pairs)
    return where, [value for pair in sorted(pairs) for value in pair]


def _row(row: tuple[Any, ...]) -> Delivery:
    return Delivery(row[0], row[1], row[2], row[3], json.loads(row[4]), *row[5:])


class Outbox:
    """The durable delivery queue and dead-letter store (one SQLite file)."""

    def __init__(self, path: Path) -> None:
        # check_same_thread=False + a lock: the server and the CLI use it from one thread, but the
        # lock keeps it safe if a caller ever hands it to a worker thread.
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._lock = threading.Lock()
        # WAL survives kill -9 of the process without losing committed rows (sqlite.org/wal.html).
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    def enqueue(self, deliveries: Iterable[NewDelivery], now: float) -> int:
        """Store every delivery in one transaction; returns how many were stored."""
        # allow_nan=False: a row must hold JSON a subscriber can parse (publish already refuses NaN).
        rows = [(d.topic, d.subscription, d.event_id, json.dumps(d.event, allow_nan=False), d.data_version, now,
                 now) for d in deliveries]
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(
                    "INSERT INTO deliveries (topic, subscription, event_id, event_json, data_version,"
                    " enqueued_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return len(rows)

    def due(self, now: float, limit: int, exclude: set[int], active: set[tuple[str, str]]) -> list[Delivery]:
        """Due pending rows of ``active`` (topic, subscription) pairs, oldest first, minus ``exclude``."""
        if not active or limit <= 0:
            return []
        where, args = _among(active)
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM deliveries WHERE status = 'pending' AND next_attempt_at <= ?"
                f" AND ({where}) ORDER BY next_attempt_at, id LIMIT ?",
                (now, *args, limit + len(exclude))).fetchall()
        return [d for d in map(_row, rows) if d.id not in exclude][:limit]

    def next_due_at(self, active: set[tuple[str, str]]) -> float | None:
        """When the earliest pending row of an ``active`` pair becomes due, if any."""
        if not active:
            return None
        where, args = _among(active)
        with self._lock:
            (value,) = self._db.execute(
                f"SELECT MIN(next_attempt_at) FROM deliveries WHERE status = 'pending' AND ({where})",
                args).fetchone()
        return value

    def pending_subscriptions(self) -> set[tuple[str, str]]:
        """Every (topic, subscription) pair that still has pending rows."""
        with self._lock:
            rows = self._db.execute(
                "SELECT DISTINCT topic, subscription FROM deliveries WHERE status = 'pending'").fetchall()
        return {(r[0], r[1]) for r in rows}

    def expire_pending(self, topic: str, subscription: str, enqueued_before: float, reason: str,
                       now: float) -> int:
        """Dead-letter a pair's pending rows enqueued before a cutoff; returns how many."""
        with self._lock:
            cursor = self._db.execute(
                "UPDATE deliveries SET status = 'deadlettered', dead_letter_reason = ?, dead_lettered_at = ?"
                " WHERE status = 'pending' AND topic = ? AND subscription = ? AND enqueued_at < ?",
                (reason, now, topic, subscription, enqueued_before))
        return cursor.rowcount

    def delivered(self, delivery_id: int) -> None:
        """Forget a delivered row."""
        self._write("DELETE FROM deliveries WHERE id = ?", (delivery_id,))

    def failed_attempt(self, delivery_id: int, attempts: int, outcome: str, status: int | None,
                       now: float, retry_at: float) -> None:
        """Record a failed attempt and when to try again."""
        self._write("UPDATE deliveries SET attempts = ?, last_outcome = ?, last_status = ?,"
                    " last_attempt_at = ?, next_attempt_at = ? WHERE id = ?",
                    (attempts, outcome, status, now, retry_at, delivery_id))

    def dead_letter(self, delivery_id: int, attempts: int, reason: str, outcome: str | None,
                    status: int | None, now: float) -> None:
        """Move a row to the dead letters with Event Grid's reason."""
        self._write("UPDATE deliveries SET status = 'deadlettered', attempts = ?, dead_letter_reason = ?,"
                    " last_outcome = COALESCE(?, last_outcome), last_status = COALESCE(?, last_status),"
                    " last_attempt_at = CASE WHEN ? IS NULL THEN last_attempt_at ELSE ? END,"
                    " dead_lettered_at = ? WHERE id = ?",
                    (attempts, reason, outcome, status, outcome, now, now, delivery_id))

    def dead_letters(self, topic: str | None = None, subscription: str | None = None) -> list[Delivery]:
        """Dead-lettered rows, optionally for one topic / subscription (names case-insensitive)."""
        sql = f"SELECT {_COLUMNS} FROM deliveries WHERE status = 'deadlettered'"
        args: list[Any] = []
        if topic is not None:
            sql, args = sql + " AND lower(topic) = lower(?)", [*args, topic]
        if subscription is not None:
            sql, args = sql + " AND lower(subscription) = lower(?)", [*args, subscription]
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY dead_lettered_at, id", args).fetchall()
        return [_row(r) for r in rows]

    def pending_count(self) -> int:
        """How many rows still wait for delivery."""
        with self._lock:
            return int(self._db.execute(
                "SELECT COUNT(*) FROM deliveries WHERE status = 'pending'").fetchone()[0])

    def is_validated(self, topic: str, subscription: str, endpoint_url: str) -> bool:
        """Whether this endpoint already passed the validation handshake for the subscription."""
        with self._lock:
            row = self._db.execute(
                "SELECT 1 FROM validated_endpoints WHERE topic = ? AND subscription = ? AND endpoint_url = ?",
                (topic, subscription, endpoint_url)).fetchone()
        return row is not None

    def mark_validated(self, topic: str, subscription: str, endpoint_url: str, now: float) -> None:
        """Remember a successful handshake, so a restart does not repeat it."""
        self._write("INSERT OR REPLACE INTO validated_endpoints VALUES (?, ?, ?, ?)",
                    (topic, subscription, endpoint_url, now))

    def _write(self, sql: str, args: tuple[Any, ...]) -> None:
        with self._lock:
            self._db.execute(sql, args)
