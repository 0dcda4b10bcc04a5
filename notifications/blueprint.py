"""Notifications: Event Grid trigger; the notification is written by the Cosmos DB output binding
(a body is all it needs, and if the write fails the host answers Event Grid with an error, so it retries)."""
from __future__ import annotations

import azure.functions as func

from adapters.bootstrap import dependencies
from adapters.triggers import COSMOS_CONNECTION
from contracts.names import NOTIFICATIONS_CONTAINER
from notifications.handlers import notification_for

bp = func.Blueprint()
# Binding properties cannot read the CosmosDatabaseName setting lazily; keep them equal (docs/app.md).
DATABASE_NAME = "drone-delivery"


@bp.function_name("notify_owner")
@bp.event_grid_trigger(arg_name="event")
@bp.cosmos_db_output(arg_name="notification", connection=COSMOS_CONNECTION, database_name=DATABASE_NAME,
                     container_name=NOTIFICATIONS_CONTAINER)
def notify_owner(event: func.EventGridEvent, notification: func.Out[func.Document]) -> None:
    """Record one notification per delivery event (id = event id: a redelivered event overwrites itself)."""
    document = notification_for(event.id, event.event_type, event.get_json(), dependencies().clock)
    if document is not None:
        notification.set(func.Document.from_dict(document.to_json_dict()))
