"""One good and one broken function: the good one is still listed, the broken one named."""
from __future__ import annotations

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="health", methods=["GET"])
def health(req: func.HttpRequest) -> func.HttpResponse:
    """Liveness probe."""
    return func.HttpResponse("ok")


@app.event_grid_trigger(arg_name="event")
@app.event_grid_output(arg_name="forward", topic_endpoint_uri="EventGridTopicUri",
                       topic_key_setting="EventGridTopicKey")
def relay(event: func.EventGridEvent, forward: func.Out[func.HttpResponse]) -> None:
    """Forward the event (annotated with the wrong Out type)."""
    forward.set(func.HttpResponse(event.subject))
