"""HTTP, Service Bus (sessions, SDK types, manual settlement), Event Grid and Cosmos DB output bindings."""
from __future__ import annotations

import json

import azure.functions as func
import azurefunctions.extensions.bindings.servicebus as servicebus

bp = func.Blueprint()


@bp.route(route="deliveries", methods=["POST"])
@bp.cosmos_db_output(arg_name="doc", connection="CosmosDbConnection",
                     database_name="drone-delivery", container_name="deliveries")
def accept_delivery(req: func.HttpRequest, doc: func.Out[func.Document]) -> func.HttpResponse:
    """Store the request body and answer 202."""
    doc.set(func.Document.from_json(req.get_body().decode()))
    return func.HttpResponse(status_code=202)


@bp.service_bus_topic_trigger(arg_name="msg", connection="ServiceBusConnection",
                              topic_name="deliveries", subscription_name="package",
                              is_sessions_enabled=True, auto_complete_messages=False)
def on_delivery(msg: servicebus.ServiceBusReceivedMessage,
                actions: servicebus.ServiceBusMessageActions) -> None:
    """Settle each session message explicitly."""
    if not json.loads(str(msg)):
        actions.deadletter(msg, deadletter_reason="empty", deadletter_error_description="no body")
        return
    actions.complete(msg)


@bp.event_grid_trigger(arg_name="event")
@bp.cosmos_db_output(arg_name="out", connection="CosmosDbConnection",
                     database_name="drone-delivery", container_name="events")
def on_status_event(event: func.EventGridEvent, out: func.Out[func.Document]) -> None:
    """Record every Event Grid event as a document."""
    out.set(func.Document.from_dict({"id": event.id, "subject": event.subject}))
