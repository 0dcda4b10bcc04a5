"""SQLite storage for the broker: WAL journal, one explicit commit per broker operation.

Durability rule: the broker settles a sender's transfer as accepted only after ``transaction()`` has
committed, so a message the client saw accepted survives ``kill -9``. WAL with synchronous=NORMAL
keeps every commit on disk across a process crash (only an OS crash could lose the last commits;
sqlite.org/wal.html, "synchronous=NORMAL ... durable across application crashes").
"""
from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from devstack.servicebus.core.message import DeadLetterInfo, MessageState, StoredMessage
from devstack.servicebus.core.ports import Snapshot

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    entity TEXT NOT NULL, seq INTEGER NOT NULL, payload BLOB NOT NULL, message_id TEXT, session_id TEXT,
    enqueued_at REAL NOT NULL, expires_at REAL, scheduled_at REAL, state INTEGER NOT NULL,
    delivery_count INTEGER NOT NULL, dl_reason TEXT, dl_description TEXT, dl_source TEXT,
    dead_lettered INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (entity, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sequences (entity TEXT PRIMARY KEY, last_seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS session_states (
    entity TEXT NOT NULL, session_id TEXT NOT NULL, state BLOB NOT NULL, PRIMARY KEY (entity, session_id));
CREATE TABLE IF NOT EXISTS duplicates (
    entity TEXT NOT NULL, message_id TEXT NOT NULL, expires_at REAL NOT NULL, PRIMARY KEY (entity, message_id));
"""

SEQUENCE_BLOCK = 1000
_COLUMNS = ("entity, seq, payload, message_id, session_id, enqueued_at, expires_at, scheduled_at, state, "
            "delivery_count, dl_reason, dl_description, dl_source, dead_lettered")


class SqliteStore:
    """The broker's MessageStore on one SQLite file."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: we issue BEGIN/COMMIT ourselves so commits happen exactly where we say.
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        # Exclusive locking: only the broker opens this file, and WAL then needs no shared-memory
        # file or per-transaction lock syscalls (sqlite.org/wal.html, "exclusive locking mode").
        self._db.execute("PRAGMA locking_mode=EXCLUSIVE")
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._depth = 0
        self._writes: list[tuple[str, tuple[object, ...]]] = []
        self._reserved: dict[str, int] = dict(self._db.execute("SELECT entity, last_seq FROM sequences"))

    def close(self) -> None:
        """Close the database (a clean shutdown checkpoints the WAL)."""
        self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group writes; the outermost block commits them together (or drops them on error)."""
        self._depth += 1
        try:
            yield
        except BaseException:
            self._depth -= 1
            if self._depth == 0:
                self._writes.clear()
            raise
        self._depth -= 1
        if self._depth == 0:
            self._commit()

    def _write(self, sql: str, params: tuple[object, ...]) -> None:
        self._writes.append((sql, params))
        if self._depth == 0:
            self._commit()

    def _commit(self) -> None:
        # Writes are buffered until the operation ends, then applied in one transaction; a single
        # statement runs in SQLite's implicit transaction, which saves BEGIN/COMMIT round trips.
        writes, self._writes = self._writes, []
        if len(writes) == 1:
            self._db.execute(*writes[0])
        elif writes:
            self._db.execute("BEGIN")
            try:
                for sql, params in writes:
                    self._db.execute(sql, params)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def load(self) -> Snapshot:
        """Everything stored, for the broker to rebuild its state at start-up."""
        snapshot = Snapshot()
        for row in self._db.execute(f"SELECT {_COLUMNS} FROM messages ORDER BY entity, seq"):
            snapshot.messages.append(_message(row))
        snapshot.sequences = dict(self._db.execute("SELECT entity, last_seq FROM sequences"))
        for entity, session_id, state in self._db.execute("SELECT entity, session_id, state FROM session_states"):
            snapshot.session_states[(entity, session_id)] = bytes(state)
        for entity, message_id, expires_at in self._db.execute("SELECT * FROM duplicates"):
            snapshot.duplicates[(entity, message_id)] = expires_at
        return snapshot

    def insert(self, message: StoredMessage) -> None:
        """Store a new message (and reserve sequence numbers past it)."""
        self._write(f"INSERT OR REPLACE INTO messages ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    _row(message))
        if message.seq > self._reserved.get(message.entity, 0):
            # Reserve sequence numbers in blocks (hi/lo): one extra write per block, not per message.
            # After a restart numbering resumes above the block, so numbers never repeat.
            reserved = self._reserved[message.entity] = message.seq + SEQUENCE_BLOCK
            self._write("INSERT INTO sequences VALUES (?, ?) ON CONFLICT(entity) DO UPDATE SET "
                        "last_seq = max(last_seq, excluded.last_seq)", (message.entity, reserved))

    def update(self, message: StoredMessage) -> None:
        """Persist the mutable fields of a stored message."""
        self._write(
            "UPDATE messages SET state=?, delivery_count=?, enqueued_at=?, expires_at=?, scheduled_at=? "
            "WHERE entity=? AND seq=?",
            (int(message.state), message.delivery_count, message.enqueued_at, message.expires_at,
             message.scheduled_at, message.entity, message.seq))

    def delete(self, entity: str, seqs: Iterable[int]) -> None:
        """Remove messages."""
        for seq in seqs:
            self._write("DELETE FROM messages WHERE entity=? AND seq=?", (entity, seq))

    def set_session_state(self, entity: str, session_id: str, state: bytes | None) -> None:
        """Store or clear a session's state."""
        if state is None:
            self._write("DELETE FROM session_states WHERE entity=? AND session_id=?", (entity, session_id))
        else:
            self._write("INSERT OR REPLACE INTO session_states VALUES (?,?,?)", (entity, session_id, state))

    def add_duplicate(self, entity: str, message_id: str, expires_at: float) -> None:
        """Remember a MessageId until its duplicate-detection window ends."""
        self._write("INSERT OR REPLACE INTO duplicates VALUES (?,?,?)", (entity, message_id, expires_at))

    def prune_duplicates(self, now: float) -> None:
        """Forget MessageIds whose window has passed."""
        self._write("DELETE FROM duplicates WHERE expires_at <= ?", (now,))


def _row(m: StoredMessage) -> tuple[object, ...]:
    dl = m.dead_letter
    return (m.entity, m.seq, m.payload, m.message_id, m.session_id, m.enqueued_at, m.expires_at, m.scheduled_at,
            int(m.state), m.delivery_count, dl.reason if dl else None, dl.description if dl else None,
            dl.source if dl else None, 1 if dl else 0)


def _message(row: tuple[Any, ...]) -> StoredMessage:
    (entity, seq, payload, message_id, session_id, enqueued_at, expires_at, scheduled_at, state,
     delivery_count, dl_reason, dl_description, dl_source, dead_lettered) = row
    return StoredMessage(
        entity=entity, seq=seq, payload=bytes(payload), message_id=message_id, session_id=session_id,
        enqueued_at=enqueued_at, expires_at=expires_at, scheduled_at=scheduled_at, state=MessageState(state),
        delivery_count=delivery_count,
        dead_letter=DeadLetterInfo(dl_reason, dl_description, dl_source) if dead_lettered else None)
