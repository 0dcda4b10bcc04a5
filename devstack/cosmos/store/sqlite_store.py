"""SQLite-backed Store: WAL journal, one connection, every write committed before the caller replies.

The server runs one event loop, so one connection serialises every request; durability comes from
committing each request's writes before its response is sent (``synchronous=FULL`` by default).
"""
from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from devstack.cosmos.core.records import ContainerRecord, DatabaseRecord, Scope, StoredItem

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS databases (
    id TEXT PRIMARY KEY, rid TEXT NOT NULL UNIQUE, ts INTEGER NOT NULL, etag TEXT NOT NULL,
    seq INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS containers (
    database_id TEXT NOT NULL, id TEXT NOT NULL, rid TEXT NOT NULL UNIQUE, ts INTEGER NOT NULL,
    etag TEXT NOT NULL, properties TEXT NOT NULL, lsn INTEGER NOT NULL DEFAULT 0, seq INTEGER NOT NULL,
    PRIMARY KEY (database_id, id)
);
CREATE TABLE IF NOT EXISTS items (
    container_rid TEXT NOT NULL, pk TEXT NOT NULL, id TEXT NOT NULL, body TEXT NOT NULL,
    etag TEXT NOT NULL, lsn INTEGER NOT NULL, expires_at REAL, rid TEXT NOT NULL, epk TEXT NOT NULL,
    PRIMARY KEY (container_rid, pk, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS items_by_rid ON items (container_rid, rid);
CREATE INDEX IF NOT EXISTS items_by_lsn ON items (container_rid, lsn);
CREATE INDEX IF NOT EXISTS items_by_expiry ON items (expires_at) WHERE expires_at IS NOT NULL;
"""

_ITEM_COLUMNS = "container_rid, pk, id, body, etag, lsn, expires_at, rid, epk"
_LIVE = "(expires_at IS NULL OR expires_at > ?)"


class SqliteStore:
    """The emulator's durable state in one SQLite file."""

    def __init__(self, path: Path | str, synchronous: str = "FULL") -> None:
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(f"PRAGMA synchronous={synchronous}")
        self._db.executescript(_SCHEMA)
        self._depth = 0

    def close(self) -> None:
        """Close the connection (everything is already committed)."""
        self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All writes in the block commit together; nested blocks join the outer one."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self._db.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        else:
            self._db.execute("COMMIT")
        finally:
            self._depth = 0

    # -- databases --------------------------------------------------------------------------------
    def insert_database(self, record: DatabaseRecord) -> None:
        """Add a database."""
        self._db.execute(
            "INSERT INTO databases (id, rid, ts, etag, seq) VALUES (?, ?, ?, ?, "
            "(SELECT COALESCE(MAX(seq), 0) + 1 FROM databases))",
            (record.id, record.rid, record.ts, record.etag))

    def get_database(self, database_id: str) -> DatabaseRecord | None:
        """A database by id."""
        row = self._db.execute("SELECT id, rid, ts, etag FROM databases WHERE id = ?", (database_id,)).fetchone()
        return DatabaseRecord(*row) if row else None

    def list_databases(self) -> list[DatabaseRecord]:
        """Every database, oldest first."""
        rows = self._db.execute("SELECT id, rid, ts, etag FROM databases ORDER BY seq").fetchall()
        return [DatabaseRecord(*row) for row in rows]

    def delete_database(self, database_id: str) -> None:
        """Remove a database, its containers and their items."""
        with self.transaction():
            for container in self.list_containers(database_id):
                self.delete_container(database_id, container.id)
            self._db.execute("DELETE FROM databases WHERE id = ?", (database_id,))

    # -- containers -------------------------------------------------------------------------------
    def insert_container(self, record: ContainerRecord) -> None:
        """Add a container."""
        self._db.execute(
            "INSERT INTO containers (database_id, id, rid, ts, etag, properties, seq) VALUES "
            "(?, ?, ?, ?, ?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM containers))",
            (record.database_id, record.id, record.rid, record.ts, record.etag, json.dumps(record.properties)))

    def update_container(self, record: ContainerRecord) -> None:
        """Replace a container's properties, ts and etag."""
        self._db.execute(
            "UPDATE containers SET ts = ?, etag = ?, properties = ? WHERE database_id = ? AND id = ?",
            (record.ts, record.etag, json.dumps(record.properties), record.database_id, record.id))

    def get_container(self, database_id: str, container_id: str) -> ContainerRecord | None:
        """A container by database id and container id."""
        row = self._db.execute(
            "SELECT c.database_id, d.rid, c.id, c.rid, c.ts, c.etag, c.properties FROM containers c "
            "JOIN databases d ON d.id = c.database_id WHERE c.database_id = ? AND c.id = ?",
            (database_id, container_id)).fetchone()
        return _container(row) if row else None

    def list_containers(self, database_id: str) -> list[ContainerRecord]:
        """A database's containers, oldest first."""
        rows = self._db.execute(
            "SELECT c.database_id, d.rid, c.id, c.rid, c.ts, c.etag, c.properties FROM containers c "
            "JOIN databases d ON d.id = c.database_id WHERE c.database_id = ? ORDER BY c.seq",
            (database_id,)).fetchall()
        return [_container(row) for row in rows]

    def delete_container(self, database_id: str, container_id: str) -> None:
        """Remove a container and its items."""
        with self.transaction():
            row = self._db.execute("SELECT rid FROM containers WHERE database_id = ? AND id = ?",
                                   (database_id, container_id)).fetchone()
            if row:
                self._db.execute("DELETE FROM items WHERE container_rid = ?", (row[0],))
                self._db.execute("DELETE FROM containers WHERE rid = ?", (row[0],))

    def next_lsn(self, container_rid: str) -> int:
        """Advance and return the container's logical sequence number."""
        row = self._db.execute("UPDATE containers SET lsn = lsn + 1 WHERE rid = ? RETURNING lsn",
                               (container_rid,)).fetchone()
        return int(row[0])

    def last_lsn(self, container_rid: str) -> int:
        """The container's current logical sequence number."""
        row = self._db.execute("SELECT lsn FROM containers WHERE rid = ?", (container_rid,)).fetchone()
        return int(row[0]) if row else 0

    # -- items ------------------------------------------------------------------------------------
    def get_item(self, container_rid: str, partition_key: str, item_id: str, now: float) -> StoredItem | None:
        """An unexpired item by partition and id."""
        row = self._db.execute(
            f"SELECT {_ITEM_COLUMNS} FROM items WHERE container_rid = ? AND pk = ? AND id = ? AND {_LIVE}",
            (container_rid, partition_key, item_id, now)).fetchone()
        return StoredItem(*row) if row else None

    def get_item_by_rid(self, container_rid: str, item_rid: str, now: float) -> StoredItem | None:
        """An unexpired item by its _rid (clients address items by ``_self`` links too)."""
        row = self._db.execute(
            f"SELECT {_ITEM_COLUMNS} FROM items WHERE container_rid = ? AND rid = ? AND {_LIVE}",
            (container_rid, item_rid, now)).fetchone()
        return StoredItem(*row) if row else None

    def get_database_by_rid(self, rid: str) -> DatabaseRecord | None:
        """A database by _rid."""
        row = self._db.execute("SELECT id, rid, ts, etag FROM databases WHERE rid = ?", (rid,)).fetchone()
        return DatabaseRecord(*row) if row else None

    def get_container_by_rid(self, rid: str) -> ContainerRecord | None:
        """A container by _rid."""
        row = self._db.execute(
            "SELECT c.database_id, d.rid, c.id, c.rid, c.ts, c.etag, c.properties FROM containers c "
            "JOIN databases d ON d.id = c.database_id WHERE c.rid = ?", (rid,)).fetchone()
        return _container(row) if row else None

    def put_item(self, item: StoredItem) -> None:
        """Insert or overwrite an item."""
        self._db.execute(
            f"INSERT OR REPLACE INTO items ({_ITEM_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (item.container_rid, item.partition_key, item.id, item.body, item.etag, item.lsn, item.expires_at,
             item.rid, item.epk))

    def delete_item(self, container_rid: str, partition_key: str, item_id: str) -> None:
        """Remove an item."""
        self._db.execute("DELETE FROM items WHERE container_rid = ? AND pk = ? AND id = ?",
                         (container_rid, partition_key, item_id))

    def delete_partition(self, container_rid: str, partition_key: str) -> int:
        """Remove every item of one logical partition."""
        cursor = self._db.execute("DELETE FROM items WHERE container_rid = ? AND pk = ?",
                                  (container_rid, partition_key))
        return cursor.rowcount

    def scan_items(self, container_rid: str, scope: Scope, now: float) -> Iterator[str]:
        """JSON text of every unexpired item in the scope (a partition, an EPK range, or everything)."""
        clause, params = _scope_clause(scope)
        cursor = self._db.execute(
            f"SELECT body FROM items WHERE container_rid = ? {clause} AND {_LIVE} ORDER BY epk, pk, id",
            [container_rid, *params, now])
        # fetchall: the caller may write while iterating (one connection), so never hold a live cursor.
        return iter([row[0] for row in cursor.fetchall()])

    def changes_after(self, container_rid: str, lsn: int, scope: Scope, now: float,
                      limit: int) -> list[StoredItem]:
        """Unexpired items in the scope last written after ``lsn``, in LSN order."""
        clause, params = _scope_clause(scope)
        rows = self._db.execute(
            f"SELECT {_ITEM_COLUMNS} FROM items WHERE container_rid = ? AND lsn > ? {clause} AND {_LIVE} "
            "ORDER BY lsn LIMIT ?", [container_rid, lsn, *params, now, limit]).fetchall()
        return [StoredItem(*row) for row in rows]

    def list_items(self, container_rid: str) -> list[StoredItem]:
        """Every stored item of a container, expired or not."""
        rows = self._db.execute(f"SELECT {_ITEM_COLUMNS} FROM items WHERE container_rid = ?",
                                (container_rid,)).fetchall()
        return [StoredItem(*row) for row in rows]

    def set_expiry(self, container_rid: str, partition_key: str, item_id: str, expires_at: float | None) -> None:
        """Change when an item expires."""
        self._db.execute("UPDATE items SET expires_at = ? WHERE container_rid = ? AND pk = ? AND id = ?",
                         (expires_at, container_rid, partition_key, item_id))

    def purge_expired(self, now: float) -> int:
        """Delete items that expired before ``now``."""
        cursor = self._db.execute("DELETE FROM items WHERE expires_at IS NOT NULL AND expires_at <= ?", (now,))
        return cursor.rowcount


def _scope_clause(scope: Scope) -> tuple[str, list[str]]:
    clause, params = "", []
    if scope.partition_key is not None:
        clause, params = "AND pk = ?", [scope.partition_key]
    if scope.epk_range is not None:
        clause += " AND epk >= ? AND epk < ?"
        params += [scope.epk_range[0], scope.epk_range[1]]
    return clause, params


def _container(row: tuple) -> ContainerRecord:
    database_id, database_rid, container_id, rid, ts, etag, properties = row
    return ContainerRecord(database_id, database_rid, container_id, rid, ts, etag, json.loads(properties))
