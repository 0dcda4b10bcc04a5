"""Fixtures: one emulator process for the module-independent tests, a fresh container per test."""
from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from azure.cosmos import ContainerProxy, CosmosClient, DatabaseProxy, PartitionKey

from tests.support.cosmos import CosmosEmulator, run_cosmos


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CosmosEmulator]:
    """One emulator for the session (tests isolate themselves by container)."""
    data_dir = tmp_path_factory.mktemp("cosmos")
    with run_cosmos(data_dir, extra_args=["--purge-interval", "0.2"]) as running:
        yield running
    # Bad input must never reach the 500 path: the server logs a traceback whenever it does.
    log = (data_dir / "cosmos.log").read_text(errors="replace")
    assert "Traceback" not in log, log[log.index("Traceback") - 2000:][:6000]


@pytest.fixture(scope="session")
def client(emulator: CosmosEmulator) -> CosmosClient:
    """The real azure-cosmos sync client pointed at the emulator."""
    return CosmosClient(emulator.endpoint, emulator.key)


@pytest.fixture(scope="session")
def database(client: CosmosClient) -> DatabaseProxy:
    """A database shared by the session's tests."""
    return client.create_database_if_not_exists("contract-tests")


@pytest.fixture()
def container(database: DatabaseProxy) -> Iterator[ContainerProxy]:
    """A fresh container partitioned by /pk."""
    created = database.create_container(f"c-{uuid.uuid4().hex[:12]}", PartitionKey("/pk"))
    yield created
    database.delete_container(created.id)
