"""How the devstack host configures the SDK receivers its Service Bus triggers use (no network: a receiver
object is built without connecting)."""
from __future__ import annotations

import pytest

from devstack.functions_host.servicebus.receivers import EntityAddress, SdkReceiverFactory

CONNECTION = ("Endpoint=sb://127.0.0.1:5672;SharedAccessKeyName=RootManageSharedAccessKey;"
              "SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true;")


@pytest.mark.parametrize("address", [EntityAddress(queue="q"), EntityAddress(topic="t", subscription="s"),
                                     EntityAddress(queue="q", dead_letter=True)], ids=str)
def test_a_receive_returns_what_arrived_without_pulling_on(address: EntityAddress) -> None:
    # A trigger with n free slots receives up to n messages; the SDK's default would keep pulling 0.2 s after
    # the first one arrived, holding it back from its function (see SdkReceiverFactory._receiver).
    factory = SdkReceiverFactory(CONNECTION, address, prefetch_count=0)
    receiver = factory._receiver()
    assert receiver._further_pull_receive_timeout == 0.0
    assert receiver._prefetch_count == 0


def test_the_sdk_default_is_what_the_factory_overrides() -> None:
    # If a newer SDK drops the attribute or its default, this says so rather than the bench going quiet.
    from azure.servicebus.aio import ServiceBusClient

    client = ServiceBusClient.from_connection_string(CONNECTION)
    assert client.get_queue_receiver("q")._further_pull_receive_timeout > 0
