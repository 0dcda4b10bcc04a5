"""The ports the core needs: a clock (the wall clock in production) and storage (devstack/cosmos/store/ on SQLite)."""
from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Protocol

from devstack.cosmos.core.records import ContainerRecord, DatabaseRecord, Scope, StoredItem


class Clock(Protocol):
    """Anything that tells the current time in seconds since the epoch (tests drive TTL and timestamps with it)."""

    def now(self) -> float:
        """Seconds since the Unix epoch."""


class SystemClock:
    """The wall clock."""

    def now(self) -> float:
        """Seconds since the Unix epoch."""
        return time.time()


class Store(Protocol):
    """Durable storage of databases, containers and items; every write is committed when a call returns."""

    def transaction(self) -> AbstractContextManager[None]:
        """Group writes: all of them are committed at the end of the block, or none if it raises."""

    def insert_database(self, record: DatabaseRecord) -> None:
        """Add a database (its id is known to be free)."""

    def get_database(self, database_id: str) -> DatabaseRecord | None:
        """A database by id."""

    def list_databases(self) -> list[DatabaseRecord]:
        """Every database, oldest first."""

    def delete_database(self, database_id: str) -> None:
        """Remove a database with its containers and items."""

    def insert_container(self, record: ContainerRecord) -> None:
        """Add a container (its id is known to be free in its database)."""

    def update_container(self, record: ContainerRecord) -> None:
        """Replace a container's properties, ts and etag."""

    def get_container(self, database_id: str, container_id: str) -> ContainerRecord | None:
        """A container by database id and container id."""

    def list_containers(self, database_id: str) -> list[ContainerRecord]:
        """A database's containers, oldest first."""

    def delete_container(self, database_id: str, container_id: str) -> None:
        """Remove a container with its items."""

    def next_lsn(self, container_rid: str) -> int:
        """Advance and return the container's logical sequence number (orders its change feed)."""

    def last_lsn(self, container_rid: str) -> int:
        """The container's current logical sequence number."""

    def get_item(self, container_rid: str, partition_key: str, item_id: str, now: float) -> StoredItem | None:
        """An unexpired item by partition and id."""

    def get_item_by_rid(self, container_rid: str, item_rid: str, now: float) -> StoredItem | None:
        """An unexpired item by its _rid."""

    def get_database_by_rid(self, rid: str) -> DatabaseRecord | None:
        """A database by _rid."""

    def get_container_by_rid(self, rid: str) -> ContainerRecord | None:
        """A container by _rid."""

    def put_item(self, item: StoredItem) -> None:
        """Insert or overwrite an item."""

    def delete_item(self, container_rid: str, partition_key: str, item_id: str) -> None:
        """Remove an item."""

    def delete_partition(self, container_rid: str, partition_key: str) -> int:
        """Remove every item of one logical partition; returns how many."""

    def scan_items(self, container_rid: str, scope: Scope, now: float) -> Iterator[str]:
        """JSON text of every unexpired item in the scope."""

    def changes_after(self, container_rid: str, lsn: int, scope: Scope, now: float,
                      limit: int) -> list[StoredItem]:
        """Unexpired items in the scope whose last write has an LSN above ``lsn``, in LSN order."""

    def list_items(self, container_rid: str) -> list[StoredItem]:
        """Every stored item of a container, expired or not (to recompute expiries)."""

    def set_expiry(self, container_rid: str, partition_key: str, item_id: str, expires_at: float | None) -> None:
        """Change when an item expires (after the container's defaultTtl changed)."""

    def purge_expired(self, now: float) -> int:
        """Delete items that expired before ``now``; returns how many."""
