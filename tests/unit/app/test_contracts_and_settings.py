"""Contracts, reason codes, trace context and settings: the small rules everything else leans on."""
from __future__ import annotations

import json

import pytest

from contracts.messages import InvalidMessage, parse_message
from contracts.names import message_id
from contracts.reasons import FAILURE_PRECEDENCE, ReasonCode, first_by_precedence
from core.settings import Settings
from core.tracing import child_of, is_valid, new_traceparent, trace_id_of
from tests.unit.app.support import requested


def test_reason_codes_are_exactly_the_designed_ones() -> None:
    assert {r.value for r in ReasonCode} == {
        "InvalidMessage", "PackageRejected", "NoDroneAvailable", "ReadinessTimeout", "Cancelled", "StepFailed",
        "CompensationFailed", "MaxDeliveryCountExceeded", "TTLExpiredException"}


@pytest.mark.parametrize("recorded,expected", [
    ([], ReasonCode.READINESS_TIMEOUT),
    ([ReasonCode.STEP_FAILED, ReasonCode.PACKAGE_REJECTED], ReasonCode.PACKAGE_REJECTED),
    ([ReasonCode.STEP_FAILED, ReasonCode.NO_DRONE_AVAILABLE], ReasonCode.NO_DRONE_AVAILABLE),
    ([ReasonCode.STEP_FAILED], ReasonCode.STEP_FAILED),
])
def test_failure_precedence(recorded: list[ReasonCode], expected: ReasonCode) -> None:
    assert first_by_precedence(recorded) == expected
    assert FAILURE_PRECEDENCE[0] == ReasonCode.PACKAGE_REJECTED


def test_message_round_trips_with_camel_case_envelope() -> None:
    wire = requested().to_json_dict()
    assert {"messageType", "deliveryId", "schemaVersion", "occurredAt"} <= set(wire)
    assert parse_message(json.dumps(wire), "DeliveryRequested") == requested()


def _without(field: str) -> bytes:
    return json.dumps({k: v for k, v in requested().to_json_dict().items() if k != field}).encode()


VALID_BODY = json.dumps(requested().to_json_dict()).encode()


@pytest.mark.parametrize("body,subject", [
    (b"", "DeliveryRequested"), (b"[]", "DeliveryRequested"),
    (b'{"messageType": "DeliveryRequested", "deliveryId": "d1"}', "DeliveryRequested"),
    (json.dumps({**requested().to_json_dict(), "schemaVersion": 2}).encode(), "DeliveryRequested"),
    (json.dumps({**requested().to_json_dict(), "deliveryId": "a:b"}).encode(), "DeliveryRequested"),
    (_without("schemaVersion"), "DeliveryRequested"),   # docs/design.md: every message carries schemaVersion
    (VALID_BODY, None),                                 # ... and its messageType as the subject
    (VALID_BODY, ""),
    (VALID_BODY, "PackageReady"),
])
def test_invalid_bodies_are_refused_with_a_description(body: bytes, subject: str | None) -> None:
    with pytest.raises(InvalidMessage) as error:
        parse_message(body, subject)
    assert str(error.value)


def test_schema_version_defaults_only_when_constructed_in_code() -> None:
    assert requested().schema_version == 1 and requested().to_json_dict()["schemaVersion"] == 1
    assert parse_message(VALID_BODY, "DeliveryRequested") == requested()


def test_message_ids_are_deterministic() -> None:
    assert message_id("d1", "FlightProgress", "PickedUp") == "d1:FlightProgress:PickedUp"
    assert message_id("d1", "PackageReady") == "d1:PackageReady"


def test_trace_context_keeps_the_trace_and_changes_the_span() -> None:
    parent = new_traceparent()
    child = child_of(parent)
    assert is_valid(parent) and is_valid(child)
    assert trace_id_of(child) == trace_id_of(parent) and child != parent
    assert is_valid(child_of("garbage")) and trace_id_of(None) is None
    assert not is_valid("00-" + "0" * 32 + "-00f067aa0ba902b7-01")


def test_settings_defaults_and_overrides() -> None:
    defaults = Settings.from_env({})
    assert (defaults.drone_speed_kmh, defaults.fleet_size, defaults.max_package_weight_kg,
            defaults.flight_time_scale, defaults.transient_failure_step, defaults.cosmos_database) == (
        60.0, 20, 25.0, 1.0, None, "drone-delivery")
    custom = Settings.from_env({"FlightTimeScale": "0.01", "FleetSize": "3", "ReadinessDeadlineSeconds": "5",
                                "FaultInjection__TransientFailureStep": "package", "CosmosDatabaseName": "x"})
    assert (custom.flight_time_scale, custom.fleet_size, custom.readiness_deadline_seconds,
            custom.transient_failure_step, custom.cosmos_database) == (0.01, 3, 5.0, "package", "x")
