"""Rejected: `fleet` is a parameter that no binding decorator declares."""
from __future__ import annotations

import azure.functions as func

app = func.FunctionApp()


@app.event_grid_trigger(arg_name="event")
def on_status_event(event: func.EventGridEvent, fleet: str) -> None:
    """Handle one Event Grid event."""
    print(event.id, fleet)
