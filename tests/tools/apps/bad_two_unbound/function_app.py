"""Rejected: besides the settlement client, `clock` is unbound (only one unbound SDK client is allowed)."""
from __future__ import annotations

import azure.functions as func
import azurefunctions.extensions.bindings.servicebus as servicebus

app = func.FunctionApp()


@app.service_bus_topic_trigger(arg_name="msg", connection="ServiceBusConnection",
                               topic_name="deliveries", subscription_name="package",
                               is_sessions_enabled=True, auto_complete_messages=False)
def on_delivery(msg: servicebus.ServiceBusReceivedMessage,
                actions: servicebus.ServiceBusMessageActions, clock: float) -> None:
    """Complete the message."""
    actions.complete(msg)
