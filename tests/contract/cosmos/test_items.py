"""Items through the real azure-cosmos SDK: CRUD, etags, conditional writes, patch, system properties."""
from __future__ import annotations

import pytest
from azure.core import MatchConditions
from azure.cosmos import ContainerProxy, exceptions


def test_create_returns_system_properties_and_etag(container: ContainerProxy) -> None:
    created = container.create_item({"id": "a", "pk": "p1", "n": 1})
    assert created["id"] == "a" and created["n"] == 1
    assert created["_etag"].startswith('"') and created["_rid"] and isinstance(created["_ts"], int)
    assert created["_self"].endswith(f"docs/{created['_rid']}/")
    assert container.client_connection.last_response_headers["etag"] == created["_etag"]


def test_create_twice_conflicts(container: ContainerProxy) -> None:
    container.create_item({"id": "a", "pk": "p1"})
    with pytest.raises(exceptions.CosmosResourceExistsError) as err:
        container.create_item({"id": "a", "pk": "p1"})
    assert err.value.status_code == 409
    container.create_item({"id": "a", "pk": "p2"})  # same id, other partition: a different item


def test_read_missing_is_404(container: ContainerProxy) -> None:
    with pytest.raises(exceptions.CosmosResourceNotFoundError):
        container.read_item("nope", partition_key="p1")
    container.create_item({"id": "a", "pk": "p1"})
    with pytest.raises(exceptions.CosmosResourceNotFoundError):
        container.read_item("a", partition_key="other")


def test_upsert_creates_then_replaces(container: ContainerProxy) -> None:
    first = container.upsert_item({"id": "u", "pk": "p", "v": 1})
    second = container.upsert_item({"id": "u", "pk": "p", "v": 2})
    assert second["v"] == 2 and second["_etag"] != first["_etag"] and second["_rid"] == first["_rid"]
    assert container.read_item("u", "p")["v"] == 2


def test_replace_and_delete(container: ContainerProxy) -> None:
    container.create_item({"id": "r", "pk": "p", "v": 1})
    replaced = container.replace_item("r", {"id": "r", "pk": "p", "v": 5})
    assert replaced["v"] == 5 and container.read_item("r", "p")["v"] == 5
    container.delete_item("r", partition_key="p")
    with pytest.raises(exceptions.CosmosResourceNotFoundError):
        container.read_item("r", "p")
    with pytest.raises(exceptions.CosmosResourceNotFoundError):
        container.delete_item("r", partition_key="p")
    with pytest.raises(exceptions.CosmosResourceNotFoundError):
        container.replace_item("r", {"id": "r", "pk": "p"})


def test_replace_through_self_link(container: ContainerProxy) -> None:
    item = container.create_item({"id": "s", "pk": "p", "v": 1})
    replaced = container.replace_item(item, {**item, "v": 2})  # the SDK follows item["_self"] (rid-based)
    assert replaced["v"] == 2
    container.delete_item(replaced, partition_key="p")
    assert list(container.read_all_items()) == []


def test_if_match_guards_replace_delete_patch(container: ContainerProxy) -> None:
    item = container.create_item({"id": "e", "pk": "p", "v": 1})
    current = container.replace_item("e", {"id": "e", "pk": "p", "v": 2},
                                      etag=item["_etag"], match_condition=MatchConditions.IfNotModified)
    stale = item["_etag"]
    for attempt in (
        lambda: container.replace_item("e", {"id": "e", "pk": "p", "v": 3}, etag=stale,
                                       match_condition=MatchConditions.IfNotModified),
        lambda: container.patch_item("e", "p", [{"op": "set", "path": "/v", "value": 9}], etag=stale,
                                     match_condition=MatchConditions.IfNotModified),
        lambda: container.delete_item("e", "p", etag=stale, match_condition=MatchConditions.IfNotModified),
    ):
        with pytest.raises(exceptions.CosmosAccessConditionFailedError) as err:
            attempt()
        assert err.value.status_code == 412
    assert container.read_item("e", "p")["v"] == 2
    container.delete_item("e", "p", etag=current["_etag"], match_condition=MatchConditions.IfNotModified)


def test_upsert_if_none_match_star_only_inserts(container: ContainerProxy) -> None:
    container.upsert_item({"id": "once", "pk": "p", "v": 1}, match_condition=MatchConditions.IfMissing)
    with pytest.raises(exceptions.CosmosAccessConditionFailedError):
        container.upsert_item({"id": "once", "pk": "p", "v": 2}, match_condition=MatchConditions.IfMissing)
    assert container.read_item("once", "p")["v"] == 1


def test_read_if_none_match_is_not_modified(container: ContainerProxy) -> None:
    item = container.create_item({"id": "n", "pk": "p"})
    unchanged = container.read_item("n", "p", etag=item["_etag"], match_condition=MatchConditions.IfModified)
    assert unchanged == {}  # the SDK turns 304 Not Modified into an empty body
    assert unchanged.get_response_headers()["etag"] == item["_etag"]
    changed = container.upsert_item({"id": "n", "pk": "p", "v": 1})
    fresh = container.read_item("n", "p", etag=item["_etag"], match_condition=MatchConditions.IfModified)
    assert fresh["v"] == 1 and fresh["_etag"] == changed["_etag"]


def test_patch_operations(container: ContainerProxy) -> None:
    container.create_item({"id": "p", "pk": "k", "count": 1, "tags": ["a"], "old": 1, "nested": {"x": 1}})
    patched = container.patch_item("p", "k", [
        {"op": "set", "path": "/status", "value": "idle"},
        {"op": "add", "path": "/tags/0", "value": "first"},
        {"op": "add", "path": "/tags/-", "value": "last"},
        {"op": "replace", "path": "/nested/x", "value": 2},
        {"op": "remove", "path": "/old"},
        {"op": "incr", "path": "/count", "value": 5},
        {"op": "incr", "path": "/fresh", "value": -2},
    ])
    assert patched["status"] == "idle" and patched["tags"] == ["first", "a", "last"]
    assert patched["nested"] == {"x": 2} and "old" not in patched
    assert patched["count"] == 6 and patched["fresh"] == -2
    assert container.read_item("p", "k") == patched


def test_patch_with_filter_condition(container: ContainerProxy) -> None:
    container.create_item({"id": "f", "pk": "k", "status": "idle", "v": 0})
    ok = container.patch_item("f", "k", [{"op": "set", "path": "/status", "value": "busy"}],
                              filter_predicate="FROM c WHERE c.status = 'idle'")
    assert ok["status"] == "busy"
    with pytest.raises(exceptions.CosmosAccessConditionFailedError):
        container.patch_item("f", "k", [{"op": "set", "path": "/status", "value": "again"}],
                             filter_predicate="FROM c WHERE c.status = 'idle'")
    assert container.read_item("f", "k")["status"] == "busy"


def test_bad_patches_are_400_and_change_nothing(container: ContainerProxy) -> None:
    container.create_item({"id": "b", "pk": "k", "s": "text"})
    for operations in (
        [{"op": "replace", "path": "/missing", "value": 1}],
        [{"op": "remove", "path": "/missing"}],
        [{"op": "incr", "path": "/s", "value": 1}],
        [{"op": "set", "path": "/pk", "value": "other"}],
        [{"op": "set", "path": "/ok", "value": 1}, {"op": "remove", "path": "/nope"}],
    ):
        with pytest.raises(exceptions.CosmosHttpResponseError) as err:
            container.patch_item("b", "k", operations)
        assert err.value.status_code == 400, operations
    assert "ok" not in container.read_item("b", "k")


def test_partition_key_header_must_match_body(container: ContainerProxy) -> None:
    container.create_item({"id": "m", "pk": "p"})
    with pytest.raises(exceptions.CosmosHttpResponseError) as err:
        container.replace_item("m", {"id": "m", "pk": "other"})
    assert err.value.status_code in (400, 404)


@pytest.mark.parametrize("item_id", ["with space", "ünïcødé", "plus+sign", "percent%20", "semi;colon", "a'b\"c",
                                     "x" * 255])
def test_ids_that_need_url_quoting(container: ContainerProxy, item_id: str) -> None:
    container.create_item({"id": item_id, "pk": "p"})
    assert container.read_item(item_id, "p")["id"] == item_id
    container.replace_item(item_id, {"id": item_id, "pk": "p", "v": 1})
    assert container.patch_item(item_id, "p", [{"op": "incr", "path": "/v", "value": 1}])["v"] == 2
    container.delete_item(item_id, "p")
    assert list(container.read_all_items()) == []
