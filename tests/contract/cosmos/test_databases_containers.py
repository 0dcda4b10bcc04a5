"""Databases, containers, partition key paths and TTL through the real SDK."""
from __future__ import annotations

import time
import uuid

import pytest
from azure.cosmos import CosmosClient, DatabaseProxy, PartitionKey, exceptions


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def test_database_lifecycle(client: CosmosClient) -> None:
    name = _name("db")
    created = client.create_database(name)
    assert created.read()["id"] == name and created.read()["_rid"]
    with pytest.raises(exceptions.CosmosResourceExistsError):
        client.create_database(name)
    assert client.create_database_if_not_exists(name).read()["_rid"] == created.read()["_rid"]
    assert name in [d["id"] for d in client.list_databases()]
    assert [d["id"] for d in client.query_databases(query="SELECT * FROM d WHERE d.id = @n",
                                                    parameters=[{"name": "@n", "value": name}])] == [name]
    client.delete_database(name)
    with pytest.raises(exceptions.CosmosResourceNotFoundError):
        client.get_database_client(name).read()
    with pytest.raises(exceptions.CosmosResourceNotFoundError):
        client.delete_database(name)


def test_container_lifecycle(database: DatabaseProxy) -> None:
    name = _name("coll")
    container = database.create_container(name, PartitionKey("/fleetId"))
    properties = container.read()
    assert properties["partitionKey"]["paths"] == ["/fleetId"] and properties["_rid"]
    with pytest.raises(exceptions.CosmosResourceExistsError):
        database.create_container(name, PartitionKey("/fleetId"))
    again = database.create_container_if_not_exists(name, PartitionKey("/fleetId"))
    assert again.read()["_rid"] == properties["_rid"]
    assert name in [c["id"] for c in database.list_containers()]
    database.delete_container(name)
    with pytest.raises(exceptions.CosmosResourceNotFoundError):
        database.get_container_client(name).read()


def test_container_in_missing_database_is_404(client: CosmosClient) -> None:
    with pytest.raises(exceptions.CosmosResourceNotFoundError):
        client.get_database_client(_name("nodb")).create_container("c", PartitionKey("/id"))


def test_nested_partition_key_path(database: DatabaseProxy) -> None:
    container = database.create_container(_name("nested"), PartitionKey("/owner/region"))
    container.create_item({"id": "1", "owner": {"region": "eu"}})
    container.create_item({"id": "2", "owner": {"region": "us"}})
    assert container.read_item("1", partition_key="eu")["owner"]["region"] == "eu"
    with pytest.raises(exceptions.CosmosResourceNotFoundError):
        container.read_item("1", partition_key="us")
    results = list(container.query_items("SELECT VALUE c.id FROM c", partition_key="us"))
    assert results == ["2"]


def test_hierarchical_partition_key(database: DatabaseProxy) -> None:
    container = database.create_container(_name("hier"), PartitionKey(["/tenant", "/user"], kind="MultiHash"))
    for i in range(12):
        container.create_item({"id": str(i), "tenant": f"t{i % 2}", "user": f"u{i % 3}"})
    assert container.read_item("1", partition_key=["t1", "u1"])["user"] == "u1"
    with pytest.raises(exceptions.CosmosResourceNotFoundError):
        container.read_item("1", partition_key=["t1", "u2"])
    prefix = sorted(int(i) for i in container.query_items("SELECT VALUE c.id FROM c", partition_key=["t1"]))
    assert prefix == [1, 3, 5, 7, 9, 11]  # a key prefix: the SDK narrows by effective-partition-key range
    full = sorted(int(i) for i in container.query_items("SELECT VALUE c.id FROM c", partition_key=["t0", "u0"]))
    assert full == [0, 6]
    changes = container.query_items_change_feed(partition_key=["t1", "u1"], start_time="Beginning")
    assert sorted(int(c["id"]) for c in changes) == [1, 7]


def test_missing_partition_key_value_is_its_own_partition(database: DatabaseProxy) -> None:
    from azure.cosmos.partition_key import NonePartitionKeyValue

    container = database.create_container(_name("nokey"), PartitionKey("/fleetId"))
    container.create_item({"id": "loose"})
    assert container.read_item("loose", partition_key=NonePartitionKeyValue)["id"] == "loose"


def _wait_gone(read: object, timeout: float = 10.0) -> float:
    deadline = time.monotonic() + timeout
    start = time.monotonic()
    while time.monotonic() < deadline:
        try:
            read()  # type: ignore[operator]
        except exceptions.CosmosResourceNotFoundError:
            return time.monotonic() - start
        time.sleep(0.05)
    raise AssertionError("item did not expire")


def test_container_default_ttl_expires_items(database: DatabaseProxy) -> None:
    container = database.create_container(_name("ttl"), PartitionKey("/pk"), default_ttl=1)
    assert container.read()["defaultTtl"] == 1
    container.create_item({"id": "short", "pk": "p"})
    container.create_item({"id": "forever", "pk": "p", "ttl": -1})
    _wait_gone(lambda: container.read_item("short", "p"))
    assert container.read_item("forever", "p")["id"] == "forever"
    assert list(container.query_items("SELECT VALUE c.id FROM c", partition_key="p")) == ["forever"]


def test_item_ttl_with_ttl_on_without_default(database: DatabaseProxy) -> None:
    container = database.create_container(_name("ttl"), PartitionKey("/pk"), default_ttl=-1)
    container.create_item({"id": "brief", "pk": "p", "ttl": 1})
    container.create_item({"id": "stays", "pk": "p"})
    _wait_gone(lambda: container.read_item("brief", "p"))
    assert container.read_item("stays", "p")["id"] == "stays"
    assert [c["id"] for c in container.query_items_change_feed(start_time="Beginning")] == ["stays"]


def test_item_ttl_ignored_when_container_ttl_off(database: DatabaseProxy) -> None:
    container = database.create_container(_name("nottl"), PartitionKey("/pk"))
    container.create_item({"id": "kept", "pk": "p", "ttl": 1})
    time.sleep(1.5)  # nothing to poll for: the point is that the item is still there after its ttl
    assert container.read_item("kept", "p")["id"] == "kept"


def test_invalid_ttls_are_400(database: DatabaseProxy) -> None:
    with pytest.raises(exceptions.CosmosHttpResponseError) as err:
        database.create_container(_name("bad"), PartitionKey("/pk"), default_ttl=0)
    assert err.value.status_code == 400
    container = database.create_container(_name("ttl"), PartitionKey("/pk"), default_ttl=-1)
    for ttl in (0, -5, "10", 1.5):
        with pytest.raises(exceptions.CosmosHttpResponseError) as err:
            container.create_item({"id": "x", "pk": "p", "ttl": ttl})
        assert err.value.status_code == 400


def test_replace_container_changes_default_ttl(database: DatabaseProxy) -> None:
    container = database.create_container(_name("ttl"), PartitionKey("/pk"))
    container.create_item({"id": "old", "pk": "p"})
    database.replace_container(container, PartitionKey("/pk"), default_ttl=1)
    _wait_gone(lambda: container.read_item("old", "p"))
