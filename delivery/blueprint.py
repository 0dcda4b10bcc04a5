"""Delivery's session trigger on `delivery-inbox` and the status read `GET /api/deliveries/{id}`."""
from __future__ import annotations

import azure.functions as func
import azurefunctions.extensions.bindings.servicebus as servicebus

from adapters.bootstrap import dependencies
from adapters.http import to_response
from adapters.triggers import HTTP_AUTH, RELAY_SCHEDULE
from contracts.names import DELIVERY_INBOX_QUEUE
from core import telemetry
from core.http import HttpResult, problem
from core.settings import SERVICE_BUS_CONNECTION
from core.settlement import on_contract, process
from delivery.handlers import delivery_status, handle_inbox_message, relay_owed_effects

bp = func.Blueprint()


@bp.function_name("delivery_on_inbox")
@bp.service_bus_queue_trigger(arg_name="msg", queue_name=DELIVERY_INBOX_QUEUE, connection=SERVICE_BUS_CONNECTION,
                              is_sessions_enabled=True, auto_complete_messages=False)
def delivery_on_inbox(msg: servicebus.ServiceBusReceivedMessage,
                      message_actions: servicebus.ServiceBusMessageActions) -> None:
    """One session = one delivery, so its messages are applied one at a time, in order."""
    deps = dependencies()
    process(msg, message_actions, on_contract(lambda message, received: handle_inbox_message(
        message, received, deps.deliveries, deps.bus, deps.events, deps.clock,
        deps.settings.readiness_deadline_seconds, deps.relay_schedule)), backoff=deps.backoff,
        service=telemetry.DELIVERY, destination=DELIVERY_INBOX_QUEUE)


@bp.function_name("delivery_relay")
@bp.timer_trigger(arg_name="timer", schedule=RELAY_SCHEDULE, run_on_startup=False, use_monitor=False)
def delivery_relay(timer: func.TimerRequest) -> None:
    """Send what saved deliveries still owe once it is due (e.g. announcements held up by an Event Grid outage)."""
    deps = dependencies()  # first: the first call configures tracing, before any span starts
    with telemetry.timer_run(telemetry.DELIVERY, "delivery_relay"):
        relay_owed_effects(deps.deliveries, deps.bus, deps.events, deps.clock, deps.relay_schedule)


@bp.function_name("get_delivery")
@bp.route(route="deliveries/{deliveryId}", methods=[func.HttpMethod.GET], auth_level=HTTP_AUTH)
def get_delivery(req: func.HttpRequest) -> func.HttpResponse:
    """GET /api/deliveries/{deliveryId}: state, reason, package, drone, ETA, history, trace id."""
    deps = dependencies()
    with telemetry.http_request(telemetry.DELIVERY, req, "deliveries/{deliveryId}") as request:
        delivery_id = req.route_params.get("deliveryId", "")
        status = delivery_status(delivery_id, deps.deliveries)
        if status is None:
            return request.respond(to_response(problem(404, "Not Found", f"no delivery {delivery_id}")))
        return request.respond(to_response(HttpResult(200, status)))
