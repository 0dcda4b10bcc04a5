"""Queries through the real SDK: parameters, partition scoping, cross-partition (with and without the flag),
the SQL features the app relies on, paging under concurrent writes, and unsupported queries."""
from __future__ import annotations

import pytest
from azure.cosmos import ContainerProxy, exceptions

DRONES = [
    {"id": f"d{i}", "pk": f"fleet-{i % 3}", "size": ["Small", "Medium", "Large"][i % 3], "payload": i * 2,
     "status": "idle" if i % 2 == 0 else "busy", "location": {"lat": i}}
    for i in range(12)
]


@pytest.fixture()
def drones(container: ContainerProxy) -> ContainerProxy:
    for drone in DRONES:
        container.create_item(drone)
    return container


def _ids(results: list) -> list[str]:
    return sorted(r["id"] for r in results)


def test_parameters_within_one_partition(drones: ContainerProxy) -> None:
    results = list(drones.query_items("SELECT * FROM c WHERE c.payload >= @min", partition_key="fleet-1",
                                      parameters=[{"name": "@min", "value": 4}]))
    assert _ids(results) == _ids([d for d in DRONES if d["pk"] == "fleet-1" and d["payload"] >= 4])
    assert all(r["_etag"] and r["_rid"] for r in results)  # documents come back as stored


def test_cross_partition_with_and_without_flag(drones: ContainerProxy) -> None:
    query = "SELECT * FROM c WHERE c.status = @s"
    expected = _ids([d for d in DRONES if d["status"] == "idle"])
    parameters = [{"name": "@s", "value": "idle"}]
    with_flag = list(drones.query_items(query, parameters=parameters, enable_cross_partition_query=True))
    without_flag = list(drones.query_items(query, parameters=parameters))  # 400/1004 -> query plan dance
    assert _ids(with_flag) == expected and _ids(without_flag) == expected


def test_projection_alias_value_distinct_top(drones: ContainerProxy) -> None:
    rows = list(drones.query_items("SELECT c.id, c.location.lat AS lat FROM c WHERE c.pk = 'fleet-0'",
                                   enable_cross_partition_query=True))
    assert sorted(rows, key=lambda r: r["id"]) == sorted(
        [{"id": d["id"], "lat": d["location"]["lat"]} for d in DRONES if d["pk"] == "fleet-0"],
        key=lambda r: r["id"])
    sizes = list(drones.query_items("SELECT DISTINCT VALUE c.size FROM c", enable_cross_partition_query=True))
    assert sorted(sizes) == ["Large", "Medium", "Small"]
    top = list(drones.query_items("SELECT TOP 3 VALUE c.id FROM c ORDER BY c.payload DESC"))
    assert top == ["d11", "d10", "d9"]


def test_order_by_several_keys_and_offset_limit(drones: ContainerProxy) -> None:
    ordered = list(drones.query_items("SELECT VALUE c.id FROM c ORDER BY c.size ASC, c.payload DESC",
                                      enable_cross_partition_query=True))
    expected = [d["id"] for d in sorted(DRONES, key=lambda d: (d["size"], -d["payload"]))]
    assert ordered == expected
    page = list(drones.query_items("SELECT VALUE c.id FROM c ORDER BY c.payload OFFSET 2 LIMIT 3"))
    assert page == ["d2", "d3", "d4"]


def test_aggregates_and_group_by(drones: ContainerProxy) -> None:
    for flag in (True, None):
        kwargs = {"enable_cross_partition_query": True} if flag else {}
        count = list(drones.query_items("SELECT VALUE COUNT(1) FROM c", **kwargs))
        assert count == [12]
        stats = list(drones.query_items(
            "SELECT COUNT(1) AS n, SUM(c.payload) AS total, MIN(c.payload) AS low, MAX(c.payload) AS high, "
            "AVG(c.payload) AS mean FROM c", **kwargs))
        assert stats == [{"n": 12, "total": 132, "low": 0, "high": 22, "mean": 11}]
    for flag in (True, None):
        groups = list(drones.query_items(
            "SELECT c.status, COUNT(1) AS n FROM c GROUP BY c.status", enable_cross_partition_query=flag))
        assert sorted(groups, key=lambda g: g["status"]) == [{"status": "busy", "n": 6}, {"status": "idle", "n": 6}]
    in_partition = list(drones.query_items("SELECT VALUE SUM(c.payload) FROM c", partition_key="fleet-2"))
    assert in_partition == [sum(d["payload"] for d in DRONES if d["pk"] == "fleet-2")]


@pytest.mark.parametrize("kwargs", [{"enable_cross_partition_query": True}, {}, {"partition_key": "p"}])
def test_null_value_aggregates_survive_every_path(container: ContainerProxy, kwargs: dict) -> None:
    for i, n in enumerate([None, 1, 2]):
        container.create_item({"id": f"i{i}", "pk": "p", "n": n})
    # Without the flag the SDK runs the query plan's rewritten query ([{"item": MIN(c.n)}]) and aggregates
    # it itself; a bare null would be taken for "no item" by its document producer.
    assert list(container.query_items("SELECT VALUE MIN(c.n) FROM c", **kwargs)) == [None]
    assert list(container.query_items("SELECT VALUE MAX(c.n) FROM c WHERE c.n >= @low",
                                      parameters=[{"name": "@low", "value": 1}], **kwargs)) == [2]
    assert list(container.query_items("select value count(1)  from c where IS_NUMBER(c.n)", **kwargs)) == [2]
    assert list(container.query_items("SELECT VALUE AVG((c.n + 1)) FROM c WHERE c.n > 0", **kwargs)) == [2.5]


@pytest.mark.parametrize("cross_partition_flag", [True, None])
def test_paging_neither_skips_nor_repeats_under_concurrent_writes(container: ContainerProxy,
                                                                  cross_partition_flag: bool | None) -> None:
    for i in range(50):
        container.create_item({"id": f"i{i:03}", "pk": f"p{i % 5}", "n": i})
    pages = container.query_items("SELECT * FROM c ORDER BY c.n", enable_cross_partition_query=cross_partition_flag,
                                  max_item_count=7).by_page()
    seen: list[int] = []
    for page_number, page in enumerate(pages):
        items = list(page)
        assert len(items) <= 7
        seen += [item["n"] for item in items]
        # Writers keep going between pages: new items, updates that move sort keys, deletes.
        container.create_item({"id": f"new{page_number}", "pk": "p0", "n": -1 - page_number})
        container.upsert_item({"id": f"i{49 - page_number:03}", "pk": f"p{(49 - page_number) % 5}", "n": 1000})
    assert seen == list(range(50))


def test_continuation_token_resumes_in_partition(container: ContainerProxy) -> None:
    for i in range(10):
        container.create_item({"id": f"x{i}", "pk": "one", "n": i})
    pager = container.query_items("SELECT VALUE c.n FROM c ORDER BY c.n", partition_key="one",
                                  max_item_count=4).by_page()
    first = list(next(pager))
    token = pager.continuation_token
    assert first == [0, 1, 2, 3] and token
    resumed = container.query_items("SELECT VALUE c.n FROM c ORDER BY c.n", partition_key="one",
                                    max_item_count=4).by_page(token)
    assert [n for page in resumed for n in page] == [4, 5, 6, 7, 8, 9]


# Not the query-plan path (no partition key, no flag): there the SDK's document producer reads a page ahead
# to peek, so the pager's token already points past the page handed out (azure/cosmos/_execution_context/
# document_producer.py); the SDK does not offer resumable tokens for that path.
@pytest.mark.parametrize("scope", [{"partition_key": "one"}, {"enable_cross_partition_query": True}])
def test_a_saved_continuation_token_replays_the_same_page(container: ContainerProxy, scope: dict) -> None:
    for i in range(12):
        container.create_item({"id": f"x{i:02}", "pk": "one" if i % 2 else "two", "n": i})
    query = "SELECT VALUE c.n FROM c WHERE c.pk = 'one' ORDER BY c.n"
    pager = container.query_items(query, max_item_count=2, **scope).by_page()
    assert list(next(pager)) == [1, 3]
    token = pager.continuation_token
    for _ in range(2):  # a client resuming twice from the same token (or an SDK retry) skips nothing
        assert list(next(container.query_items(query, max_item_count=2, **scope).by_page(token))) == [5, 7]


def test_a_continuation_token_from_another_partition_is_400(container: ContainerProxy) -> None:
    for i in range(4):
        container.create_item({"id": f"x{i}", "pk": "one" if i % 2 else "two", "n": i})
    pager = container.query_items("SELECT VALUE c.n FROM c", partition_key="one", max_item_count=1).by_page()
    next(pager)
    other = container.query_items("SELECT VALUE c.n FROM c", partition_key="two",
                                  max_item_count=1).by_page(pager.continuation_token)
    with pytest.raises(exceptions.CosmosHttpResponseError) as err:
        list(next(other))
    assert err.value.status_code == 400 and "partition" in err.value.message


def test_unknown_continuation_is_400(container: ContainerProxy) -> None:
    pager = container.query_items("SELECT * FROM c", partition_key="one", max_item_count=1).by_page("bogus")
    with pytest.raises(exceptions.CosmosHttpResponseError) as err:
        list(next(pager))
    assert err.value.status_code == 400 and "continuation" in err.value.message


@pytest.mark.parametrize("query, part", [
    ("SELECT * FROM c WHERE ST_DISTANCE(c.a, c.b) < 3", "ST_DISTANCE"),
    ("SELECT udf.score(c) FROM c", "udf"),
    ("SELECT * FROM c WHERE c.n = @missing", "@missing"),
    ("SELECT * FROM c WHERE", "position"),
])
def test_bad_or_unsupported_query_is_400_naming_the_part(container: ContainerProxy, query: str, part: str) -> None:
    container.create_item({"id": "a", "pk": "p", "n": 1})
    for kwargs in ({"partition_key": "p"}, {"enable_cross_partition_query": True}, {}):
        with pytest.raises(exceptions.CosmosHttpResponseError) as err:
            list(container.query_items(query, **kwargs))
        assert err.value.status_code == 400, kwargs
        assert part in err.value.message, err.value.message
