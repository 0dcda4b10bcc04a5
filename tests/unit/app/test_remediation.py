"""Every row of the remediation decision table (docs/design.md), through the dead-letter triggers."""
from __future__ import annotations

import json

import pytest

from adapters import bootstrap
from adapters.memory import InMemoryContainer
from contracts.messages import DeliveryCancelled, DeliveryFailed, DeliveryShipped, Message
from contracts.names import DELIVERY_INBOX_QUEUE
from contracts.reasons import ReasonCode
from core.ports import Document
from core.retry import NO_RETRY
from core.settlement import Received
from remediation.documents import DeadLetterAction, DeadLetterRecord
from remediation.handlers import MAX_ATTEMPTS, record_id
from remediation.repository import DeadLetterRepository
from tests.unit.app.support import (
    T0,
    FakeMessageActions,
    FakeReceivedMessage,
    package_ready,
    requested,
    sdk_message,
    user_function,
)

TRIGGERS = {"package": "remediate_package_dead_letters",
            "drone-scheduler": "remediate_drone_scheduler_dead_letters",
            "delivery": "remediate_delivery_subscription_dead_letters",
            "delivery-inbox": "remediate_inbox_dead_letters"}


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
@pytest.mark.parametrize("reason", [ReasonCode.PACKAGE_REJECTED, ReasonCode.NO_DRONE_AVAILABLE,
                                    ReasonCode.INVALID_MESSAGE])
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
def test_inbox_dead_letters_are_flagged_never_resent(deps: bootstrap.Dependencies, entity: str,
                                                     message: Message) -> None:
    dead_letter(entity, message, ReasonCode.MAX_DELIVERY_COUNT_EXCEEDED)
    assert deps.bus.accepted == []  # type: ignore[attr-defined]
    record = the_record(deps, entity, f"d1:{message.message_type}")  # type: ignore[attr-defined]
    assert record.action is DeadLetterAction.OPERATOR_REQUIRED and record.requires_operator


def test_same_dead_letter_twice_keeps_one_record_and_one_step_failed(deps: bootstrap.Dependencies) -> None:
    dead_letter("package", requested(), ReasonCode.MAX_DELIVERY_COUNT_EXCEEDED)
    deps.clock.advance(3600)  # type: ignore[attr-defined]  # past the duplicate-detection window: no help from the broker
    dead_letter("package", requested(), ReasonCode.MAX_DELIVERY_COUNT_EXCEEDED)
    assert [m.message_id for m in deps.bus.sent_to(DELIVERY_INBOX_QUEUE)] == ["d1:StepFailed:package"]  # type: ignore[attr-defined]
    [record] = deps.deadletters._container.all()  # type: ignore[attr-defined]
    assert DeadLetterRecord.model_validate(record).recorded_at == T0, "the second handling left the record alone"


@pytest.mark.parametrize("message_id", ["a/b", "a\\b", "what?", "x#1", "100%", "tab\there", "trailing ", "ünï/cødé",
                                        "x" * 128, "/" * 128])
def test_any_message_id_can_be_recorded_and_found(deps: bootstrap.Dependencies, message_id: str) -> None:
    msg = FakeReceivedMessage(body=b"{not json", message_id=message_id, dead_letter_reason="InvalidMessage")
    actions = FakeMessageActions()
    user_function(TRIGGERS["package"])(msg, actions)
    assert actions.verbs == ["complete"]
    [stored] = deps.deadletters._container.all()  # type: ignore[attr-defined]
    assert stored["messageId"] == message_id, "the original MessageId stays queryable"
    assert the_record(deps, "package", message_id).id == stored["id"]


def test_record_ids_stay_readable_and_distinct() -> None:
    def rid(message_id: str) -> str:
        return record_id("package", Received(body=b"", message_id=message_id))
    assert rid("d1:DeliveryRequested") == "package:d1:DeliveryRequested"
    assert rid("poison-0a1b2c:redrive:1") == "package:poison-0a1b2c:redrive:1"
    nasty = ["a/b", "a%2Fb", "a_b", "a\\b", "a?b", "a#b"]
    assert len({rid(m) for m in nasty}) == len(nasty)
    assert all(len(rid(m)) <= 255 for m in ("x" * 128, "/" * 128, "ü" * 128))


class BrokenContainer(InMemoryContainer):
    """A `deadletters` container that refuses every write (a persistent failure the app cannot fix)."""

    def upsert(self, document: Document) -> Document:
        raise RuntimeError("storage refuses this document")


def test_a_dead_letter_that_cannot_be_recorded_is_deferred_after_a_few_attempts(deps: bootstrap.Dependencies) -> None:
    deps.deadletters = DeadLetterRepository(BrokenContainer())  # type: ignore[misc]
    msg = sdk_message(ended(DeliveryFailed), dead_letter_reason="MaxDeliveryCountExceeded")
    actions = FakeMessageActions()
    for _ in range(MAX_ATTEMPTS - 1):
        with pytest.raises(RuntimeError):
            user_function(TRIGGERS["package"])(msg, actions)
    user_function(TRIGGERS["package"])(msg, actions)
    assert actions.verbs == ["abandon"] * (MAX_ATTEMPTS - 1) + ["defer"], "no endless abandon/redeliver loop"
    per_invocation = len(deps.backoff.delays())
    assert len(deps.sleep.calls) == MAX_ATTEMPTS * per_invocation, "each invocation backed off its whole budget"  # type: ignore[attr-defined]
    assert deps.bus.sent == []  # type: ignore[attr-defined]


def test_without_back_off_a_dead_letter_is_deferred_after_a_few_redeliveries(deps: bootstrap.Dependencies) -> None:
    deps.deadletters = DeadLetterRepository(BrokenContainer())  # type: ignore[misc]
    deps.backoff = NO_RETRY  # type: ignore[misc]
    msg = sdk_message(ended(DeliveryFailed), dead_letter_reason="MaxDeliveryCountExceeded")
    actions = FakeMessageActions()
    for _ in range(MAX_ATTEMPTS - 1):
        with pytest.raises(RuntimeError):
            user_function(TRIGGERS["package"])(msg, actions)
    user_function(TRIGGERS["package"])(msg, actions)
    assert actions.verbs == ["abandon"] * (MAX_ATTEMPTS - 1) + ["defer"]


def test_a_transient_failure_is_retried_and_then_recorded(deps: bootstrap.Dependencies) -> None:
    deps.bus.fail_next = ConnectionError("broker away")  # type: ignore[attr-defined]
    msg = sdk_message(requested(), dead_letter_reason="MaxDeliveryCountExceeded")
    actions = FakeMessageActions()
    user_function(TRIGGERS["package"])(msg, actions)
    assert actions.verbs == ["complete"] and len(deps.sleep.calls) == 1  # type: ignore[attr-defined]
    assert the_record(deps, "package", "d1:DeliveryRequested").action is DeadLetterAction.STEP_FAILED_SENT
    assert deps.bus.types_to(DELIVERY_INBOX_QUEUE) == ["StepFailed"]  # type: ignore[attr-defined]


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


def test_the_record_is_written_before_the_step_failed_it_owes(deps: bootstrap.Dependencies) -> None:
    class BrokerDown:
        def send(self, messages: object) -> None:
            raise ConnectionError("broker away")

    working, deps.bus = deps.bus, BrokerDown()  # type: ignore[misc,assignment]
    msg = sdk_message(requested(), dead_letter_reason="MaxDeliveryCountExceeded")
    actions = FakeMessageActions()
    with pytest.raises(ConnectionError):
        user_function(TRIGGERS["package"])(msg, actions)
    record = the_record(deps, "package", "d1:DeliveryRequested")
    assert record.send_pending and actions.verbs == ["abandon"], "recorded first, owing the send"
    deps.bus = working  # type: ignore[misc]
    user_function(TRIGGERS["package"])(msg, actions)  # the redelivery sends what the record owes
    assert actions.verbs == ["abandon", "complete"]
    assert deps.bus.types_to(DELIVERY_INBOX_QUEUE) == ["StepFailed"]  # type: ignore[attr-defined]
    assert not the_record(deps, "package", "d1:DeliveryRequested").send_pending
    user_function(TRIGGERS["package"])(msg, actions)  # handled again: nothing more is sent
    assert deps.bus.sent_to(DELIVERY_INBOX_QUEUE) == deps.bus.to(DELIVERY_INBOX_QUEUE)  # type: ignore[attr-defined]
    assert len(deps.bus.sent_to(DELIVERY_INBOX_QUEUE)) == 1  # type: ignore[attr-defined]
