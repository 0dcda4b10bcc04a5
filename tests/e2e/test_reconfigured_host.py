"""Scenarios that need the host run differently: disabled functions, injected transient faults.

Each test restarts the Functions host with extra app settings and puts it back afterwards, so the
rest of the suite runs against the stack as shipped.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

from azure.servicebus import ServiceBusMessage

from contracts.messages import DroneScheduled, PackageReady
from tests.e2e.api import Api, new_delivery
from tests.e2e.checks import dead_letter_records, history_types, wait_released
from tests.support.stack import RunningStack, eventually

PACKAGE_FN, DRONE_FN = "package_on_deliveries", "drone_scheduler_on_deliveries"


@contextmanager
def host_with(stack: RunningStack, **settings: str) -> Iterator[None]:
    """The host with these settings for the duration of the block."""
    stack.restart_host(**settings)
    try:
        yield
    finally:
        stack.restart_host()


def disabled(*functions: str) -> dict[str, str]:
    """`AzureWebJobs.<name>.Disabled` settings, as on Azure."""
    return {f"AzureWebJobs.{name}.Disabled": "true" for name in functions}


def report(stack: RunningStack, message: PackageReady | DroneScheduled) -> None:
    """Send a step's report to the delivery's session, as the step itself would."""
    with stack.servicebus() as client, client.get_queue_sender("delivery-inbox") as sender:
        sender.send_messages(ServiceBusMessage(
            message.model_dump_json(by_alias=True), session_id=message.delivery_id, subject=message.message_type,
            message_id=f"{message.delivery_id}:{message.message_type}", content_type="application/json"))


def package_ready(delivery_id: str) -> PackageReady:
    return PackageReady(delivery_id=delivery_id, package_id=f"pkg-{delivery_id}", occurred_at=dt.datetime.now(dt.UTC))


def drone_scheduled(delivery_id: str) -> DroneScheduled:
    return DroneScheduled(delivery_id=delivery_id, drone_id="drone-test", seconds_to_pickup=0.2,
                          seconds_to_dropoff=0.2, occurred_at=dt.datetime.now(dt.UTC))


def test_join_in_both_orders_and_readiness_timeout(stack: RunningStack, api: Api) -> None:
    # With both steps switched off the test plays them, so it chooses the order of their reports.
    with host_with(stack, **disabled(PACKAGE_FN, DRONE_FN)):
        package_first, drone_first, lonely = new_delivery(), new_delivery(), new_delivery()
        for body in (package_first, drone_first, lonely):
            assert api.post(body).status == 202
            api.wait_for_state(body["deliveryId"], {"Requested"})
        for first, second in ((package_ready, drone_scheduled), (drone_scheduled, package_ready)):
            delivery_id = (package_first if first is package_ready else drone_first)["deliveryId"]
            report(stack, first(delivery_id))
            api.wait_for_state(delivery_id, {"AwaitingReadiness"})
            report(stack, second(delivery_id))
        report(stack, package_ready(lonely["deliveryId"]))  # the drone never reports

        for body, first in ((package_first, "PackageReady"), (drone_first, "DroneScheduled")):
            document = api.ended(body["deliveryId"])
            assert document["state"] == "Shipped"
            types = history_types(document)
            assert types.index(first) < types.index("DroneScheduled" if first == "PackageReady" else "PackageReady")
        timed_out = api.ended(lonely["deliveryId"], timeout=60)
        assert (timed_out["state"], timed_out["reason"]) == ("Failed", "ReadinessTimeout")


def test_a_step_failing_transiently_ends_in_step_failed_and_compensation(stack: RunningStack, api: Api) -> None:
    # A failure that persists: each delivery of the request backs off in-process (scaled down here like every
    # other timing knob: 0.05 s, then 0.1 s), then gives it back; after MaxDeliveryCount the broker dead-letters it.
    with host_with(stack, FaultInjection__TransientFailureStep="package", TransientRetryFirstDelaySeconds="0.05",
                   TransientRetryBudgetSeconds="0.3"):
        body = new_delivery()
        assert api.post(body).status == 202
        document = api.ended(body["deliveryId"], timeout=90)
        assert (document["state"], document["reason"]) == ("Failed", "StepFailed")
        wait_released(stack, body["deliveryId"])  # the drone the other step reserved is given back
        records = eventually(lambda: dead_letter_records(stack, f"{body['deliveryId']}:DeliveryRequested"),
                             lambda rows: any(r["entity"] == "package" for r in rows), 30, "the dead-letter record")
        record = next(r for r in records if r["entity"] == "package")
        assert record["deadLetterReason"] == "MaxDeliveryCountExceeded"
        assert record["action"] == "StepFailedSent"
