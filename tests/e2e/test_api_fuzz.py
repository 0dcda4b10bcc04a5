"""The HTTP API fuzzed from its own OpenAPI 3.1 document (contracts/openapi.py) with schemathesis, against the
whole stack: every answer must be one the document describes (status, content type, headers, body schema)
and never a 5xx. Bounded: a few examples per operation, so the suite stays fast.

The stack is shared by every end-to-end test, so the fuzzer must leave it as it found it: a valid generated
location may be anywhere on Earth (a 20,000 km flight is 40 minutes even at the tests' time scale, holding a
drone the next tests count on), so valid coordinates are pulled into a small area around Seattle — out-of-range
ones are sent as generated — and every delivery the fuzzer got accepted is waited for until it ended and its
drone is free again."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import ignored_auth

from contracts.openapi import openapi_document
from tests.e2e.api import Api
from tests.e2e.checks import wait_released
from tests.support.stack import RunningStack

EXAMPLES_PER_OPERATION = 12
schema = schemathesis.openapi.from_dict(openapi_document())
ACCEPTED: list[str] = []  # deliveries the fuzzer created


def nearby(location: Any) -> None:
    """Map a valid latitude/longitude into ~1 km around Seattle, keeping it valid and still varied."""
    if not isinstance(location, dict):
        return
    lat, lon = location.get("latitude"), location.get("longitude")
    if type(lat) in (int, float) and type(lon) in (int, float) and -90 <= lat <= 90 and -180 <= lon <= 180:
        location["latitude"], location["longitude"] = 47.6 + lat / 9000, -122.3 + lon / 18000


@pytest.fixture(scope="module", autouse=True)
def leave_the_stack_as_found(stack: RunningStack, api: Api) -> Iterator[None]:
    yield
    for delivery_id in ACCEPTED:
        api.ended(delivery_id, timeout=120)
        wait_released(stack, delivery_id)


@schema.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_every_answer_is_one_the_openapi_document_describes(case: schemathesis.Case, stack: RunningStack) -> None:
    if case.method.upper() == "POST" and isinstance(case.body, dict):
        nearby(case.body.get("pickupLocation"))
        nearby(case.body.get("dropoffLocation"))
    # Function keys (auth level FUNCTION) are enforced on Azure, not by the devstack host unless it runs with
    # --enable-auth (docs/app.md "HTTP API"), so "accepts invalid authentication" is not checked here.
    response = case.call_and_validate(base_url=stack.base_url, excluded_checks=[ignored_auth])
    if case.method.upper() == "POST" and response.status_code == 202:
        ACCEPTED.append(response.json()["deliveryId"])
