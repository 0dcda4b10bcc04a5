"""The HTTP triggers, called with ``func.HttpRequest`` objects and wired to fakes through the composition root."""
from __future__ import annotations

import json
from typing import Any

import azure.functions as func
import pytest

from adapters import bootstrap
from contracts.names import DELIVERIES_TOPIC, DELIVERY_INBOX_QUEUE
from tests.unit.app.support import FakeMessageActions, post_delivery, sdk_message, user_function

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def body(**overrides: Any) -> dict[str, Any]:
    base = {"ownerId": "owner-1", "pickupLocation": {"latitude": 47.61, "longitude": -122.33},
            "dropoffLocation": {"latitude": 47.62, "longitude": -122.35}, "expedited": False,
            "confirmationRequired": "FingerPrint",
            "packageInfo": {"packageId": "pkg-1", "size": "Small", "weight": 2.5, "tag": "fragile"}}
    return {**base, **overrides}


post = post_delivery


def call(name: str, method: str, delivery_id: str) -> func.HttpResponse:
    request = func.HttpRequest(method, f"http://localhost/api/deliveries/{delivery_id}", body=b"",
                               route_params={"deliveryId": delivery_id})
    return user_function(name)(request)


def problem_fields(response: func.HttpResponse) -> set[str]:
    assert response.mimetype == "application/problem+json"
    return {e["field"] for e in json.loads(response.get_body())["errors"]}


def test_post_accepts_publishes_and_points_at_the_status(deps: bootstrap.Dependencies) -> None:
    response = post(body(deliveryId="d-42"), traceparent=TRACEPARENT)
    assert response.status_code == 202
    assert json.loads(response.get_body()) == {"deliveryId": "d-42", "status": "Accepted"}
    assert response.headers["Location"] == "/api/deliveries/d-42" and int(response.headers["Retry-After"]) > 0
    [sent] = deps.bus.to(DELIVERIES_TOPIC)  # type: ignore[attr-defined]
    assert (sent.subject, sent.session_id, sent.message_id) == ("DeliveryRequested", "d-42", "d-42:DeliveryRequested")
    assert sent.traceparent.split("-")[1] == TRACEPARENT.split("-")[1], "the client's trace continues"
    assert sent.message.package_info.weight == 2.5 and sent.message.confirmation_required == "FingerPrint"


def test_post_without_delivery_id_generates_one(deps: bootstrap.Dependencies) -> None:
    response = post(body())
    delivery_id = json.loads(response.get_body())["deliveryId"]
    assert response.status_code == 202 and len(delivery_id) == 36
    assert deps.bus.to(DELIVERIES_TOPIC)[0].session_id == delivery_id  # type: ignore[attr-defined]


def test_second_post_with_the_same_delivery_id_changes_nothing(deps: bootstrap.Dependencies) -> None:
    post(body(deliveryId="d-1"))
    again = post(body(deliveryId="d-1", ownerId="someone-else"))
    assert again.status_code == 202 and json.loads(again.get_body())["deliveryId"] == "d-1"
    assert deps.bus.send_calls == 1, "published once"  # type: ignore[attr-defined]
    record = deps.requests.get("d-1")
    assert record is not None and record.request.owner_id == "owner-1"


def test_post_whose_publish_failed_is_accepted_and_the_relay_publishes_it(deps: bootstrap.Dependencies) -> None:
    deps.bus.fail_next = ConnectionError("broker away")  # type: ignore[attr-defined]
    response = post(body(deliveryId="d-1"))
    assert response.status_code == 202, "the record is the commit point: accepted means it will be published"
    assert deps.bus.types_to(DELIVERIES_TOPIC) == []  # type: ignore[attr-defined]
    relay = user_function("ingestion_relay")
    relay(None)
    assert deps.bus.types_to(DELIVERIES_TOPIC) == [], "not due yet: the relay leaves the request's own retry a grace"  # type: ignore[attr-defined]
    deps.clock.advance(deps.relay_schedule.first_delay)  # type: ignore[attr-defined]
    relay(None)
    assert deps.bus.types_to(DELIVERIES_TOPIC) == ["DeliveryRequested"]  # type: ignore[attr-defined]
    record = deps.requests.get("d-1")
    assert record is not None and record.published and record.publish_due_at is None
    relay(None)
    assert deps.bus.sent_to(DELIVERIES_TOPIC) == deps.bus.to(DELIVERIES_TOPIC), "published once"  # type: ignore[attr-defined]


def test_post_that_cannot_be_stored_is_a_503(deps: bootstrap.Dependencies) -> None:
    requests = deps.requests

    def broken(record: object) -> object:
        raise ConnectionError("cosmos away")

    requests.add_first = broken  # type: ignore[method-assign]
    response = post(body(deliveryId="d-1"))
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert json.loads(response.get_body())["status"] == 503 and response.mimetype == "application/problem+json"
    assert deps.bus.accepted == []  # type: ignore[attr-defined]


def test_a_repeated_post_after_a_failed_publish_publishes_once(deps: bootstrap.Dependencies) -> None:
    deps.bus.fail_next = ConnectionError("broker away")  # type: ignore[attr-defined]
    post(body(deliveryId="d-1"))
    assert post(body(deliveryId="d-1")).status_code == 202
    assert deps.bus.types_to(DELIVERIES_TOPIC) == ["DeliveryRequested"]  # type: ignore[attr-defined]


@pytest.mark.parametrize("payload,fields", [
    (body(ownerId=""), {"ownerId"}),
    (body(pickupLocation={"latitude": 91, "longitude": 0}), {"pickupLocation.latitude"}),
    (body(dropoffLocation={"latitude": 0, "longitude": -181}), {"dropoffLocation.longitude"}),
    (body(packageInfo={"packageId": "p", "size": "Huge", "weight": "heavy"}),
     {"packageInfo.size", "packageInfo.weight"}),
    (body(confirmationRequired="Retina"), {"confirmationRequired"}),
    (body(deliveryId="has/slash"), {"deliveryId"}),
    (body(unknownField=1), {"unknownField"}),
    ({"ownerId": "o"}, {"pickupLocation", "dropoffLocation", "packageInfo"}),
    ([1, 2], {"(body)"}),
])
def test_invalid_fields_are_each_named_in_a_400(deps: bootstrap.Dependencies, payload: Any, fields: set[str]) -> None:
    response = post(json.dumps(payload).encode())
    assert response.status_code == 400 and problem_fields(response) == fields
    assert deps.bus.accepted == []  # type: ignore[attr-defined]


def test_bad_json_is_a_400(deps: bootstrap.Dependencies) -> None:
    response = post(b'{"ownerId": ')
    assert response.status_code == 400 and response.mimetype == "application/problem+json"
    assert "JSON" in json.loads(response.get_body())["detail"]


def test_body_over_64_kb_is_a_413(deps: bootstrap.Dependencies) -> None:
    response = post(json.dumps(body(deadline="x" * 70_000)).encode())
    assert response.status_code == 413 and response.mimetype == "application/problem+json"


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", ""])
def test_wrong_content_type_is_a_415(deps: bootstrap.Dependencies, content_type: str) -> None:
    assert post(body(), content_type=content_type).status_code == 415


def test_json_with_charset_is_accepted(deps: bootstrap.Dependencies) -> None:
    assert post(body(), content_type="application/json; charset=utf-8").status_code == 202


def test_delete_sends_cancel_to_the_delivery_session(deps: bootstrap.Dependencies) -> None:
    post(body(deliveryId="d-1"))
    response = call("cancel_delivery", "DELETE", "d-1")
    assert response.status_code == 202 and json.loads(response.get_body())["status"] == "CancellationRequested"
    [cancel] = deps.bus.to(DELIVERY_INBOX_QUEUE)  # type: ignore[attr-defined]
    assert (cancel.subject, cancel.session_id, cancel.message_id) == ("CancelDelivery", "d-1", "d-1:CancelDelivery")


def test_delete_unknown_is_404_and_bad_id_is_400(deps: bootstrap.Dependencies) -> None:
    assert call("cancel_delivery", "DELETE", "nope").status_code == 404
    assert call("cancel_delivery", "DELETE", "bad id!").status_code == 400
    assert deps.bus.accepted == []  # type: ignore[attr-defined]


def test_get_is_404_until_the_delivery_exists_then_shows_it(deps: bootstrap.Dependencies) -> None:
    assert call("get_delivery", "GET", "d-1").status_code == 404
    post(body(deliveryId="d-1"))
    published = deps.bus.to(DELIVERIES_TOPIC)[0].message  # type: ignore[attr-defined]
    user_function("delivery_on_inbox")(sdk_message(published), FakeMessageActions())  # the forwarded copy
    response = call("get_delivery", "GET", "d-1")
    assert response.status_code == 200
    status = json.loads(response.get_body())
    assert status["state"] == "Requested" and status["package"]["packageId"] == "pkg-1"
    assert status["history"][0]["messageType"] == "DeliveryRequested"
