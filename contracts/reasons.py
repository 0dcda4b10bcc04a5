"""Reason codes: one enum for every failure the saga reports or a dead letter carries (docs/design.md)."""
from __future__ import annotations

from enum import StrEnum


class ReasonCode(StrEnum):
    """Why a delivery failed or a message was dead-lettered."""

    INVALID_MESSAGE = "InvalidMessage"
    PACKAGE_REJECTED = "PackageRejected"
    NO_DRONE_AVAILABLE = "NoDroneAvailable"
    READINESS_TIMEOUT = "ReadinessTimeout"
    CANCELLED = "Cancelled"
    STEP_FAILED = "StepFailed"
    COMPENSATION_FAILED = "CompensationFailed"
    # The broker's own dead-letter reasons (Service Bus docs, "Dead-letter queues": system reasons).
    MAX_DELIVERY_COUNT_EXCEEDED = "MaxDeliveryCountExceeded"
    TTL_EXPIRED = "TTLExpiredException"


# A delivery that failed for several reasons reports the first of these it has
# (docs/design.md "Delivery state machine").
FAILURE_PRECEDENCE: tuple[ReasonCode, ...] = (
    ReasonCode.PACKAGE_REJECTED,
    ReasonCode.NO_DRONE_AVAILABLE,
    ReasonCode.STEP_FAILED,
    ReasonCode.READINESS_TIMEOUT,
)

# Broker reasons that mean "the step never managed to handle the message" (Remediation sends StepFailed).
BROKER_GAVE_UP: frozenset[str] = frozenset({ReasonCode.MAX_DELIVERY_COUNT_EXCEEDED, ReasonCode.TTL_EXPIRED})


def first_by_precedence(reasons: list[ReasonCode]) -> ReasonCode:
    """The reason a failed delivery reports: the highest-precedence one recorded, else ReadinessTimeout."""
    for reason in FAILURE_PRECEDENCE:
        if reason in reasons:
            return reason
    return ReasonCode.READINESS_TIMEOUT
