"""Remediation: one session-less trigger per dead-letter queue (dead-letter queues are not session-aware)."""
from __future__ import annotations

from typing import Any

import azure.functions as func
import azurefunctions.extensions.bindings.servicebus as servicebus

from adapters.bootstrap import dependencies
from contracts.names import (
    DEAD_LETTER_SUFFIX,
    DELIVERIES_TOPIC,
    DELIVERY_INBOX_QUEUE,
    DELIVERY_SUBSCRIPTION,
    DRONE_SCHEDULER_SUBSCRIPTION,
    PACKAGE_SUBSCRIPTION,
)
from core import telemetry
from core.settings import SERVICE_BUS_CONNECTION
from core.settlement import process
from remediation.handlers import handle_dead_letter

bp = func.Blueprint()


def _remediate(msg: Any, actions: Any, entity: str) -> None:
    deps = dependencies()
    # The span names the dead-letter queue it reads: `delivery-inbox/$DeadLetterQueue`, or `deliveries` and the
    # subscription's `<name>/$DeadLetterQueue` (Service Bus entity paths).
    inbox = entity == DELIVERY_INBOX_QUEUE
    destination = f"{entity}/{DEAD_LETTER_SUFFIX}" if inbox else DELIVERIES_TOPIC
    subscription = None if inbox else f"{entity}/{DEAD_LETTER_SUFFIX}"
    process(msg, actions, lambda received: handle_dead_letter(
        received, entity, deps.deadletters, deps.bus, deps.clock, deps.attempts, deps.backoff),
        service=telemetry.REMEDIATION, destination=destination, subscription=subscription)


@bp.function_name("remediate_package_dead_letters")
@bp.service_bus_topic_trigger(arg_name="msg", topic_name=DELIVERIES_TOPIC,
                              subscription_name=f"{PACKAGE_SUBSCRIPTION}/{DEAD_LETTER_SUFFIX}",
                              connection=SERVICE_BUS_CONNECTION, is_sessions_enabled=False,
                              auto_complete_messages=False)
def remediate_package_dead_letters(msg: servicebus.ServiceBusReceivedMessage,
                                   message_actions: servicebus.ServiceBusMessageActions) -> None:
    """deliveries/Subscriptions/package/$DeadLetterQueue."""
    _remediate(msg, message_actions, PACKAGE_SUBSCRIPTION)


@bp.function_name("remediate_drone_scheduler_dead_letters")
@bp.service_bus_topic_trigger(arg_name="msg", topic_name=DELIVERIES_TOPIC,
                              subscription_name=f"{DRONE_SCHEDULER_SUBSCRIPTION}/{DEAD_LETTER_SUFFIX}",
                              connection=SERVICE_BUS_CONNECTION, is_sessions_enabled=False,
                              auto_complete_messages=False)
def remediate_drone_scheduler_dead_letters(msg: servicebus.ServiceBusReceivedMessage,
                                           message_actions: servicebus.ServiceBusMessageActions) -> None:
    """deliveries/Subscriptions/drone-scheduler/$DeadLetterQueue."""
    _remediate(msg, message_actions, DRONE_SCHEDULER_SUBSCRIPTION)


@bp.function_name("remediate_delivery_subscription_dead_letters")
@bp.service_bus_topic_trigger(arg_name="msg", topic_name=DELIVERIES_TOPIC,
                              subscription_name=f"{DELIVERY_SUBSCRIPTION}/{DEAD_LETTER_SUFFIX}",
                              connection=SERVICE_BUS_CONNECTION, is_sessions_enabled=False,
                              auto_complete_messages=False)
def remediate_delivery_subscription_dead_letters(msg: servicebus.ServiceBusReceivedMessage,
                                                 message_actions: servicebus.ServiceBusMessageActions) -> None:
    """deliveries/Subscriptions/delivery/$DeadLetterQueue (messages the forward to delivery-inbox could not place)."""
    _remediate(msg, message_actions, DELIVERY_SUBSCRIPTION)


@bp.function_name("remediate_inbox_dead_letters")
@bp.service_bus_queue_trigger(arg_name="msg", queue_name=f"{DELIVERY_INBOX_QUEUE}/{DEAD_LETTER_SUFFIX}",
                              connection=SERVICE_BUS_CONNECTION, is_sessions_enabled=False,
                              auto_complete_messages=False)
def remediate_inbox_dead_letters(msg: servicebus.ServiceBusReceivedMessage,
                                 message_actions: servicebus.ServiceBusMessageActions) -> None:
    """delivery-inbox/$DeadLetterQueue."""
    _remediate(msg, message_actions, DELIVERY_INBOX_QUEUE)
