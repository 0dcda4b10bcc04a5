"""Other SDK calls apps use: read_items, feed ranges, read_all_items paging, delete by partition key,
connection strings; and a clear 400 for what the emulator does not implement."""
from __future__ import annotations

import pytest
from azure.cosmos import ContainerProxy, CosmosClient, DatabaseProxy, PartitionKey, exceptions

from tests.support.cosmos import CosmosEmulator


@pytest.fixture()
def filled(container: ContainerProxy) -> ContainerProxy:
    for i in range(20):
        container.create_item({"id": f"i{i:02}", "pk": f"p{i % 4}", "n": i})
    return container


def test_read_items_many(filled: ContainerProxy) -> None:
    found = filled.read_items([("i01", "p1"), ("i02", "p2"), ("i05", "p1"), ("missing", "p0")])
    assert sorted(item["id"] for item in found) == ["i01", "i02", "i05"]


def test_feed_ranges_for_queries_and_change_feed(filled: ContainerProxy) -> None:
    ranges = list(filled.read_feed_ranges())
    assert len(ranges) == 1
    assert len(list(filled.query_items("SELECT * FROM c", feed_range=ranges[0]))) == 20
    p1 = filled.feed_range_from_partition_key("p1")
    expected = [f"i{i:02}" for i in range(20) if i % 4 == 1]
    assert sorted(i["id"] for i in filled.query_items("SELECT * FROM c", feed_range=p1)) == expected
    assert [i["id"] for i in filled.query_items_change_feed(feed_range=p1, start_time="Beginning")] == expected


def test_read_all_items_pages(filled: ContainerProxy) -> None:
    pages = [list(page) for page in filled.read_all_items(max_item_count=6).by_page()]
    assert [len(p) for p in pages] == [6, 6, 6, 2]
    assert len({item["id"] for page in pages for item in page}) == 20


def test_delete_all_items_by_partition_key(filled: ContainerProxy) -> None:
    filled.delete_all_items_by_partition_key("p1")
    remaining = [i["n"] for i in filled.query_items("SELECT * FROM c", enable_cross_partition_query=True)]
    assert len(remaining) == 15 and all(n % 4 != 1 for n in remaining)


def test_connection_string(emulator: CosmosEmulator, database: DatabaseProxy) -> None:
    client = CosmosClient.from_connection_string(emulator.connection_string)
    assert database.id in [d["id"] for d in client.list_databases()]


def test_offer_throughput_is_accepted_and_ignored(database: DatabaseProxy) -> None:
    created = database.create_container("with-throughput", PartitionKey("/pk"), offer_throughput=400)
    assert created.read()["id"] == "with-throughput"
    database.delete_container(created)


def test_unsupported_resources_are_400(filled: ContainerProxy) -> None:
    with pytest.raises(exceptions.CosmosHttpResponseError) as err:
        filled.get_throughput()
    assert err.value.status_code == 400 and "offers" in err.value.message
    with pytest.raises(exceptions.CosmosHttpResponseError) as err:
        filled.scripts.create_stored_procedure({"id": "sp", "body": "function () {}"})
    assert err.value.status_code == 400 and "sprocs" in err.value.message
