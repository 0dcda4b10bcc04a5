"""One broker subprocess for the Service Bus contract tests; each test uses its own entities."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from azure.servicebus import ServiceBusClient

from tests.contract.servicebus.topology import CONFIG
from tests.support.servicebus import Broker, run_broker


@pytest.fixture(scope="package")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    """The broker, started once for the package."""
    data_dir: Path = tmp_path_factory.mktemp("servicebus")
    with run_broker(data_dir, CONFIG) as running:
        yield running
        assert running.process.proc is not None and running.process.proc.poll() is None, \
            f"broker died:\n{running.process.log_tail()}"


@pytest.fixture()
def client(broker: Broker) -> Iterator[ServiceBusClient]:
    """A sync SDK client connected to the broker."""
    with ServiceBusClient.from_connection_string(broker.connection_string) as sb:
        yield sb
