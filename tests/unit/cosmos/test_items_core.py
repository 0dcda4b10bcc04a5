"""Item semantics in the core: conflicts, etags, conditional writes, TTL by the clock, patch conditions."""
from __future__ import annotations

import json

import pytest

from devstack.cosmos.core.account import Account
from devstack.cosmos.core.errors import BadRequest, Conflict, NotFound, PreconditionFailed, TooLarge
from devstack.cosmos.core.records import ContainerRecord
from tests.unit.cosmos.conftest import make_container
from tests.unit.cosmos.fakes import FakeClock


def _doc(result: object) -> dict:
    return json.loads(result.body)  # type: ignore[attr-defined]


def test_create_sets_system_properties(account: Account, container: ContainerRecord, clock: FakeClock) -> None:
    created = _doc(account.items.create(container, {"id": "a", "pk": "p", "_etag": "forged", "_ts": 1}, None))
    assert created["_ts"] == int(clock.now()) and created["_etag"] != "forged"
    assert created["_self"] == f"{container.self_link}docs/{created['_rid']}/"
    assert list(created)[:2] == ["id", "pk"]  # user properties first, system properties after


def test_conflict_and_not_found(account: Account, container: ContainerRecord) -> None:
    account.items.create(container, {"id": "a", "pk": "p"}, '["p"]')
    with pytest.raises(Conflict):
        account.items.create(container, {"id": "a", "pk": "p"}, None)
    with pytest.raises(NotFound):
        account.items.read(container, "a", '["other"]')
    with pytest.raises(BadRequest, match="does not match"):
        account.items.create(container, {"id": "b", "pk": "p"}, '["q"]')


def test_etag_changes_and_if_match(account: Account, container: ContainerRecord) -> None:
    first = account.items.create(container, {"id": "a", "pk": "p"}, None)
    second = account.items.replace(container, "a", {"id": "a", "pk": "p", "v": 1}, '["p"]', if_match=first.etag)
    assert second.etag != first.etag and _doc(second)["_rid"] == _doc(first)["_rid"]
    with pytest.raises(PreconditionFailed):
        account.items.delete(container, "a", '["p"]', if_match=first.etag)
    with pytest.raises(PreconditionFailed):
        account.items.upsert(container, {"id": "new", "pk": "p"}, None, if_match=first.etag)
    account.items.delete(container, "a", '["p"]', if_match="*")


def test_ttl_follows_the_clock(account: Account, clock: FakeClock) -> None:
    account.catalog.create_database({"id": "db"})
    ttl_container = make_container(account, "ttl", defaultTtl=10)
    account.items.create(ttl_container, {"id": "default", "pk": "p"}, None)
    account.items.create(ttl_container, {"id": "short", "pk": "p", "ttl": 2}, None)
    account.items.create(ttl_container, {"id": "never", "pk": "p", "ttl": -1}, None)
    clock.advance(2.5)
    with pytest.raises(NotFound):
        account.items.read(ttl_container, "short", '["p"]')
    account.items.read(ttl_container, "default", '["p"]')
    clock.advance(8)
    with pytest.raises(NotFound):
        account.items.read(ttl_container, "default", '["p"]')
    account.items.read(ttl_container, "never", '["p"]')
    assert account.purge_expired() == 2


def test_rewrite_restarts_ttl(account: Account, clock: FakeClock) -> None:
    account.catalog.create_database({"id": "db"})
    ttl_container = make_container(account, "ttl", defaultTtl=5)
    account.items.create(ttl_container, {"id": "a", "pk": "p"}, None)
    clock.advance(4)
    account.items.upsert(ttl_container, {"id": "a", "pk": "p", "v": 2}, None)
    clock.advance(4)
    assert _doc(account.items.read(ttl_container, "a", '["p"]'))["v"] == 2


def test_expired_item_can_be_created_again(account: Account, clock: FakeClock) -> None:
    account.catalog.create_database({"id": "db"})
    ttl_container = make_container(account, "ttl", defaultTtl=1)
    account.items.create(ttl_container, {"id": "a", "pk": "p"}, None)
    clock.advance(2)
    account.items.create(ttl_container, {"id": "a", "pk": "p"}, None)


def test_patch_condition_and_atomicity(account: Account, container: ContainerRecord) -> None:
    account.items.create(container, {"id": "a", "pk": "p", "status": "idle", "n": 1}, None)
    with pytest.raises(PreconditionFailed):
        account.items.patch(container, "a", {"operations": [{"op": "set", "path": "/n", "value": 2}],
                                             "condition": "FROM c WHERE c.status = 'busy'"}, '["p"]')
    with pytest.raises(BadRequest):
        account.items.patch(container, "a", {"operations": [{"op": "set", "path": "/n", "value": 2},
                                                            {"op": "remove", "path": "/missing"}]}, '["p"]')
    assert _doc(account.items.read(container, "a", '["p"]'))["n"] == 1
    patched = account.items.patch(container, "a", {"operations": [{"op": "incr", "path": "/n", "value": 2}],
                                                   "condition": "from c where c.status = 'idle'"}, '["p"]')
    assert _doc(patched)["n"] == 3


def test_item_size_limit(account: Account, container: ContainerRecord) -> None:
    with pytest.raises(TooLarge):
        account.items.create(container, {"id": "big", "pk": "p", "x": "y" * (2 * 1024 * 1024)}, None)


@pytest.mark.parametrize("body", [[], "text", {"pk": "p"}, {"id": "", "pk": "p"}, {"id": "a/b", "pk": "p"},
                                  {"id": "a", "pk": "p", "ttl": 0}])
def test_invalid_items_are_bad_requests(account: Account, container: ContainerRecord, body: object) -> None:
    with pytest.raises(BadRequest):
        account.items.create(container, body, None)
