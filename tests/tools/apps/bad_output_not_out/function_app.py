"""Rejected: the Cosmos DB output parameter is annotated Document instead of Out[Document]."""
from __future__ import annotations

import azure.functions as func

app = func.FunctionApp()


@app.event_grid_trigger(arg_name="event")
@app.cosmos_db_output(arg_name="doc", connection="CosmosDbConnection",
                      database_name="drone-delivery", container_name="events")
def on_status_event(event: func.EventGridEvent, doc: func.Document) -> None:
    """Record the event as a document."""
    doc.update({"id": event.id})
