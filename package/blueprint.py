"""Package's trigger on the `deliveries/package` subscription (thin: parse -> handler -> settle)."""
from __future__ import annotations

import azure.functions as func
import azurefunctions.extensions.bindings.servicebus as servicebus

from adapters.bootstrap import dependencies
from contracts.names import DELIVERIES_TOPIC, PACKAGE_SUBSCRIPTION
from core import telemetry
from core.settings import SERVICE_BUS_CONNECTION
from core.settlement import on_contract, process
from package.handlers import handle_package_message

bp = func.Blueprint()


@bp.function_name("package_on_deliveries")
@bp.service_bus_topic_trigger(arg_name="msg", topic_name=DELIVERIES_TOPIC, subscription_name=PACKAGE_SUBSCRIPTION,
                              connection=SERVICE_BUS_CONNECTION, is_sessions_enabled=False,
                              auto_complete_messages=False)
def package_on_deliveries(msg: servicebus.ServiceBusReceivedMessage,
                          message_actions: servicebus.ServiceBusMessageActions) -> None:
    """DeliveryRequested -> PackageReady/PackageRejected; outcomes close or cancel the package."""
    deps = dependencies()
    s = deps.settings
    process(msg, message_actions, on_contract(lambda message, received: handle_package_message(
        message, received, deps.packages, deps.bus, deps.clock, s.max_package_weight_kg, s.transient_failure_step)),
        backoff=deps.backoff, service=telemetry.PACKAGE, destination=DELIVERIES_TOPIC,
        subscription=PACKAGE_SUBSCRIPTION)
