"""Hand-written in-memory fakes of the Cosmos core's ports: a Store and a Clock."""
from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager

from devstack.cosmos.core.records import ContainerRecord, DatabaseRecord, Scope, StoredItem


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.current = now

    def now(self) -> float:
        """The current fake time."""
        return self.current

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.current += seconds


class InMemoryStore:
    """The Store port in dictionaries; transactions snapshot and restore everything on error."""

    def __init__(self) -> None:
        self.databases: dict[str, DatabaseRecord] = {}
        self.containers: dict[tuple[str, str], ContainerRecord] = {}
        self.lsns: dict[str, int] = {}
        self.items: dict[tuple[str, str, str], StoredItem] = {}
        self._depth = 0

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Roll every change back if the block raises."""
        snapshot = copy.deepcopy((self.databases, self.containers, self.lsns, self.items)) if not self._depth else None
        self._depth += 1
        try:
            yield
        except BaseException:
            if snapshot is not None:
                self.databases, self.containers, self.lsns, self.items = snapshot
            raise
        finally:
            self._depth -= 1

    def insert_database(self, record: DatabaseRecord) -> None:
        self.databases[record.id] = record

    def get_database(self, database_id: str) -> DatabaseRecord | None:
        return self.databases.get(database_id)

    def get_database_by_rid(self, rid: str) -> DatabaseRecord | None:
        return next((d for d in self.databases.values() if d.rid == rid), None)

    def list_databases(self) -> list[DatabaseRecord]:
        return list(self.databases.values())

    def delete_database(self, database_id: str) -> None:
        for key in [k for k in self.containers if k[0] == database_id]:
            self.delete_container(*key)
        self.databases.pop(database_id, None)

    def insert_container(self, record: ContainerRecord) -> None:
        self.containers[(record.database_id, record.id)] = record
        self.lsns[record.rid] = 0

    def update_container(self, record: ContainerRecord) -> None:
        self.containers[(record.database_id, record.id)] = record

    def get_container(self, database_id: str, container_id: str) -> ContainerRecord | None:
        return self.containers.get((database_id, container_id))

    def get_container_by_rid(self, rid: str) -> ContainerRecord | None:
        return next((c for c in self.containers.values() if c.rid == rid), None)

    def list_containers(self, database_id: str) -> list[ContainerRecord]:
        return [c for (db, _), c in self.containers.items() if db == database_id]

    def delete_container(self, database_id: str, container_id: str) -> None:
        record = self.containers.pop((database_id, container_id), None)
        if record:
            self.items = {k: v for k, v in self.items.items() if k[0] != record.rid}

    def next_lsn(self, container_rid: str) -> int:
        self.lsns[container_rid] += 1
        return self.lsns[container_rid]

    def last_lsn(self, container_rid: str) -> int:
        return self.lsns.get(container_rid, 0)

    def _live(self, item: StoredItem, now: float) -> bool:
        return item.expires_at is None or item.expires_at > now

    def get_item(self, container_rid: str, partition_key: str, item_id: str, now: float) -> StoredItem | None:
        item = self.items.get((container_rid, partition_key, item_id))
        return item if item and self._live(item, now) else None

    def get_item_by_rid(self, container_rid: str, item_rid: str, now: float) -> StoredItem | None:
        return next((i for i in self.items.values()
                     if i.container_rid == container_rid and i.rid == item_rid and self._live(i, now)), None)

    def put_item(self, item: StoredItem) -> None:
        self.items[(item.container_rid, item.partition_key, item.id)] = item

    def delete_item(self, container_rid: str, partition_key: str, item_id: str) -> None:
        self.items.pop((container_rid, partition_key, item_id), None)

    def delete_partition(self, container_rid: str, partition_key: str) -> int:
        doomed = [k for k in self.items if k[0] == container_rid and k[1] == partition_key]
        for key in doomed:
            del self.items[key]
        return len(doomed)

    def _in_scope(self, item: StoredItem, scope: Scope) -> bool:
        if scope.partition_key is not None and item.partition_key != scope.partition_key:
            return False
        return scope.epk_range is None or scope.epk_range[0] <= item.epk < scope.epk_range[1]

    def scan_items(self, container_rid: str, scope: Scope, now: float) -> Iterator[str]:
        found = [i for i in self.items.values()
                 if i.container_rid == container_rid and self._in_scope(i, scope) and self._live(i, now)]
        return iter([i.body for i in sorted(found, key=lambda i: (i.epk, i.partition_key, i.id))])

    def changes_after(self, container_rid: str, lsn: int, scope: Scope, now: float, limit: int) -> list[StoredItem]:
        found = [i for i in self.items.values() if i.container_rid == container_rid and i.lsn > lsn
                 and self._in_scope(i, scope) and self._live(i, now)]
        return sorted(found, key=lambda i: i.lsn)[:limit]

    def list_items(self, container_rid: str) -> list[StoredItem]:
        return [i for i in self.items.values() if i.container_rid == container_rid]

    def set_expiry(self, container_rid: str, partition_key: str, item_id: str, expires_at: float | None) -> None:
        key = (container_rid, partition_key, item_id)
        old = self.items[key]
        self.items[key] = StoredItem(old.container_rid, old.partition_key, old.id, old.body, old.etag, old.lsn,
                                     expires_at, old.rid, old.epk)

    def purge_expired(self, now: float) -> int:
        dead = [k for k, i in self.items.items() if not self._live(i, now)]
        for key in dead:
            del self.items[key]
        return len(dead)
