"""Ingestion's HTTP triggers (thin: request in -> handler -> response out)."""
from __future__ import annotations

import azure.functions as func

from adapters.bootstrap import dependencies
from adapters.http import to_response
from adapters.triggers import HTTP_AUTH, RELAY_SCHEDULE
from contracts.openapi import openapi_document
from core import telemetry
from core.http import HttpResult
from ingestion.handlers import accept_delivery, relay_unpublished, request_cancellation

bp = func.Blueprint()


@bp.function_name("ingest_delivery")
@bp.route(route="deliveries", methods=[func.HttpMethod.POST], auth_level=HTTP_AUTH)
def ingest_delivery(req: func.HttpRequest) -> func.HttpResponse:
    """POST /api/deliveries."""
    deps = dependencies()  # first: the first call configures tracing, before any span starts
    with telemetry.http_request(telemetry.INGESTION, req, "deliveries") as request:
        return request.respond(to_response(accept_delivery(
            req.get_body(), req.headers.get("content-type"), request.traceparent, deps.requests, deps.bus, deps.clock,
            schedule=deps.relay_schedule)))


@bp.function_name("cancel_delivery")
@bp.route(route="deliveries/{deliveryId}", methods=[func.HttpMethod.DELETE], auth_level=HTTP_AUTH)
def cancel_delivery(req: func.HttpRequest) -> func.HttpResponse:
    """DELETE /api/deliveries/{deliveryId}."""
    deps = dependencies()
    with telemetry.http_request(telemetry.INGESTION, req, "deliveries/{deliveryId}") as request:
        return request.respond(to_response(request_cancellation(req.route_params.get("deliveryId", ""), deps.requests,
                                                                deps.bus, deps.clock)))


@bp.function_name("ingestion_relay")
@bp.timer_trigger(arg_name="timer", schedule=RELAY_SCHEDULE, run_on_startup=False, use_monitor=False)
def ingestion_relay(timer: func.TimerRequest) -> None:
    """Publish accepted requests whose DeliveryRequested did not go out (commit, then announce)."""
    deps = dependencies()
    with telemetry.timer_run(telemetry.INGESTION, "ingestion_relay"):
        relay_unpublished(deps.requests, deps.bus, deps.clock, deps.relay_schedule)


@bp.function_name("openapi_document")
@bp.route(route="openapi.json", methods=[func.HttpMethod.GET], auth_level=func.AuthLevel.ANONYMOUS)
def openapi(req: func.HttpRequest) -> func.HttpResponse:
    """GET /api/openapi.json: the API's OpenAPI 3.1 description (anonymous: it holds no data)."""
    with telemetry.http_request(telemetry.INGESTION, req, "openapi.json") as request:
        return request.respond(to_response(HttpResult(200, openapi_document())))
