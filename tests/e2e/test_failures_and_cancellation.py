"""Business failures, cancellation and bad requests, each compensated as the design says."""
from __future__ import annotations

from tests.e2e.api import Api, new_delivery
from tests.e2e.checks import drone_held_by, history_types, wait_package, wait_released
from tests.support.stack import RunningStack

# ~170 km from the fleet: with FlightTimeScale 0.002 a leg this long takes ~20 s, time enough to act
# while the delivery is Scheduled (far pickup) or InTransit (far drop-off).
FAR = {"latitude": 49.1, "longitude": -122.33}


def test_invalid_request_is_refused_naming_each_field(api: Api) -> None:
    body = new_delivery()
    body["packageInfo"]["size"] = "Huge"
    body["pickupLocation"]["latitude"] = 123
    reply = api.post(body)
    assert reply.status == 400
    assert reply.headers["content-type"].startswith("application/problem+json")
    fields = {error["field"] for error in reply.body["errors"]}
    assert {"packageInfo.size", "pickupLocation.latitude"} <= fields
    assert api.get(body["deliveryId"]).status == 404


def test_package_too_heavy_fails_with_package_rejected_over_no_drone(api: Api) -> None:
    body = new_delivery(weight=40.0, size="Large")  # over Package's limit and over every drone's payload
    assert api.post(body).status == 202
    document = api.ended(body["deliveryId"])
    # Both steps fail; the reason follows DESIGN's precedence PackageRejected > NoDroneAvailable.
    assert (document["state"], document["reason"]) == ("Failed", "PackageRejected")
    assert {"PackageRejected", "DroneSchedulingFailed"} <= set(history_types(document))


def test_no_drone_can_carry_it_fails_and_cancels_the_package(stack: RunningStack, api: Api) -> None:
    body = new_delivery(weight=28.0, size="Large")  # within Package's limit (30 here), above every drone's
    assert api.post(body).status == 202
    document = api.ended(body["deliveryId"])
    assert (document["state"], document["reason"]) == ("Failed", "NoDroneAvailable")
    wait_package(stack, body["packageInfo"]["packageId"], "Cancelled")


def test_cancel_before_pickup_cancels_and_releases_the_drone(stack: RunningStack, api: Api) -> None:
    body = new_delivery()
    body["pickupLocation"] = FAR
    assert api.post(body).status == 202
    api.wait_for_state(body["deliveryId"], {"Scheduled"})
    assert drone_held_by(stack, body["deliveryId"]) != []
    assert api.delete(body["deliveryId"]).status == 202
    document = api.ended(body["deliveryId"])
    assert document["state"] == "Cancelled"
    wait_released(stack, body["deliveryId"])
    wait_package(stack, body["packageInfo"]["packageId"], "Cancelled")


def test_cancel_in_the_air_is_refused_and_recorded(stack: RunningStack, api: Api) -> None:
    body = new_delivery()
    body["dropoffLocation"] = FAR
    assert api.post(body).status == 202
    api.wait_for_state(body["deliveryId"], {"InTransit"})
    assert api.delete(body["deliveryId"]).status == 202
    document = api.ended(body["deliveryId"], timeout=90)
    assert document["state"] == "Shipped"
    assert "CancelDelivery" in history_types(document)
    wait_released(stack, body["deliveryId"])


def test_cancel_of_an_unknown_delivery_is_404(api: Api) -> None:
    assert api.delete("never-submitted-1").status == 404
