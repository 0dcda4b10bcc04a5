"""One suite, two stores: the SQLite store and the in-memory fake must behave the same."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.cosmos.core.ports import Store
from devstack.cosmos.core.records import ContainerRecord, DatabaseRecord, Scope, StoredItem
from devstack.cosmos.store.sqlite_store import SqliteStore
from tests.unit.cosmos.fakes import InMemoryStore


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "memory":
        yield InMemoryStore()
        return
    sqlite = SqliteStore(tmp_path / "cosmos.sqlite")
    yield sqlite
    sqlite.close()


def _seed(store: Store) -> ContainerRecord:
    store.insert_database(DatabaseRecord("db", "AAAAAA==", 1, '"e"'))
    container = ContainerRecord("db", "AAAAAA==", "c", "AAAAAIAAAAA=", 1, '"e"', {"partitionKey": {"paths": ["/pk"]}})
    store.insert_container(container)
    return container


def _item(container: ContainerRecord, store: Store, pk: str, item_id: str, epk: str,
          expires_at: float | None = None) -> StoredItem:
    lsn = store.next_lsn(container.rid)
    item = StoredItem(container.rid, pk, item_id, f'{{"id":"{item_id}"}}', f'"{lsn}"', lsn, expires_at,
                      f"rid-{item_id}", epk)
    store.put_item(item)
    return item


def test_items_scopes_and_expiry(store: Store) -> None:
    container = _seed(store)
    _item(container, store, '["a"]', "1", "10")
    _item(container, store, '["b"]', "2", "20")
    _item(container, store, '["a"]', "3", "10", expires_at=50.0)
    assert len(list(store.scan_items(container.rid, Scope(), 0))) == 3
    assert list(store.scan_items(container.rid, Scope(partition_key='["a"]'), 60)) == ['{"id":"1"}']
    assert list(store.scan_items(container.rid, Scope(epk_range=("15", "FF")), 0)) == ['{"id":"2"}']
    assert store.get_item(container.rid, '["a"]', "3", 49) is not None
    assert store.get_item(container.rid, '["a"]', "3", 50) is None
    assert store.get_item_by_rid(container.rid, "rid-2", 0).id == "2"
    assert store.purge_expired(60) == 1
    assert store.list_items(container.rid)[0].rid.startswith("rid-")


def test_changes_and_lsn(store: Store) -> None:
    container = _seed(store)
    _item(container, store, '["a"]', "1", "10")
    _item(container, store, '["a"]', "2", "10")
    _item(container, store, '["a"]', "1", "10")  # rewritten: moves to the end of the feed
    assert [i.id for i in store.changes_after(container.rid, 0, Scope(), 0, 10)] == ["2", "1"]
    assert [i.id for i in store.changes_after(container.rid, 2, Scope(), 0, 10)] == ["1"]
    assert store.last_lsn(container.rid) == 3


def test_transactions_roll_back(store: Store) -> None:
    container = _seed(store)
    with pytest.raises(RuntimeError):
        with store.transaction():
            _item(container, store, '["a"]', "1", "10")
            with store.transaction():  # nested blocks join the outer one
                _item(container, store, '["a"]', "2", "10")
            raise RuntimeError("undo")
    assert list(store.scan_items(container.rid, Scope(), 0)) == []
    assert store.last_lsn(container.rid) == 0


def test_catalog_records_and_cascade(store: Store) -> None:
    container = _seed(store)
    _item(container, store, '["a"]', "1", "10")
    assert store.get_database_by_rid("AAAAAA==").id == "db"
    assert store.get_container_by_rid(container.rid).id == "c"
    assert [c.id for c in store.list_containers("db")] == ["c"]
    store.delete_database("db")
    assert store.get_database("db") is None and store.get_container("db", "c") is None
    assert store.list_items(container.rid) == []


def test_sqlite_survives_reopen(tmp_path: Path) -> None:
    first = SqliteStore(tmp_path / "cosmos.sqlite")
    container = _seed(first)
    with first.transaction():
        _item(container, first, '["a"]', "1", "10")
    first.close()
    second = SqliteStore(tmp_path / "cosmos.sqlite")
    assert second.get_item(container.rid, '["a"]', "1", 0).body == '{"id":"1"}'
    assert second.last_lsn(container.rid) == 1
