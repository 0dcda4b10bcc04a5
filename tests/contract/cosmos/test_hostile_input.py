"""Hostile input gets a bounded, clear answer: a 4xx with a Cosmos error body (which the SDK raises as
CosmosHttpResponseError with that status), never a 500, unbounded memory or a stalled server.

The probes are the ones of the "devstack survives hostile input" issue, sent through the real SDK
where it can express them and as signed raw REST otherwise. The session fixture also fails the run
if any request reached the server's 500 path (it logs a traceback then).
"""
from __future__ import annotations

import json
import time
import uuid

import pytest
from azure.cosmos import ContainerProxy, DatabaseProxy, PartitionKey, exceptions

from tests.contract.cosmos import rest
from tests.support.cosmos import CosmosEmulator

MB = 1024 * 1024


def _query(container: ContainerProxy, text: str, parameters: list[dict] | None = None) -> list:
    return list(container.query_items(text, parameters=parameters, enable_cross_partition_query=True))


def _bad_query(container: ContainerProxy, text: str, parameters: list[dict] | None = None
               ) -> exceptions.CosmosHttpResponseError:
    with pytest.raises(exceptions.CosmosHttpResponseError) as caught:
        _query(container, text, parameters)
    assert caught.value.status_code == 400, caught.value
    return caught.value


# --- 1. LIKE: linear-time matching --------------------------------------------------------------

def test_backtracking_like_pattern_answers_at_once(container: ContainerProxy) -> None:
    text = "SELECT VALUE '" + "a" * 36 + "' LIKE '%a%a%a%a%a%a%a%a%a%a%b'"
    assert len(text) == 81
    started = time.perf_counter()
    assert _query(container, text) == [False]
    # Was 4.8 s (and every other request waited); the bound only guards against exponential time.
    assert time.perf_counter() - started < 1.0


def test_backtracking_like_over_documents_answers_at_once(container: ContainerProxy) -> None:
    container.create_item({"id": "1", "pk": "p", "s": "a" * 5000})
    started = time.perf_counter()
    found = _query(container, "SELECT VALUE c.id FROM c WHERE c.s LIKE @p", [{"name": "@p", "value": "%a" * 40 + "%b"}])
    assert found == [] and time.perf_counter() - started < 1.0


# --- 3. patterns and inputs that used to be 500s ------------------------------------------------

@pytest.mark.parametrize(("pattern", "fault"), [("[^]", "'[^]'"), ("[z-a]", "'z-a'")])
def test_unusable_like_pattern_is_400_naming_it(container: ContainerProxy, pattern: str, fault: str) -> None:
    error = _bad_query(container, f"SELECT * FROM c WHERE c.s LIKE '{pattern}'")
    assert fault in error.message
    error = _bad_query(container, "SELECT VALUE 'a' LIKE @p", [{"name": "@p", "value": pattern}])
    assert fault in error.message


@pytest.mark.parametrize("text", ["SELECT ²", "SELECT VALUE 1.²", "SELECT VALUE ٣"])
def test_non_ascii_digit_in_query_text_is_400(container: ContainerProxy, text: str) -> None:
    assert "unexpected character" in _bad_query(container, text).message


def test_partition_key_version_that_is_not_1_or_2_is_400(emulator: CosmosEmulator, database: DatabaseProxy) -> None:
    for version in ("x", None, 3, True, [2]):
        body = {"id": f"v-{uuid.uuid4().hex[:8]}",
                "partitionKey": {"paths": ["/pk"], "kind": "Hash", "version": version}}
        status, reply = rest.request(emulator.endpoint, emulator.key, "POST", f"/dbs/{database.id}/colls", "colls",
                                     f"dbs/{database.id}", body=json.dumps(body).encode())
        if version is None:  # null is "not given"
            assert status == 201, reply
            database.delete_container(body["id"])
            continue
        assert status == 400 and reply["code"] == "BadRequest", reply
        assert "version" in reply["message"], reply


def test_continuation_with_a_5000_digit_offset_is_400(container: ContainerProxy) -> None:
    for index in range(3):
        container.create_item({"id": str(index), "pk": "p"})
    for token in ["devstack-query:abc:" + "9" * 5000, "devstack-query:abc:²"]:
        pages = container.query_items("SELECT * FROM c", partition_key="p", max_item_count=1).by_page(token)
        with pytest.raises(exceptions.CosmosHttpResponseError) as caught:
            list(next(pages))
        assert caught.value.status_code == 400
        assert "continuation token" in caught.value.message


@pytest.mark.parametrize("index", ["²", "٣", "9" * 5000])
def test_patch_path_index_that_is_not_ascii_digits_is_400(container: ContainerProxy, index: str) -> None:
    container.create_item({"id": "a", "pk": "p", "arr": [0, 1, 2, 3]})
    for operation in ({"op": "add", "path": f"/arr/{index}", "value": 9}, {"op": "remove", "path": f"/arr/{index}"},
                      {"op": "set", "path": f"/arr/{index}/x", "value": 9}):
        with pytest.raises(exceptions.CosmosHttpResponseError) as caught:
            container.patch_item("a", "p", [operation])
        assert caught.value.status_code == 400, operation
    assert container.read_item("a", "p")["arr"] == [0, 1, 2, 3]


@pytest.mark.parametrize("etag", ['"' + "9" * 5000 + '"', "9" * 5000, '"²"'])
def test_change_feed_if_none_match_that_is_not_an_lsn_is_400(emulator: CosmosEmulator, container: ContainerProxy,
                                                             etag: str) -> None:
    link = f"dbs/contract-tests/colls/{container.id}"
    status, reply = rest.request(emulator.endpoint, emulator.key, "GET", f"/{link}/docs", "docs", link,
                                 headers={"a-im": "Incremental Feed", "if-none-match": etag})
    assert status == 400 and reply["code"] == "BadRequest", reply
    assert "If-None-Match" in reply["message"]


# --- 2. bounded results, pages and cursors ------------------------------------------------------

def test_27_nested_replaces_are_refused_before_they_are_built(container: ContainerProxy) -> None:
    text = "'a'"
    for _ in range(27):
        text = f"REPLACE({text}, 'a', 'aa')"
    error = _bad_query(container, f"SELECT VALUE {text}")
    assert "REPLACE" in error.message and "2,097,152 characters" in error.message


def test_replace_with_a_parameter_that_would_pass_the_item_limit_is_400(container: ContainerProxy) -> None:
    big = "a" * 3000
    error = _bad_query(container, "SELECT VALUE REPLACE(@p, 'a', @p)", [{"name": "@p", "value": big}])
    assert "REPLACE would build a string of 9,000,000 characters" in error.message
    # Just under the limit it works.
    assert _query(container, "SELECT VALUE LENGTH(REPLACE(@p, 'a', @p))",
                  [{"name": "@p", "value": "a" * 1448}]) == [1448 * 1448]


def test_a_result_that_cannot_fit_in_a_4_mb_page_is_400(container: ContainerProxy) -> None:
    container.create_item({"id": "big", "pk": "p", "s": "x" * (3 * MB // 2)})
    error = _bad_query(container, "SELECT VALUE [c.s, c.s, c.s] FROM c")
    assert "4 MB" in error.message
    error = _bad_query(container, "SELECT VALUE TOSTRING([c.s, c.s]) FROM c")
    assert "TOSTRING" in error.message


def test_pages_stop_before_4_mb_and_the_continuation_carries_on(container: ContainerProxy) -> None:
    for index in range(5):
        container.create_item({"id": str(index), "pk": "p", "s": "x" * (1_900_000 - index)})
    for text in ("SELECT * FROM c", "SELECT c.id, c.s FROM c"):
        pages = container.query_items(text, partition_key="p", max_item_count=-1).by_page()
        seen = []
        for page in pages:
            items = list(page)
            assert len(json.dumps(items)) <= 4 * MB
            seen += [item["id"] for item in items]
        assert sorted(seen) == ["0", "1", "2", "3", "4"], text
    changes = list(container.query_items_change_feed(start_time="Beginning", max_item_count=100))
    assert sorted(item["id"] for item in changes) == ["0", "1", "2", "3", "4"]


def test_a_query_that_builds_too_much_across_documents_is_400(container: ContainerProxy) -> None:
    for index in range(20):
        container.create_item({"id": str(index), "pk": "p", "s": "a" * 1000})
    big = "b" * 2000
    # Each row's string is within the 2 MB limit, but all of them together are not.
    error = _bad_query(container, "SELECT VALUE LENGTH(REPLACE(c.s, 'a', @p)) FROM c", [{"name": "@p", "value": big}])
    assert "builds more than 33,554,432 characters" in error.message


# --- 5. Azure's default indexing policy ---------------------------------------------------------

@pytest.mark.parametrize("policy", [None, {}, {"automatic": True}])
def test_container_reports_azure_default_indexing_policy(database: DatabaseProxy, policy: dict | None) -> None:
    name = f"idx-{uuid.uuid4().hex[:8]}"
    kwargs = {} if policy is None else {"indexing_policy": policy}
    created = database.create_container(name, PartitionKey("/pk"), **kwargs)
    try:
        assert created.read()["indexingPolicy"] == {
            "indexingMode": "consistent", "automatic": True,
            "includedPaths": [{"path": "/*"}], "excludedPaths": [{"path": '/"_etag"/?'}],
        }
    finally:
        database.delete_container(name)


def test_indexing_policy_keeps_what_the_client_set(database: DatabaseProxy) -> None:
    name = f"idx-{uuid.uuid4().hex[:8]}"
    policy = {"indexingMode": "consistent", "excludedPaths": [{"path": "/big/*"}]}
    created = database.create_container(name, PartitionKey("/pk"), indexing_policy=policy)
    try:
        read = created.read()["indexingPolicy"]
        assert read["excludedPaths"] == [{"path": "/big/*"}] and read["includedPaths"] == [{"path": "/*"}]
        assert read["automatic"] is True
    finally:
        database.delete_container(name)
