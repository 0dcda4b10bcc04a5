"""The Service Bus triggers as the host calls them: settlement by outcome through the message actions."""
from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from adapters import bootstrap
from adapters.memory import ManualClock
from contracts.names import DELIVERY_INBOX_QUEUE
from contracts.reasons import ReasonCode
from core.ports import TransientFault
from core.settings import Settings
from tests.unit.app.support import (
    T0,
    FakeMessageActions,
    FakeReceivedMessage,
    cancel,
    requested,
    sdk_message,
    user_function,
)


@pytest.fixture()
def deps() -> Iterator[bootstrap.Dependencies]:
    installed = bootstrap.in_memory(Settings(readiness_deadline_seconds=60), clock=ManualClock(T0))
    bootstrap.install(installed)
    yield installed
    bootstrap.install(None)


@pytest.mark.parametrize("function", ["package_on_deliveries", "drone_scheduler_on_deliveries", "delivery_on_inbox"])
def test_success_completes_after_the_owed_send(deps: bootstrap.Dependencies, function: str) -> None:
    actions, msg = FakeMessageActions(), sdk_message(requested())
    user_function(function)(msg, actions)
    assert actions.verbs == ["complete"] and actions.calls[0][1] is msg
    assert deps.bus.to(DELIVERY_INBOX_QUEUE), "the report (or timer) went out before completing"  # type: ignore[attr-defined]


@pytest.mark.parametrize("function", ["package_on_deliveries", "drone_scheduler_on_deliveries", "delivery_on_inbox"])
@pytest.mark.parametrize("body", [b"not json", b'{"messageType": "DeliveryRequested"}', b'{"messageType": "Bogus"}'])
def test_invalid_message_is_dead_lettered_at_once(deps: bootstrap.Dependencies, function: str, body: bytes) -> None:
    actions = FakeMessageActions()
    user_function(function)(FakeReceivedMessage(body=body, message_id="m1"), actions)
    [(verb, _, details)] = actions.calls
    assert (verb, details["reason"]) == ("deadletter", ReasonCode.INVALID_MESSAGE) and details["description"]


def test_subject_that_contradicts_the_body_is_invalid(deps: bootstrap.Dependencies) -> None:
    actions, msg = FakeMessageActions(), sdk_message(requested())
    msg.subject = "PackageReady"
    user_function("package_on_deliveries")(msg, actions)
    assert actions.calls[0][2]["reason"] == ReasonCode.INVALID_MESSAGE


@pytest.mark.parametrize("function", ["package_on_deliveries", "drone_scheduler_on_deliveries", "delivery_on_inbox"])
def test_missing_subject_or_schema_version_is_invalid(deps: bootstrap.Dependencies, function: str) -> None:
    no_subject, no_version = sdk_message(requested()), sdk_message(requested())
    no_subject.subject = None
    no_version.body = json.dumps({k: v for k, v in requested().to_json_dict().items() if k != "schemaVersion"}).encode()
    for msg in (no_subject, no_version):
        actions = FakeMessageActions()
        user_function(function)(msg, actions)
        assert [(c[0], c[2]["reason"]) for c in actions.calls] == [("deadletter", ReasonCode.INVALID_MESSAGE)]
    assert deps.bus.sent == []  # type: ignore[attr-defined]


def test_business_failure_reports_then_dead_letters_with_the_reason(deps: bootstrap.Dependencies) -> None:
    actions = FakeMessageActions()
    user_function("package_on_deliveries")(sdk_message(requested(weight=99)), actions)
    assert actions.calls[0][2]["reason"] == ReasonCode.PACKAGE_REJECTED
    assert deps.bus.types_to(DELIVERY_INBOX_QUEUE) == ["PackageRejected"]  # type: ignore[attr-defined]


def test_a_transient_failure_backs_off_inside_the_invocation_and_completes(deps: bootstrap.Dependencies) -> None:
    deps.bus.fail_next = ConnectionError("broker away")  # type: ignore[attr-defined]
    actions = FakeMessageActions()
    user_function("package_on_deliveries")(sdk_message(requested()), actions)
    assert actions.verbs == ["complete"], "no abandon: the delivery count is not spent on a blip"
    [wait] = deps.sleep.calls  # type: ignore[attr-defined]
    assert deps.settings.retry_first_delay_seconds / 2 <= wait <= deps.settings.retry_first_delay_seconds


def test_a_failure_that_outlasts_the_back_off_budget_abandons_and_raises(deps: bootstrap.Dependencies) -> None:
    class BrokerDown:
        def send(self, messages: object) -> None:
            raise ConnectionError("broker away")

    deps.bus = BrokerDown()  # type: ignore[misc,assignment]
    actions = FakeMessageActions()
    with pytest.raises(ConnectionError):
        user_function("package_on_deliveries")(sdk_message(requested()), actions)
    assert actions.verbs == ["abandon"]
    bounds = deps.backoff.delays()
    assert len(deps.sleep.calls) == len(bounds) and sum(bounds) <= deps.settings.retry_budget_seconds  # type: ignore[attr-defined]
    assert all(b / 2 <= wait <= b for wait, b in zip(deps.sleep.calls, bounds, strict=True))  # type: ignore[attr-defined]
    assert bounds[:5] == [0.5, 1.0, 2.0, 4.0, 8.0] and max(bounds) == deps.settings.retry_max_delay_seconds


def test_fault_injection_setting_makes_the_step_transient() -> None:
    settings = Settings.from_env({"FaultInjection__TransientFailureStep": "drone-scheduler"})
    bootstrap.install(bootstrap.in_memory(settings))
    try:
        actions = FakeMessageActions()
        with pytest.raises(TransientFault):
            user_function("drone_scheduler_on_deliveries")(sdk_message(requested()), actions)
        assert actions.verbs == ["abandon"]
        user_function("package_on_deliveries")(sdk_message(requested()), actions)
        assert actions.verbs == ["abandon", "complete"]
    finally:
        bootstrap.install(None)


def test_delivery_trigger_completes_while_event_grid_is_down_and_the_relay_announces(
        deps: bootstrap.Dependencies) -> None:
    actions = FakeMessageActions()
    user_function("delivery_on_inbox")(sdk_message(requested()), actions)
    deps.events.fail_next = ConnectionError("event grid away")  # type: ignore[attr-defined]
    user_function("delivery_on_inbox")(sdk_message(cancel()), actions)
    assert actions.verbs == ["complete", "complete"] and deps.events.published == []  # type: ignore[attr-defined]
    deps.clock.advance(deps.relay_schedule.first_delay)  # type: ignore[attr-defined]
    user_function("delivery_relay")(None)
    assert [e.id for e in deps.events.published] == ["d1:DeliveryCancelled"]  # type: ignore[attr-defined]
