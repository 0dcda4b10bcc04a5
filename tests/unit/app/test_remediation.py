"""Every row of DESIGN.md's remediation decision table, through the dead-letter triggers."""
from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from adapters import bootstrap
from adapters.memory import ManualClock
from contracts.documents import DeadLetterAction
from contracts.messages import DeliveryCancelled, DeliveryFailed, DeliveryShipped, Message
from contracts.names import DELIVERY_INBOX_QUEUE
from contracts.reasons import ReasonCode
from remediation.handlers import record_id
from adapters.settlement import Received
from tests.unit.app.support import (
    T0, FakeMessageActions, FakeReceivedMessage, package_ready, requested, sdk_message, user_function,
)

TRIGGERS = {"package": "remediate_package_dead_letters", "drone-scheduler": "remediate_drone_scheduler_dead_letters",
            "delivery": "remediate_delivery_subscription_dead_letters", "delivery-inbox": "remediate_inbox_dead_letters"}


@pytest.fixture()
def deps() -> Iterator[bootstrap.Dependencies]:
    installed = bootstrap.in_memory(clock=ManualClock(T0))
    bootstrap.install(installed)
    yield installed
    bootstrap.install(None)


def dead_letter(entity: str, message: Message | None, reason: str, body: bytes | None = None) -> FakeMessageActions:
    msg = sdk_message(message, dead_letter_reason=reason, dead_letter_error_description="details") if message else \
        FakeReceivedMessage(body=body or b"garbage", message_id="m-garbage", dead_letter_reason=reason)
    actions = FakeMessageActions()
    user_function(TRIGGERS[entity])(msg, actions)
    assert actions.verbs == ["complete"]
    return actions


def the_record(deps: bootstrap.Dependencies, entity: str, message_id: str):  # type: ignore[no-untyped-def]
    record = deps.deadletters.get(record_id(entity, Received(body=b"", message_id=message_id)))
    assert record is not None
    return record


def ended(kind: type) -> Message:
    return kind(delivery_id="d1", occurred_at=T0, owner_id="o", package_id="pkg-d1")


@pytest.mark.parametrize("entity", ["package", "drone-scheduler"])
@pytest.mark.parametrize("reason", [ReasonCode.MAX_DELIVERY_COUNT_EXCEEDED, ReasonCode.TTL_EXPIRED])
def test_broker_gave_up_on_a_request_sends_step_failed(deps: bootstrap.Dependencies, entity: str, reason: str) -> None:
    dead_letter(entity, requested(), reason)
    [sent] = deps.bus.to(DELIVERY_INBOX_QUEUE)  # type: ignore[attr-defined]
    assert (sent.subject, sent.session_id, sent.message_id) == ("StepFailed", "d1", f"d1:StepFailed:{entity}")
    assert sent.message.step == entity and sent.message.dead_letter_reason == reason
    record = the_record(deps, entity, "d1:DeliveryRequested")
    assert (record.action, record.reason_code, record.requires_operator) == (
        DeadLetterAction.STEP_FAILED_SENT, ReasonCode.STEP_FAILED, False)
    assert record.dead_letter_reason == reason and json.loads(record.body)["deliveryId"] == "d1"


@pytest.mark.parametrize("entity", ["package", "drone-scheduler"])
@pytest.mark.parametrize("reason", [ReasonCode.PACKAGE_REJECTED, ReasonCode.NO_DRONE_AVAILABLE, ReasonCode.INVALID_MESSAGE])
def test_business_or_invalid_request_is_only_recorded(deps: bootstrap.Dependencies, entity: str, reason: str) -> None:
    dead_letter(entity, requested(), reason)
    assert deps.bus.accepted == []  # type: ignore[attr-defined]
    record = the_record(deps, entity, "d1:DeliveryRequested")
    assert (record.action, record.reason_code) == (DeadLetterAction.RECORDED, reason)


def test_unreadable_request_is_recorded_as_invalid(deps: bootstrap.Dependencies) -> None:
    dead_letter("package", None, ReasonCode.INVALID_MESSAGE, body=b"{not json")
    record = the_record(deps, "package", "m-garbage")
    assert (record.action, record.reason_code, record.body) == (DeadLetterAction.RECORDED, ReasonCode.INVALID_MESSAGE,
                                                                "{not json")
    assert deps.bus.accepted == []  # type: ignore[attr-defined]


@pytest.mark.parametrize("entity", ["package", "drone-scheduler"])
@pytest.mark.parametrize("kind", [DeliveryShipped, DeliveryFailed, DeliveryCancelled])
@pytest.mark.parametrize("reason", [ReasonCode.MAX_DELIVERY_COUNT_EXCEEDED, "SomethingElse"])
def test_dead_lettered_compensation_is_flagged_never_resent(deps: bootstrap.Dependencies, entity: str, kind: type,
                                                            reason: str) -> None:
    message = ended(kind)
    dead_letter(entity, message, reason)
    assert deps.bus.accepted == []  # type: ignore[attr-defined]
    record = the_record(deps, entity, f"d1:{message.message_type}")  # type: ignore[attr-defined]
    assert (record.action, record.reason_code, record.requires_operator) == (
        DeadLetterAction.OPERATOR_REQUIRED, ReasonCode.COMPENSATION_FAILED, True)


@pytest.mark.parametrize("entity", ["delivery-inbox", "delivery"])
@pytest.mark.parametrize("message", [requested(), package_ready()])
def test_inbox_dead_letters_are_flagged_never_resent(deps: bootstrap.Dependencies, entity: str, message: Message) -> None:
    dead_letter(entity, message, ReasonCode.MAX_DELIVERY_COUNT_EXCEEDED)
    assert deps.bus.accepted == []  # type: ignore[attr-defined]
    record = the_record(deps, entity, f"d1:{message.message_type}")  # type: ignore[attr-defined]
    assert record.action is DeadLetterAction.OPERATOR_REQUIRED and record.requires_operator


def test_same_dead_letter_twice_keeps_one_record_and_one_step_failed(deps: bootstrap.Dependencies) -> None:
    for _ in range(2):
        dead_letter("package", requested(), ReasonCode.MAX_DELIVERY_COUNT_EXCEEDED)
    assert len(deps.bus.to(DELIVERY_INBOX_QUEUE)) == 1  # type: ignore[attr-defined]
    assert len(deps.deadletters._container.all()) == 1  # type: ignore[attr-defined]


def test_record_keeps_what_a_redrive_needs(deps: bootstrap.Dependencies) -> None:
    traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    msg = sdk_message(requested(), traceparent=traceparent, dead_letter_reason="MaxDeliveryCountExceeded")
    user_function(TRIGGERS["package"])(msg, FakeMessageActions())
    record = the_record(deps, "package", "d1:DeliveryRequested")
    assert (record.subject, record.session_id, record.delivery_id) == ("DeliveryRequested", "d1", "d1")
    assert (record.sequence_number, record.delivery_count) == (7, 1), "lets an operator find it in the DLQ"

    assert record.application_properties["traceparent"] == traceparent
    assert record.trace_id == "0af7651916cd43dd8448eb211c80319c"
    sent = deps.bus.to(DELIVERY_INBOX_QUEUE)[0]  # type: ignore[attr-defined]
    assert sent.traceparent.split("-")[1] == "0af7651916cd43dd8448eb211c80319c"
