"""The emulator as a process: durability across kill -9, provisioning, clean shutdown, key option, aio SDK."""
from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path

import pytest
from azure.cosmos import CosmosClient, PartitionKey, exceptions
from azure.cosmos.aio import CosmosClient as AsyncCosmosClient

from tests.support.cosmos import run_cosmos
from tests.support.processes import REPO_ROOT

DECLARATION = {"databases": [{"id": "drone-delivery", "containers": [
    {"id": "drones", "partitionKey": "/fleetId", "defaultTtl": None},
    {"id": "deliveries", "partitionKey": "/id"},
    {"id": "notifications", "partitionKey": "/ownerId", "defaultTtl": 3600},
]}]}


def test_acknowledged_writes_survive_kill_9(tmp_path: Path) -> None:
    with run_cosmos(tmp_path / "data") as emulator:
        container = CosmosClient(emulator.endpoint, emulator.key).create_database("durable").create_container(
            "items", PartitionKey("/pk"))
        acknowledged: dict[str, int] = {}
        stop = threading.Event()

        def write() -> None:
            n = 0
            while not stop.is_set():
                item_id = f"i{n % 40}"
                try:
                    container.upsert_item({"id": item_id, "pk": f"p{n % 4}", "v": n})
                except Exception:  # the server died under us: this write was not acknowledged
                    return
                acknowledged[item_id] = n
                n += 1

        writer = threading.Thread(target=write)
        writer.start()
        deadline = time.monotonic() + 10
        while len(acknowledged) < 40 and time.monotonic() < deadline:
            time.sleep(0.01)
        emulator.process.kill()  # SIGKILL mid-stream: no flush, no cleanup
        stop.set()
        writer.join(60)
        assert not writer.is_alive()
        emulator.process.start()
        reopened = CosmosClient(emulator.endpoint, emulator.key).get_database_client("durable") \
            .get_container_client("items")
        stored = {item["id"]: item["v"] for item in reopened.query_items("SELECT * FROM c",
                                                                         enable_cross_partition_query=True)}
        assert len(acknowledged) == 40
        for item_id, value in acknowledged.items():
            # The one write in flight at the kill may or may not have landed; nothing acknowledged is lost.
            assert stored[item_id] >= value, item_id


def test_provision_creates_declared_containers_idempotently(tmp_path: Path) -> None:
    declaration = tmp_path / "cosmos.json"
    declaration.write_text(json.dumps(DECLARATION))
    with run_cosmos(tmp_path / "data", declaration) as emulator:
        database = CosmosClient(emulator.endpoint, emulator.key).get_database_client("drone-delivery")
        drones = database.get_container_client("drones")
        assert drones.read()["partitionKey"]["paths"] == ["/fleetId"] and "defaultTtl" not in drones.read()
        assert database.get_container_client("notifications").read()["defaultTtl"] == 3600
        drones.create_item({"id": "d1", "fleetId": "f1"})
        emulator.restart()  # same declaration again: nothing recreated, data kept
        assert database.get_container_client("drones").read_item("d1", "f1")["id"] == "d1"


def test_provisions_the_declaration_the_app_ships(tmp_path: Path) -> None:
    shipped = REPO_ROOT / "resources" / "cosmos.json"
    declared = json.loads(shipped.read_text())["databases"]
    with run_cosmos(tmp_path / "data", shipped) as emulator:
        client = CosmosClient.from_connection_string(emulator.connection_string)
        for database in declared:
            proxy = client.get_database_client(database["id"])
            for container in database["containers"]:
                paths = container["partitionKey"]
                paths = [paths] if isinstance(paths, str) else paths
                assert proxy.get_container_client(container["id"]).read()["partitionKey"]["paths"] == paths


def test_bad_declaration_fails_start_with_a_clear_message(tmp_path: Path) -> None:
    declaration = tmp_path / "cosmos.json"
    declaration.write_text(json.dumps({"databases": [{"id": "x", "containers": [{"id": "c", "defaultTtl": 0}]}]}))
    with pytest.raises(RuntimeError) as err:
        with run_cosmos(tmp_path / "data", declaration):
            pass
    assert "defaultTtl" in str(err.value)


def test_sigterm_stops_cleanly_with_exit_code_0(tmp_path: Path) -> None:
    with run_cosmos(tmp_path / "data") as emulator:
        assert "listening on http://127.0.0.1:" in emulator.process.log_tail()
        assert emulator.process.stop() == 0


def test_second_emulator_on_the_same_data_dir_refuses_to_start(tmp_path: Path) -> None:
    with run_cosmos(tmp_path / "data"):
        with pytest.raises(RuntimeError) as err:
            with run_cosmos(tmp_path / "data"):
                pass
        assert "another Cosmos emulator is using" in str(err.value)


def test_custom_key(tmp_path: Path) -> None:
    key = "Y3VzdG9tLWRldnN0YWNrLWtleQ=="
    with run_cosmos(tmp_path / "data", extra_args=["--key", key]) as emulator:
        assert emulator.key == key
        CosmosClient(emulator.endpoint, key).create_database("ok")
        with pytest.raises(exceptions.CosmosHttpResponseError) as err:
            CosmosClient(emulator.endpoint, "QzJ5NmJhZGtleQ==")
        assert err.value.status_code == 401


def test_async_client(tmp_path: Path) -> None:
    async def scenario(endpoint: str, key: str) -> None:
        async with AsyncCosmosClient(endpoint, key) as client:
            database = await client.create_database_if_not_exists("aio")
            container = await database.create_container_if_not_exists("c", PartitionKey("/pk"))
            for i in range(5):
                await container.upsert_item({"id": f"i{i}", "pk": f"p{i % 2}", "n": i})
            assert (await container.read_item("i3", "p1"))["n"] == 3
            found = [i async for i in container.query_items("SELECT VALUE c.n FROM c WHERE c.n > @m",
                                                            parameters=[{"name": "@m", "value": 1}])]
            assert sorted(found) == [2, 3, 4]
            count = [c async for c in container.query_items("SELECT VALUE COUNT(1) FROM c")]
            assert count == [5]
            patched = await container.patch_item("i0", "p0", [{"op": "incr", "path": "/n", "value": 10}])
            assert patched["n"] == 10
            await container.delete_item("i0", "p0")
            with pytest.raises(exceptions.CosmosResourceNotFoundError):
                await container.read_item("i0", "p0")
            changes = [c["id"] async for c in container.query_items_change_feed(start_time="Beginning")]
            assert sorted(changes) == ["i1", "i2", "i3", "i4"]

    with run_cosmos(tmp_path / "data") as emulator:
        asyncio.run(scenario(emulator.endpoint, emulator.key))
