"""Edge validation of `POST /api/deliveries` (issue 14): what no delivery can be is a 400 problem+json naming
the field, hostile JSON is a 400 and never a 500, and business limits stay the Package service's. Then the
edge's published contract: the OpenAPI 3.1 document at `GET /api/openapi.json` (contracts/openapi.py) is
valid, describes exactly the routes the app registers, and describes what those routes answer."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import azure.functions as func
import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator

from adapters import bootstrap
from contracts.api import DeliveryAccepted, DeliveryStatus, Problem
from contracts.names import DELIVERIES_TOPIC
from contracts.openapi import ROUTE_PREFIX, openapi_document
from tests.unit.app.support import FakeMessageActions, app_functions, post_delivery, sdk_message, user_function

ROOT = Path(__file__).resolve().parents[3]


def body(**overrides: Any) -> dict[str, Any]:
    base = {"ownerId": "owner-1", "pickupLocation": {"latitude": 47.61, "longitude": -122.33},
            "dropoffLocation": {"latitude": 47.62, "longitude": -122.35},
            "packageInfo": {"packageId": "pkg-1", "size": "Small", "weight": 2.5}}
    return {**base, **overrides}


def package(**overrides: Any) -> dict[str, Any]:
    return {"packageId": "pkg-1", "size": "Small", "weight": 2.5, **overrides}


post = post_delivery


def problem_of(response: func.HttpResponse) -> dict[str, Any]:
    assert response.status_code == 400, response.get_body()[:300]
    assert response.mimetype == "application/problem+json"
    document = json.loads(response.get_body())
    assert document["status"] == 400 and document["title"] == "Bad Request"
    return document


@pytest.mark.parametrize("payload,field", [
    (body(packageInfo=package(weight=-1)), "packageInfo.weight"),
    (body(packageInfo=package(weight=0)), "packageInfo.weight"),
    (body(packageInfo=package(weight=-0.0)), "packageInfo.weight"),
    (body(pickupLocation={"latitude": -90.5, "longitude": 0}), "pickupLocation.latitude"),
    (body(dropoffLocation={"latitude": 90.0001, "longitude": 0}), "dropoffLocation.latitude"),
    (body(pickupLocation={"latitude": 0, "longitude": 180.5}), "pickupLocation.longitude"),
    (body(dropoffLocation={"latitude": 0, "longitude": -180.01}), "dropoffLocation.longitude"),
    (body(deliveryId=""), "deliveryId"),
    (body(ownerId=""), "ownerId"),
    (body(ownerId="   "), "ownerId"),
    (body(packageInfo=package(packageId="")), "packageInfo.packageId"),
    # Strict at the edge, as the OpenAPI document says: a JSON number or boolean, not something coercible.
    (body(packageInfo=package(weight="2.5")), "packageInfo.weight"),
    (body(packageInfo=package(weight=True)), "packageInfo.weight"),
    (body(pickupLocation={"latitude": "47.6", "longitude": 0}), "pickupLocation.latitude"),
    (body(expedited=0), "expedited"),
    (body(expedited="true"), "expedited"),
])
def test_what_no_delivery_can_be_is_a_400_naming_the_field(deps: bootstrap.Dependencies, payload: dict[str, Any],
                                                           field: str) -> None:
    document = problem_of(post(json.dumps(payload).encode()))
    assert [e["field"] for e in document["errors"]] == [field]
    assert deps.bus.accepted == [] and deps.requests.get("pkg-1") is None  # type: ignore[attr-defined]


@pytest.mark.parametrize("raw,field", [
    # Non-finite numbers (Python's json accepts these literals): never a weight or a coordinate.
    (b'{"ownerId":"o","pickupLocation":{"latitude":NaN,"longitude":0},"dropoffLocation":{"latitude":0,'
     b'"longitude":0},"packageInfo":{"packageId":"p","size":"Small","weight":1}}', "pickupLocation.latitude"),
    (b'{"ownerId":"o","pickupLocation":{"latitude":0,"longitude":0},"dropoffLocation":{"latitude":0,'
     b'"longitude":Infinity},"packageInfo":{"packageId":"p","size":"Small","weight":1}}', "dropoffLocation.longitude"),
    (json.dumps(body(packageInfo=package(weight=float("inf")))).encode(), "packageInfo.weight"),
    # 4,000 digits parse as an int (under Python's 4,300-digit limit) but are no float: named, not a 500.
    (json.dumps(body(packageInfo=package(weight=10 ** 3999))).encode(), "packageInfo.weight"),
    (json.dumps(body(pickupLocation={"latitude": 10 ** 3999, "longitude": 0})).encode(), "pickupLocation.latitude"),
])
def test_numbers_that_are_no_weight_or_coordinate_are_named(deps: bootstrap.Dependencies, raw: bytes,
                                                            field: str) -> None:
    assert [e["field"] for e in problem_of(post(raw))["errors"]] == [field]


@pytest.mark.parametrize("raw", [
    b"[" * 60_000,                                    # RecursionError in the decoder before this fix
    b'{"ownerId": ' + b"[" * 60_000,
    b'{"ownerId": "o", "tag": ' + b'{"a":' * 9_000 + b"1" + b"}" * 9_000 + b"}",
], ids=["brackets", "brackets-in-a-field", "objects"])
def test_json_nested_too_deeply_is_a_400(deps: bootstrap.Dependencies, raw: bytes) -> None:
    assert len(raw) < 64 * 1024, "under the 413 limit: it reaches the parser"
    assert "nested too deeply" in problem_of(post(raw))["detail"]
    assert deps.bus.accepted == []  # type: ignore[attr-defined]


@pytest.mark.parametrize("raw", [
    b"1" * 5_000,
    json.dumps(body()).encode().replace(b'"weight": 2.5', b'"weight": ' + b"9" * 5_000),
], ids=["bare", "as-the-weight"])
def test_an_integer_of_5000_digits_is_a_400(deps: bootstrap.Dependencies, raw: bytes) -> None:
    assert b"9" * 5_000 in raw or raw == b"1" * 5_000
    assert "not valid JSON" in problem_of(post(raw))["detail"]
    assert deps.bus.accepted == []  # type: ignore[attr-defined]


def test_a_weight_over_the_business_limit_is_accepted_and_left_to_package(deps: bootstrap.Dependencies) -> None:
    heavy = deps.settings.max_package_weight_kg * 2
    response = post(json.dumps(body(deliveryId="d-heavy", packageInfo=package(weight=heavy))).encode())
    assert response.status_code == 202, "MaxPackageWeightKg is Package's rule: PackageRejected downstream"
    [sent] = deps.bus.to(DELIVERIES_TOPIC)  # type: ignore[attr-defined]
    assert sent.message.package_info.weight == heavy


def test_the_smallest_positive_weight_and_the_extreme_coordinates_are_accepted(deps: bootstrap.Dependencies) -> None:
    payload = body(deliveryId="d-edge", pickupLocation={"latitude": -90, "longitude": -180},
                   dropoffLocation={"latitude": 90, "longitude": 180}, packageInfo=package(weight=0.001))
    assert post(json.dumps(payload).encode()).status_code == 202


# ---- The published contract: OpenAPI 3.1 ---------------------------------------------------------------

def http_routes() -> dict[tuple[str, str], str]:
    """(method, path) -> auth level of every HTTP trigger the app registers, as the host would route them."""
    prefix = json.loads((ROOT / "host.json").read_text())["extensions"]["http"]["routePrefix"]
    routes = {}
    for function in app_functions().values():
        for trigger in (json.loads(b) for b in function.get_raw_bindings()):  # the binding JSON the host reads
            for method in trigger.get("methods", []) if trigger["type"] == "httpTrigger" else []:
                routes[(method.lower(), f"/{prefix}/{trigger['route']}")] = trigger["authLevel"]
    return routes


def test_the_openapi_document_is_valid_openapi_3_1() -> None:
    document = openapi_document()
    assert document["openapi"].startswith("3.1.")
    errors = [e.message for e in OpenAPIV31SpecValidator(document).iter_errors()]
    assert errors == []


def test_the_openapi_document_describes_exactly_the_registered_routes() -> None:
    routes = http_routes()
    assert "/" + json.loads((ROOT / "host.json").read_text())["extensions"]["http"]["routePrefix"] == ROUTE_PREFIX
    documented = {(method, path): operation for path, item in openapi_document()["paths"].items()
                  for method, operation in item.items() if method != "parameters"}
    assert set(documented) == set(routes)
    for key, operation in documented.items():
        anonymous = routes[key] == "ANONYMOUS"
        assert (operation["security"] == []) == anonymous, f"{key}: security must match auth level {routes[key]}"
        assert operation["operationId"] in app_functions(), "operationId is the function's name"


def test_openapi_json_is_served_anonymously(deps: bootstrap.Dependencies) -> None:
    request = func.HttpRequest("GET", "http://localhost/api/openapi.json", body=b"")
    response = user_function("openapi_document")(request)
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert json.loads(response.get_body()) == json.loads(json.dumps(openapi_document()))
    assert http_routes()[("get", "/api/openapi.json")] == "ANONYMOUS"


def test_the_documented_edge_constraints_are_the_enforced_ones() -> None:
    schemas = openapi_document()["components"]["schemas"]
    assert schemas["RequestedPackage"]["properties"]["weight"]["exclusiveMinimum"] == 0
    location = schemas["RequestedLocation"]["properties"]
    assert (location["latitude"]["minimum"], location["latitude"]["maximum"]) == (-90, 90)
    assert (location["longitude"]["minimum"], location["longitude"]["maximum"]) == (-180, 180)
    assert schemas["DeliveryRequestBody"]["additionalProperties"] is False, "unknown fields are a 400"
    post_responses = openapi_document()["paths"]["/api/deliveries"]["post"]["responses"]
    assert set(post_responses) == {"202", "400", "413", "415", "503"}


def test_what_the_routes_answer_is_what_the_document_describes(deps: bootstrap.Dependencies) -> None:
    accepted = post(json.dumps(body(deliveryId="d-doc")).encode())
    DeliveryAccepted.model_validate_json(accepted.get_body())
    Problem.model_validate_json(post(b"{").get_body())
    Problem.model_validate_json(post(json.dumps(body(ownerId="")).encode()).get_body())
    user_function("delivery_on_inbox")(sdk_message(deps.bus.to(DELIVERIES_TOPIC)[0].message),  # type: ignore[attr-defined]
                                       FakeMessageActions())
    request = func.HttpRequest("GET", "http://localhost/api/deliveries/d-doc", body=b"",
                               route_params={"deliveryId": "d-doc"})
    status = user_function("get_delivery")(request)
    assert status.status_code == 200
    # DeliveryStatus refuses unknown fields: a field the handler adds without documenting it fails here.
    assert DeliveryStatus.model_validate_json(status.get_body()).state == "Requested"
