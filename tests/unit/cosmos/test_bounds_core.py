"""What one request may make the core hold or send: 4 MB pages, bounded cursors, strict numbers in
tokens, etags, patch paths and partition key definitions (the in-memory store; no sockets)."""
from __future__ import annotations

import json

import pytest

from devstack.cosmos.core.account import Account
from devstack.cosmos.core.catalog import Catalog
from devstack.cosmos.core.documents import MAX_RESPONSE_BYTES
from devstack.cosmos.core.errors import BadRequest
from devstack.cosmos.core.queries import Queries, QueryRequest
from devstack.cosmos.core.records import ContainerRecord, Scope
from tests.unit.cosmos.fakes import FakeClock, InMemoryStore

MB = 1024 * 1024


def _request(text: str | None, max_items: int | None = -1, continuation: str | None = None,
             parameters: dict | None = None) -> QueryRequest:
    return QueryRequest(text, parameters or {}, Scope(), max_items, continuation)


def _fill(account: Account, container: ContainerRecord, count: int, size: int) -> None:
    for index in range(count):
        account.items.create(container, {"id": f"i{index}", "pk": "p", "s": "é" * size}, None)


def _page_bytes(documents: list[str]) -> int:
    return len(f'{{"_rid":"x","Documents":[{",".join(documents)}],"_count":{len(documents)}}}'.encode())


@pytest.mark.parametrize("text", [None, "SELECT * FROM c", "SELECT VALUE c.s FROM c"])
def test_query_and_read_feed_pages_stop_before_4_mb(account: Account, container: ContainerRecord,
                                                    text: str | None) -> None:
    _fill(account, container, 6, 600_000)  # 1.2 MB of UTF-8 each: three fit a page, four do not
    seen, continuation = 0, None
    while True:
        page = account.queries.page(container, _request(text, continuation=continuation))
        assert len(page.documents) <= 3 and _page_bytes(page.documents) <= MAX_RESPONSE_BYTES
        seen += len(page.documents)
        continuation = page.continuation
        if continuation is None:
            break
    assert seen == 6


def test_change_feed_pages_stop_before_4_mb(account: Account, container: ContainerRecord) -> None:
    _fill(account, container, 6, 600_000)
    page = account.changes(container, None, None, Scope(), 100)
    assert len(page.documents) == 3 and _page_bytes(page.documents) <= MAX_RESPONSE_BYTES
    rest = account.changes(container, page.etag, None, Scope(), 100)
    ids = [json.loads(d)["id"] for d in page.documents + rest.documents]
    assert ids == [f"i{n}" for n in range(6)]


def test_a_result_larger_than_a_page_is_refused(account: Account, container: ContainerRecord) -> None:
    _fill(account, container, 1, 700_000)  # 1.4 MB as stored; ASCII-escaped results take 6 bytes a character
    with pytest.raises(BadRequest, match="cannot fit in a 4 MB response page"):
        account.queries.page(container, _request("SELECT VALUE c.s FROM c"))


def test_one_cursor_holds_a_bounded_amount(clock: FakeClock) -> None:
    store = InMemoryStore()
    account = Account(store, clock)
    account.queries = Queries(store, clock, max_cursor_bytes=50_000)
    account.catalog.create_database({"id": "db"})
    container = account.catalog.create_container("db", {"id": "c", "partitionKey": {"paths": ["/pk"]}})
    _fill(account, container, 10, 1000)  # 6 kB a result: 'é' is escaped as \u00e9
    with pytest.raises(BadRequest, match="larger than the 50,000 bytes"):
        account.queries.page(container, _request("SELECT * FROM c", max_items=1))
    # TOP stops the evaluation early, so a narrowed query works.
    page = account.queries.page(container, _request("SELECT TOP 2 * FROM c", max_items=1))
    assert len(page.documents) == 1 and page.continuation


def test_cursors_together_hold_a_bounded_amount(clock: FakeClock) -> None:
    store = InMemoryStore()
    account = Account(store, clock)
    account.queries = Queries(store, clock, max_held_bytes=100_000)
    account.catalog.create_database({"id": "db"})
    container = account.catalog.create_container("db", {"id": "c", "partitionKey": {"paths": ["/pk"]}})
    _fill(account, container, 4, 4000)  # one cursor: 4 x 24 kB of escaped results
    tokens = [account.queries.page(container, _request("SELECT * FROM c", max_items=1)).continuation
              for _ in range(3)]
    # The least recently used cursor made room for the third one.
    with pytest.raises(BadRequest, match="unknown or has expired"):
        account.queries.page(container, _request("SELECT * FROM c", max_items=1, continuation=tokens[0]))
    assert account.queries.page(container, _request("SELECT * FROM c", max_items=1, continuation=tokens[2]))


@pytest.mark.parametrize("offset", ["9" * 5000, "²", "٣", "-1", "1e3", ""])
def test_continuation_offset_must_be_ascii_digits(account: Account, container: ContainerRecord, offset: str) -> None:
    _fill(account, container, 3, 1)
    token = account.queries.page(container, _request("SELECT * FROM c", max_items=1)).continuation
    assert token is not None
    cursor_id = token.rsplit(":", 1)[0]
    with pytest.raises(BadRequest, match="continuation token"):
        account.queries.page(container, _request("SELECT * FROM c", max_items=1, continuation=f"{cursor_id}:{offset}"))


@pytest.mark.parametrize("etag", ['"' + "9" * 5000 + '"', '"²"', '"٣"', '"-1"'])
def test_change_feed_etag_must_be_an_lsn(account: Account, container: ContainerRecord, etag: str) -> None:
    with pytest.raises(BadRequest, match="If-None-Match"):
        account.changes(container, etag, None, Scope(), None)


@pytest.mark.parametrize("index", ["²", "٣", "9" * 5000, "1²"])
def test_patch_array_index_must_be_ascii_digits(account: Account, container: ContainerRecord, index: str) -> None:
    account.items.create(container, {"id": "a", "pk": "p", "arr": [0, 1, 2, 3]}, None)
    for operation in ({"op": "add", "path": f"/arr/{index}", "value": 9}, {"op": "replace", "path": f"/arr/{index}",
                      "value": 9}, {"op": "incr", "path": f"/arr/{index}/n", "value": 1}):
        with pytest.raises(BadRequest):
            account.items.patch(container, "a", {"operations": [operation]}, '["p"]')


@pytest.mark.parametrize("version", ["x", 3, 0, True, [2], {"v": 2}, 1.5])
def test_partition_key_version_must_be_1_or_2(clock: FakeClock, version: object) -> None:
    catalog = Catalog(InMemoryStore(), clock)
    catalog.create_database({"id": "db"})
    with pytest.raises(BadRequest, match="version"):
        catalog.create_container("db", {"id": "c", "partitionKey": {"paths": ["/pk"], "version": version}})


@pytest.mark.parametrize(("policy", "expected"), [
    (None, {"indexingMode": "consistent", "automatic": True, "includedPaths": [{"path": "/*"}],
            "excludedPaths": [{"path": '/"_etag"/?'}]}),
    ({}, {"indexingMode": "consistent", "automatic": True, "includedPaths": [{"path": "/*"}],
          "excludedPaths": [{"path": '/"_etag"/?'}]}),
    ({"indexingMode": "none", "automatic": False},
     {"indexingMode": "none", "automatic": False, "includedPaths": [], "excludedPaths": []}),
])
def test_indexing_policy_gets_azure_defaults(clock: FakeClock, policy: dict | None, expected: dict) -> None:
    catalog = Catalog(InMemoryStore(), clock)
    catalog.create_database({"id": "db"})
    body = {"id": "c", "partitionKey": {"paths": ["/pk"]}}
    if policy is not None:
        body["indexingPolicy"] = policy
    assert catalog.create_container("db", body).to_json()["indexingPolicy"] == expected


@pytest.mark.parametrize("policy", ["consistent", [], {"indexingMode": "eager"}, {"indexingMode": 1}])
def test_malformed_indexing_policy_is_400(clock: FakeClock, policy: object) -> None:
    catalog = Catalog(InMemoryStore(), clock)
    catalog.create_database({"id": "db"})
    with pytest.raises(BadRequest, match="indexing"):
        catalog.create_container("db", {"id": "c", "partitionKey": {"paths": ["/pk"]}, "indexingPolicy": policy})
