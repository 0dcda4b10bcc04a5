"""Sample app for the host's Event Grid, timer and Cosmos DB output tests.

Every function records what it saw as a JSON line under the directory in the RECORD_DIR setting.
"""
from __future__ import annotations

import datetime
import json
import os
from typing import Any

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


def record(kind: str, entry: dict[str, Any]) -> None:
    with open(os.path.join(os.environ["RECORD_DIR"], f"{kind}.jsonl"), "a", encoding="utf-8") as file:
        file.write(json.dumps(entry) + "\n")


@app.event_grid_trigger(arg_name="event")
def on_event(event: func.EventGridEvent) -> None:
    if isinstance(event, func.EventGridEvent):
        entry = {"schema": "EventGrid", "id": event.id, "type": event.event_type, "subject": event.subject,
                 "data": event.get_json()}
    else:  # the library decodes CloudEvents 1.0 payloads into func.CloudEvent
        entry = {"schema": "CloudEvent", "id": event.id, "type": event.type, "subject": event.subject,
                 "data": event.get_json()}
    record("events", entry)
    if entry["subject"] == "fail":
        raise ValueError("subject 'fail' is refused on purpose")


@app.timer_trigger(arg_name="timer", schedule="*/1 * * * * *")
def every_second(timer: func.TimerRequest) -> None:
    record("ticks", {"at": datetime.datetime.now(datetime.UTC).isoformat(), "past_due": timer.past_due})


@app.timer_trigger(arg_name="timer", schedule="%YEARLY_SCHEDULE%", run_on_startup=True)
def at_startup(timer: func.TimerRequest) -> None:
    record("startup", {"next": timer.schedule_status["Next"]})


@app.route(route="publish", methods=["POST"])
@app.event_grid_output(arg_name="outputs", topic_endpoint_uri="EventGridTopicEndpoint",
                       topic_key_setting="EventGridTopicKey")
def publish(req: func.HttpRequest, outputs: func.Out[list[func.EventGridOutputEvent]]) -> str:
    body = req.get_json()
    outputs.set([func.EventGridOutputEvent(id=f"{body['id']}-{n}", data={"n": n}, subject=body["subject"],
                                           event_type="Sample.Published", event_time=None, data_version="1.0")
                 for n in range(body["count"])])
    return "published"


@app.route(route="publish-json", methods=["POST"])
@app.event_grid_output(arg_name="output", topic_endpoint_uri="EventGridTopicEndpoint",
                       topic_key_setting="EventGridTopicKey")
def publish_json(req: func.HttpRequest, output: func.Out[str]) -> str:
    output.set(req.get_body().decode())
    return "published"


@app.route(route="documents", methods=["POST"])
@app.cosmos_db_output(arg_name="doc", database_name="samples", container_name="docs",
                      connection="CosmosDBConnection", create_if_not_exists=True, partition_key="/kind")
def save_documents(req: func.HttpRequest, doc: func.Out[func.DocumentList]) -> str:
    body = req.get_json()
    doc.set(func.DocumentList([func.Document.from_dict(item) for item in body]) if isinstance(body, list)
            else func.Document.from_dict(body))
    return "saved"
