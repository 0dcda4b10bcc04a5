"""Sample app for scale-out tests: which instance answered HTTP, which instance held each session.

Each instance is told its name in the HOST_NAME setting; session invocations are recorded as JSON lines
under RECORD_DIR, and each one takes a while so that one instance cannot serve every session alone.
"""
from __future__ import annotations

import json
import os
import threading
import time

import azure.functions as func

app = func.FunctionApp()
_lock = threading.Lock()


@app.route(route="whoami", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def whoami(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(json.dumps({"host": os.environ.get("HOST_NAME"), "pid": os.getpid()}),
                             mimetype="application/json")


@app.service_bus_queue_trigger(arg_name="msg", queue_name="sessions", connection="ServiceBusConnection",
                               is_sessions_enabled=True)
def per_session(msg: func.ServiceBusMessage) -> None:
    time.sleep(0.3)
    entry = {"session_id": msg.session_id, "body": msg.get_body().decode(), "host": os.environ.get("HOST_NAME")}
    with _lock, open(os.path.join(os.environ["RECORD_DIR"], "sessions.jsonl"), "a", encoding="utf-8") as file:
        file.write(json.dumps(entry) + "\n")
