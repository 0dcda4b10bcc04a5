"""Batch, change feed and query paging in the core, over the in-memory store."""
from __future__ import annotations

import json

import pytest

from devstack.cosmos.core.account import Account
from devstack.cosmos.core.changefeed import lsn_etag
from devstack.cosmos.core.errors import BadRequest, Conflict
from devstack.cosmos.core.queries import Queries, QueryRequest
from devstack.cosmos.core.records import ContainerRecord, Scope
from tests.unit.cosmos.fakes import FakeClock, InMemoryStore


def _query(text: str | None, max_items: int | None = None, continuation: str | None = None) -> QueryRequest:
    return QueryRequest(text, {}, Scope(), max_items, continuation)


def test_batch_rolls_back_on_failure(account: Account, container: ContainerRecord) -> None:
    account.items.create(container, {"id": "taken", "pk": "p"}, None)
    outcomes = account.batch(container, '["p"]', [
        {"operationType": "Create", "resourceBody": {"id": "new", "pk": "p"}},
        {"operationType": "Create", "resourceBody": {"id": "taken", "pk": "p"}},
        {"operationType": "Delete", "id": "taken"},
    ])
    assert [o.skipped for o in outcomes] == [True, False, True]
    assert isinstance(outcomes[1].error, Conflict)
    assert list(account.store.scan_items(container.rid, Scope(), 0)) != []
    assert [json.loads(b)["id"] for b in account.store.scan_items(container.rid, Scope(), 0)] == ["taken"]


def test_batch_rejects_other_partitions_and_bad_shapes(account: Account, container: ContainerRecord) -> None:
    outcomes = account.batch(container, '["p"]', [{"operationType": "Create", "resourceBody": {"id": "x", "pk": "q"}}])
    assert isinstance(outcomes[0].error, BadRequest)
    for operations in ([], {"operationType": "Create"}, [{"id": "x"}], [{"operationType": "Read"}] * 101):
        with pytest.raises(BadRequest):
            account.batch(container, '["p"]', operations)


def test_change_feed_orders_by_last_write(account: Account, container: ContainerRecord) -> None:
    for item_id in ("a", "b", "c"):
        account.items.create(container, {"id": item_id, "pk": "p"}, None)
    account.items.upsert(container, {"id": "a", "pk": "p", "v": 2}, None)
    page = account.changes(container, None, None, Scope(), None)
    assert [json.loads(d)["id"] for d in page.documents] == ["b", "c", "a"]
    assert page.etag == lsn_etag(4)
    assert account.changes(container, page.etag, None, Scope(), None).documents == []
    assert account.changes(container, "*", None, Scope(), None).etag == lsn_etag(4)
    with pytest.raises(BadRequest):
        account.changes(container, '"not-an-lsn"', None, Scope(), None)


def test_query_pages_are_a_snapshot(account: Account, container: ContainerRecord) -> None:
    for n in range(10):
        account.items.create(container, {"id": f"i{n}", "pk": "p", "n": n}, None)
    request = _query("SELECT VALUE c.n FROM c ORDER BY c.n", max_items=4)
    first = account.queries.page(container, request)
    account.items.delete(container, "i5", '["p"]')
    account.items.create(container, {"id": "late", "pk": "p", "n": 4.5}, None)
    rest = []
    token = first.continuation
    while token:
        page = account.queries.page(container, _query(request.text, 4, token))
        rest += page.documents
        token = page.continuation
    assert [json.loads(d) for d in first.documents + rest] == list(range(10))


def test_continuations_expire_and_are_bound_to_their_query(account: Account, container: ContainerRecord,
                                                           clock: FakeClock) -> None:
    for n in range(3):
        account.items.create(container, {"id": f"i{n}", "pk": "p"}, None)
    first = account.queries.page(container, _query("SELECT * FROM c", max_items=1))
    with pytest.raises(BadRequest):
        account.queries.page(container, _query("SELECT c.id FROM c", 1, first.continuation))
    second = account.queries.page(container, _query(None, max_items=1))
    clock.advance(61)
    with pytest.raises(BadRequest, match="expired"):
        account.queries.page(container, _query(None, 1, second.continuation))


def test_page_size_defaults(account: Account, container: ContainerRecord) -> None:
    for n in range(150):
        account.items.create(container, {"id": f"i{n:03}", "pk": "p"}, None)
    assert len(account.queries.page(container, _query(None)).documents) == 100
    assert len(account.queries.page(container, _query(None, max_items=-1)).documents) == 150


def test_a_continuation_token_always_gives_the_same_page(account: Account, container: ContainerRecord) -> None:
    for n in range(10):
        account.items.create(container, {"id": f"i{n}", "pk": "p", "n": n}, None)
    text = "SELECT VALUE c.n FROM c ORDER BY c.n"
    first = account.queries.page(container, _query(text, max_items=3))
    # An SDK retry, or a client resuming twice from a saved token, must not skip a page.
    replays = [account.queries.page(container, _query(text, 3, first.continuation)) for _ in range(3)]
    assert {tuple(p.documents) for p in replays} == {("3", "4", "5")}
    assert len({p.continuation for p in replays}) == 1
    last = account.queries.page(container, _query(text, 9, first.continuation))
    assert last.documents == [str(n) for n in range(3, 10)] and last.continuation is None
    # The cursor outlives its last page: an earlier token still replays.
    assert account.queries.page(container, _query(text, 3, replays[0].continuation)).documents == ["6", "7", "8"]


def test_a_continuation_token_is_bound_to_its_parameters_and_partition(account: Account,
                                                                       container: ContainerRecord) -> None:
    for n in range(6):
        account.items.create(container, {"id": f"i{n}", "pk": f"p{n % 2}", "n": n}, None)
    text = "SELECT VALUE c.n FROM c WHERE c.n >= @min"
    p0, p1 = Scope(partition_key='["p0"]'), Scope(partition_key='["p1"]')
    first = account.queries.page(container, QueryRequest(text, {"@min": 0}, p0, 1, None))
    assert first.documents == ["0"] and first.continuation
    with pytest.raises(BadRequest, match="partition"):
        account.queries.page(container, QueryRequest(text, {"@min": 0}, p1, 1, first.continuation))
    with pytest.raises(BadRequest, match="parameters"):
        account.queries.page(container, QueryRequest(text, {"@min": 1}, p0, 1, first.continuation))
    assert account.queries.page(container, QueryRequest(text, {"@min": 0}, p0, 1,
                                                        first.continuation)).documents == ["2"]
    for forged in (first.continuation.rsplit(":", 1)[0] + ":0", first.continuation.rsplit(":", 1)[0] + ":99",
                   first.continuation.rsplit(":", 1)[0], "devstack-query:", "x:1"):
        with pytest.raises(BadRequest, match="continuation"):
            account.queries.page(container, QueryRequest(text, {"@min": 0}, p0, 1, forged))


def test_open_cursors_are_capped_least_recently_used_first(clock: FakeClock) -> None:
    account = Account(InMemoryStore(), clock)
    account.catalog.create_database({"id": "db"})
    container = account.catalog.create_container("db", {"id": "c", "partitionKey": {"paths": ["/pk"]}})
    for n in range(3):
        account.items.create(container, {"id": f"i{n}", "pk": "p"}, None)
    queries = Queries(account.store, clock, cursor_ttl=60, max_cursors=2)
    a, b = (queries.page(container, _query(None, 1)) for _ in range(2))
    queries.page(container, _query(None, 1, a.continuation))  # a is now the most recently used
    queries.page(container, _query(None, 1))
    assert queries.page(container, _query(None, 1, a.continuation)).documents
    with pytest.raises(BadRequest, match="expired"):
        queries.page(container, _query(None, 1, b.continuation))
