"""The devstack emulators the app's SDK-backed adapters are checked against, provisioned from resources/."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cosmos import CosmosEmulator, run_cosmos
from tests.support.eventgrid import EventGrid, run_eventgrid
from tests.support.servicebus import Broker, run_broker
from tests.support.webhook import Webhook, running

RESOURCES = Path(__file__).resolve().parents[3] / "resources"


@pytest.fixture(scope="package")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    """The Service Bus broker with the app's own Config.json."""
    with run_broker(tmp_path_factory.mktemp("app-servicebus"), RESOURCES / "Config.json") as running:
        yield running


@pytest.fixture(scope="package")
def cosmos(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CosmosEmulator]:
    """The Cosmos DB emulator with the app's own cosmos.json."""
    with run_cosmos(tmp_path_factory.mktemp("app-cosmos"), RESOURCES / "cosmos.json") as running:
        yield running


@pytest.fixture(scope="package")
def subscriber() -> Iterator[Webhook]:
    """Stands in for the Functions host's Event Grid webhook."""
    with running(Webhook()) as hook:
        yield hook


@pytest.fixture(scope="package")
def eventgrid(tmp_path_factory: pytest.TempPathFactory, subscriber: Webhook) -> Iterator[EventGrid]:
    """The Event Grid emulator with the app's own eventgrid.json, delivering to ``subscriber``."""
    env = {"FUNCTIONS_PORT": str(subscriber.port)}
    with run_eventgrid(tmp_path_factory.mktemp("app-eventgrid"), RESOURCES / "eventgrid.json", env=env) as running:
        yield running
