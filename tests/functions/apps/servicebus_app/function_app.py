"""Sample app for the host's Service Bus trigger and output tests.

Every function records what it saw as a JSON line under the directory in the RECORD_DIR setting;
message bodies tell the settlement functions what to do.
"""
from __future__ import annotations

import json
import os
import threading
import time
from typing import Any

import azure.functions as func
import azurefunctions.extensions.bindings.servicebus as servicebus

app = func.FunctionApp()
_lock = threading.Lock()


def record(kind: str, entry: dict[str, Any]) -> None:
    with _lock, open(os.path.join(os.environ["RECORD_DIR"], f"{kind}.jsonl"), "a", encoding="utf-8") as file:
        file.write(json.dumps(entry) + "\n")


@app.service_bus_queue_trigger(arg_name="msg", queue_name="inbox", connection="ServiceBusConnection")
@app.service_bus_queue_output(arg_name="forward", queue_name="outbox", connection="ServiceBusConnection")
def relay(msg: func.ServiceBusMessage, forward: func.Out[str]) -> None:
    record("inbox", {"body": msg.get_body().decode(), "message_id": msg.message_id, "session_id": msg.session_id,
                     "delivery_count": msg.delivery_count, "properties": msg.application_properties,
                     "enqueued": msg.enqueued_time_utc.isoformat() if msg.enqueued_time_utc else None,
                     "host": os.environ.get("HOST_NAME")})
    forward.set(f"relayed:{msg.get_body().decode()}")


@app.service_bus_queue_trigger(arg_name="msg", queue_name="%FLAKY_QUEUE%", connection="ServiceBusConnection")
def always_fails(msg: func.ServiceBusMessage) -> None:
    record("flaky", {"body": msg.get_body().decode(), "delivery_count": msg.delivery_count})
    raise RuntimeError("failing on purpose")


@app.service_bus_queue_trigger(arg_name="msg", queue_name="flaky/$DeadLetterQueue", connection="ServiceBusConnection")
def on_dead_letter(msg: func.ServiceBusMessage) -> None:
    record("dead", {"body": msg.get_body().decode(), "reason": msg.dead_letter_reason})


@app.service_bus_topic_trigger(arg_name="message", topic_name="orders", subscription_name="settle",
                               connection="ServiceBusConnection", auto_complete_messages=False)
def settle(message: servicebus.ServiceBusReceivedMessage, actions: servicebus.ServiceBusMessageActions) -> None:
    command = str(message)
    record("settle", {"body": command, "delivery_count": message.delivery_count,
                      "type": type(message).__name__})
    if command == "complete":
        actions.complete(message)
    elif command == "deadletter":
        actions.deadletter(message, deadletter_reason="Refused", deadletter_error_description="on purpose")
    elif command == "defer":
        actions.defer(message)
    elif command == "abandon-once":
        actions.abandon(message) if message.delivery_count == 0 else actions.complete(message)
    elif command == "raise-after-complete":
        actions.complete(message)
        raise RuntimeError("raised after settling: the host must not settle again")


@app.service_bus_queue_trigger(arg_name="message", queue_name="sessions", connection="ServiceBusConnection",
                               is_sessions_enabled=True, auto_complete_messages=False)
async def per_session(message: servicebus.ServiceBusReceivedMessage,
                      actions: servicebus.ServiceBusMessageActions) -> None:
    import asyncio

    record("sessions", {"session_id": message.session_id, "body": str(message), "start": time.monotonic()})
    await asyncio.sleep(0.05)
    # Message actions are synchronous (gRPC in the real worker); async functions call them directly.
    actions.set_session_state(message.session_id, str(message).encode())
    actions.complete(message)
    record("sessions-done", {"session_id": message.session_id, "body": str(message), "end": time.monotonic()})


@app.service_bus_queue_trigger(arg_name="msg", queue_name="parallel", connection="ServiceBusConnection")
def parallel(msg: func.ServiceBusMessage) -> None:
    record("parallel", {"event": "start", "at": time.monotonic(), "body": msg.get_body().decode(),
                        "host": os.environ.get("HOST_NAME")})
    time.sleep(float(os.environ.get("PARALLEL_SLEEP", "0.5")))
    record("parallel", {"event": "end", "at": time.monotonic(), "body": msg.get_body().decode()})


@app.service_bus_queue_trigger(arg_name="body", queue_name="short-lock", connection="ServiceBusConnection")
def outlives_its_lock(body: str) -> None:
    record("short-lock", {"event": "start", "body": body})
    time.sleep(float(os.environ.get("SHORT_LOCK_SLEEP", "4")))
    record("short-lock", {"event": "end", "body": body})


@app.service_bus_queue_trigger(arg_name="msg", queue_name="to-missing", connection="ServiceBusConnection")
@app.service_bus_queue_output(arg_name="out", queue_name="no-such-queue", connection="ServiceBusConnection")
def output_fails(msg: func.ServiceBusMessage, out: func.Out[str]) -> None:
    record("to-missing", {"body": msg.get_body().decode(), "delivery_count": msg.delivery_count})
    out.set("goes nowhere")


@app.route(route="send-to-session-queue", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@app.service_bus_queue_output(arg_name="out", queue_name="sessions", connection="ServiceBusConnection")
def send_without_session(req: func.HttpRequest, out: func.Out[str]) -> str:
    out.set(req.get_body().decode())
    return "sent"
