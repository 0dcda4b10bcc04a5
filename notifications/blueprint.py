"""Notifications: Event Grid trigger; the notification is written by the Cosmos DB output binding
(a body is all it needs, and if the write fails the host answers Event Grid with an error, so it retries)."""
from __future__ import annotations

import azure.functions as func

from adapters.bootstrap import dependencies
from contracts.names import COSMOS_DATABASE, EVENT_GRID_TOPIC, NOTIFICATIONS_CONTAINER
from core import telemetry
from core.settings import COSMOS_CONNECTION
from notifications.handlers import notification_for

bp = func.Blueprint()
# Binding properties cannot read the CosmosDatabaseName setting lazily; keep them equal (docs/app.md).


@bp.function_name("notify_owner")
@bp.event_grid_trigger(arg_name="event")
@bp.cosmos_db_output(arg_name="notification", connection=COSMOS_CONNECTION, database_name=COSMOS_DATABASE,
                     container_name=NOTIFICATIONS_CONTAINER)
def notify_owner(event: func.EventGridEvent, notification: func.Out[func.Document]) -> None:
    """Record one notification per delivery event (id = event id: a redelivered event overwrites itself)."""
    deps = dependencies()  # first: the first call configures tracing, before the span starts
    data = event.get_json()
    fields = data if isinstance(data, dict) else {}
    with telemetry.consuming(telemetry.NOTIFICATIONS, "eventgrid", EVENT_GRID_TOPIC, event.id, fields.get("deliveryId"),
                             fields.get("traceparent")):
        document = notification_for(event.id, event.event_type, data, deps.clock)
        if document is not None:
            notification.set(func.Document.from_dict(document.to_json_dict()))
