"""The emulated account: one object the protocol layer talks to (composition of the core services)."""
from __future__ import annotations

import logging
from typing import Any

from devstack.cosmos.core.batch import BatchOutcome, execute_batch
from devstack.cosmos.core.catalog import Catalog
from devstack.cosmos.core.changefeed import ChangePage, read_changes
from devstack.cosmos.core.errors import NotFound
from devstack.cosmos.core.items import Items
from devstack.cosmos.core.ports import Clock, Store
from devstack.cosmos.core.queries import Queries
from devstack.cosmos.core.records import ContainerRecord, Scope

log = logging.getLogger(__name__)


class Account:
    """Databases, containers and items of one emulated account."""

    def __init__(self, store: Store, clock: Clock, cursor_ttl: float = 300.0) -> None:
        self.store = store
        self.clock = clock
        self.catalog = Catalog(store, clock)
        self.items = Items(store, clock)
        self.queries = Queries(store, clock, cursor_ttl)

    # -- addressing: clients use names, or _rids when they follow a resource's _self link ---------
    def database_id(self, segment: str, by_rid: bool) -> str:
        """The database id a path segment names."""
        if not by_rid:
            return segment
        record = self.store.get_database_by_rid(segment)
        if record is None:
            raise NotFound(f"database with _rid {segment!r} does not exist")
        return record.id

    def container(self, database_id: str, segment: str, by_rid: bool) -> ContainerRecord:
        """The container a path segment names."""
        if not by_rid:
            return self.catalog.container(database_id, segment)
        record = self.store.get_container_by_rid(segment)
        if record is None or record.database_id != database_id:
            raise NotFound(f"container with _rid {segment!r} does not exist")
        return record

    def item_id(self, container: ContainerRecord, segment: str, by_rid: bool) -> str:
        """The item id a path segment names."""
        if not by_rid:
            return segment
        item = self.store.get_item_by_rid(container.rid, segment, self.clock.now())
        if item is None:
            raise NotFound(f"item with _rid {segment!r} does not exist")
        return item.id

    # -- operations that span services ------------------------------------------------------------
    def batch(self, container: ContainerRecord, pk_header: str | None, operations: Any) -> list[BatchOutcome]:
        """Run a transactional batch."""
        return execute_batch(self.items, self.store, container, pk_header, operations)

    def changes(self, container: ContainerRecord, if_none_match: str | None, if_modified_since: str | None,
                scope: Scope, max_items: int | None) -> ChangePage:
        """One page of the container's change feed."""
        return read_changes(self.store, self.clock, container, if_none_match, if_modified_since, scope, max_items)

    def purge_expired(self) -> int:
        """Delete items whose TTL has passed (reads already hide them; this reclaims space)."""
        with self.store.transaction():
            count = self.store.purge_expired(self.clock.now())
        if count:
            log.debug("purged %d expired items", count)
        return count
