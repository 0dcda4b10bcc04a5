"""Transactional batch (all or nothing) and the change feed pull model, through the real SDK."""
from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from azure.cosmos import ContainerProxy, exceptions


def test_batch_commits_every_operation(container: ContainerProxy) -> None:
    drone = container.create_item({"id": "drone-1", "pk": "fleet", "status": "idle", "v": 0})
    container.create_item({"id": "gone", "pk": "fleet"})
    results = container.execute_item_batch([
        ("create", ({"id": "reservation:del-1", "pk": "fleet", "drone": "drone-1"},)),
        ("replace", ("drone-1", {**drone, "status": "reserved"}), {"if_match_etag": drone["_etag"]}),
        ("upsert", ({"id": "u", "pk": "fleet"},)),
        ("read", ("drone-1",)),
        ("patch", ("drone-1", [{"op": "incr", "path": "/v", "value": 1}])),
        ("delete", ("gone",)),
    ], partition_key="fleet")
    assert [r["statusCode"] for r in results] == [201, 200, 201, 200, 200, 204]
    assert results[3]["resourceBody"]["status"] == "reserved"
    assert container.read_item("drone-1", "fleet")["v"] == 1
    assert container.read_item("reservation:del-1", "fleet")["drone"] == "drone-1"


def test_batch_failure_rolls_everything_back(container: ContainerProxy) -> None:
    container.create_item({"id": "reservation:del-1", "pk": "fleet"})
    drone = container.create_item({"id": "drone-1", "pk": "fleet", "status": "idle"})
    with pytest.raises(exceptions.CosmosBatchOperationError) as err:
        container.execute_item_batch([
            ("upsert", ({"id": "drone-1", "pk": "fleet", "status": "reserved"},)),
            ("create", ({"id": "reservation:del-1", "pk": "fleet"},)),  # already there: 409
            ("create", ({"id": "other", "pk": "fleet"},)),
        ], partition_key="fleet")
    assert err.value.error_index == 1 and err.value.status_code == 409
    assert [r["statusCode"] for r in err.value.operation_responses] == [424, 409, 424]
    assert container.read_item("drone-1", "fleet")["_etag"] == drone["_etag"]
    with pytest.raises(exceptions.CosmosResourceNotFoundError):
        container.read_item("other", "fleet")


def test_batch_stale_etag_is_412(container: ContainerProxy) -> None:
    drone = container.create_item({"id": "drone-1", "pk": "fleet"})
    container.upsert_item({**drone, "moved": True})
    with pytest.raises(exceptions.CosmosBatchOperationError) as err:
        container.execute_item_batch([("replace", ("drone-1", drone), {"if_match_etag": drone["_etag"]})],
                                     partition_key="fleet")
    assert err.value.status_code == 412


def test_batch_with_invalid_id_is_400(container: ContainerProxy) -> None:
    # The SDK validates ids on create/upsert itself, but not inside a batch: the server must refuse.
    with pytest.raises(exceptions.CosmosBatchOperationError) as err:
        container.execute_item_batch([("create", ({"id": "bad/id", "pk": "p"},))], partition_key="p")
    assert err.value.status_code == 400
    assert list(container.read_all_items()) == []


def test_change_feed_from_beginning_then_continuation(container: ContainerProxy) -> None:
    for i in range(5):
        container.create_item({"id": f"i{i}", "pk": f"p{i % 2}", "n": i})
    feed = container.query_items_change_feed(start_time="Beginning")
    assert sorted(item["id"] for item in feed) == ["i0", "i1", "i2", "i3", "i4"]
    token = container.client_connection.last_response_headers["etag"]
    container.upsert_item({"id": "i1", "pk": "p1", "n": 100})
    container.create_item({"id": "i5", "pk": "p0", "n": 5})
    changes = list(container.query_items_change_feed(continuation=token))
    assert [(c["id"], c["n"]) for c in changes] == [("i1", 100), ("i5", 5)]
    again = container.client_connection.last_response_headers["etag"]
    assert list(container.query_items_change_feed(continuation=again)) == []


def test_change_feed_from_now_and_per_partition(container: ContainerProxy) -> None:
    container.create_item({"id": "old", "pk": "a"})
    assert list(container.query_items_change_feed(start_time="Now")) == []
    # An empty first page ends the SDK's pager before it records a token; the etag header carries it.
    token = container.client_connection.last_response_headers["etag"]
    container.create_item({"id": "new-a", "pk": "a"})
    container.create_item({"id": "new-b", "pk": "b"})
    assert [c["id"] for c in container.query_items_change_feed(continuation=token)] == ["new-a", "new-b"]
    only_b = list(container.query_items_change_feed(start_time="Beginning", partition_key="b"))
    assert [c["id"] for c in only_b] == ["new-b"]


def test_change_feed_pages_with_max_item_count(container: ContainerProxy) -> None:
    for i in range(7):
        container.create_item({"id": f"i{i}", "pk": "p"})
    pages = [list(p) for p in container.query_items_change_feed(start_time="Beginning", max_item_count=3).by_page()]
    assert [len(p) for p in pages if p] == [3, 3, 1]
    assert [i["id"] for p in pages for i in p] == [f"i{i}" for i in range(7)]


def test_change_feed_from_point_in_time(container: ContainerProxy) -> None:
    container.create_item({"id": "before", "pk": "p"})
    deadline = time.monotonic() + 3
    start_ts = container.read_item("before", "p")["_ts"]
    while int(time.time()) <= start_ts and time.monotonic() < deadline:  # _ts has one-second resolution
        time.sleep(0.05)
    since = datetime.now(UTC)
    container.create_item({"id": "after", "pk": "p"})
    assert [c["id"] for c in container.query_items_change_feed(start_time=since)] == ["after"]
