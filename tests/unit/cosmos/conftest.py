"""Core fixtures: the account over the in-memory store fake and a fake clock, and a container in it."""
from __future__ import annotations

import pytest

from devstack.cosmos.core.account import Account
from devstack.cosmos.core.records import ContainerRecord
from tests.unit.cosmos.fakes import FakeClock, InMemoryStore


@pytest.fixture()
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture()
def account(clock: FakeClock) -> Account:
    return Account(InMemoryStore(), clock, cursor_ttl=60)


@pytest.fixture()
def container(account: Account) -> ContainerRecord:
    account.catalog.create_database({"id": "db"})
    return account.catalog.create_container("db", {"id": "c", "partitionKey": {"paths": ["/pk"], "kind": "Hash"}})


def make_container(account: Account, container_id: str, **properties: object) -> ContainerRecord:
    """A container with extra properties (e.g. defaultTtl) in database ``db``."""
    body = {"id": container_id, "partitionKey": {"paths": ["/pk"], "kind": "Hash"}, **properties}
    return account.catalog.create_container("db", body)
