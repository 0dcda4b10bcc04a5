"""Dead-letter routes: Remediation's records and their redrive, the broker's dead-letter queues, Event Grid's dead
letters (docs/dashboard.md "Dead letters"). Every answer is JSON, errors included (``{"error", "message"}``)."""
from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from aiohttp import web
from azure.core.exceptions import AzureError, HttpResponseError, ResourceNotFoundError
from azure.cosmos.exceptions import CosmosAccessConditionFailedError

from devstack.dashboard.core.deadletters import dead_lettered_entities, event_rows, record_rows
from devstack.dashboard.dlq_desk import DeadLetterDesk
from devstack.dashboard.http.emulators import (
    EmulatorError,
    EventGridSubscription,
    eventgrid_dead_letters,
    servicebus_depths,
)
from devstack.dlq.topology import UnknownEntity

log = logging.getLogger(__name__)

T = TypeVar("T")
MAX_BODY = 4096        # a redrive request is {"etag": "..."}
MAX_RECORD_ID = 255    # Cosmos DB's limit on an item id
FLAGS = {"1": True, "true": True, "0": False, "false": False, "": False}


class DeadLetterRoutes:
    """``/api/deadletters`` (+ ``/{recordId}/redrive``), ``/api/deadletters/broker``, ``/api/eventgrid/deadletters``."""

    def __init__(self, desk: DeadLetterDesk | None, off_reason: str, servicebus_admin_url: str | None,
                 eventgrid_url: str | None, eventgrid_subscriptions: tuple[EventGridSubscription, ...]) -> None:
        self.desk, self.off_reason = desk, off_reason
        self.admin_url = servicebus_admin_url
        self.eventgrid_url, self.eventgrid_subscriptions = eventgrid_url, eventgrid_subscriptions

    def install(self, app: web.Application) -> None:
        """Add the routes to ``app``."""
        app.router.add_get("/api/deadletters", self.records)
        app.router.add_get("/api/deadletters/broker", self.broker)
        app.router.add_post("/api/deadletters/{record_id}/redrive", self.redrive)
        app.router.add_get("/api/eventgrid/deadletters", self.eventgrid)

    async def records(self, request: web.Request) -> web.Response:
        """What `dlq list [--operator]` lists, newest first (``?operator=1``: only those flagged for an operator)."""
        if self.desk is None:
            return web.json_response({"enabled": False, "reason": self.off_reason})
        operator = FLAGS.get(request.query.get("operator", "").lower())
        if operator is None:
            return error(400, "BadRequest", "operator must be 1 or 0")
        try:
            records = await _blocking(self.desk.records, operator)
        except AzureError as exc:
            return _upstream(exc, "Cosmos DB")
        return web.json_response({"enabled": True, "listedAt": time.time(), "total": len(records),
                                  "records": record_rows(records)})

    async def redrive(self, request: web.Request) -> web.Response:
        """``POST {"etag": "<the record's _etag as listed>"}``: `dlq redrive <recordId>`, conditional on that ETag."""
        if self.desk is None:
            return error(503, "DeadLettersOff", f"dead letters are off: {self.off_reason}")
        record_id = request.match_info["record_id"]
        if not _valid_id(record_id):
            return error(400, "BadRequest", f"not a record id: at most {MAX_RECORD_ID} characters, none of "
                                            "/ \\ ? # or control characters, not . or ..")
        etag = await _etag_of(request)
        if isinstance(etag, web.Response):
            return etag
        try:
            done = await _blocking(self.desk.redrive, record_id, etag)
        except ResourceNotFoundError:
            return error(404, "NotFound", f"no dead-letter record {record_id!r}")
        except CosmosAccessConditionFailedError:
            return error(412, "PreconditionFailed",
                         f"record {record_id} changed since this page listed it: it was redriven (by this page or "
                         "another operator) or updated meanwhile, so it was not sent again. Refresh the list to see "
                         "its redrive count, then redrive it again if you mean to.")
        except UnknownEntity as exc:
            return error(422, "UnknownEntity", f"record {record_id} cannot be redriven: {exc}")
        except ValueError as exc:  # the SDK refusing what the record holds (e.g. a session id over 128 characters)
            return error(422, "InvalidRecord", f"record {record_id} cannot be redriven: {_first_line(exc)}")
        except HttpResponseError as exc:
            if exc.status_code in (401, 403) or not 400 <= (exc.status_code or 0) < 500:
                return _upstream(exc, "Cosmos DB or Service Bus")  # the dashboard's own settings or the service
            return error(400, "BadRequest", f"Cosmos DB refused the request: {_first_line(exc)}")
        except AzureError as exc:
            return _upstream(exc, "Cosmos DB or Service Bus")
        except Exception as exc:  # a bug of ours: logged whole, answered in one line
            log.exception("redrive of %s failed", record_id)
            return error(500, "InternalError", f"redrive failed: {type(exc).__name__}: {_first_line(exc)}")
        log.info("redrove %s to %s %s as %s", record_id, done.target.kind, done.target.entity, done.message_id)
        return web.json_response({"recordId": record_id, "messageId": done.message_id,
                                  "target": {"kind": done.target.kind, "entity": done.target.entity}})

    async def broker(self, _: web.Request) -> web.Response:
        """Dead-letter queue depths from the broker's admin endpoint, and the messages in the non-empty ones,
        peeked with `dlq list --broker`'s code (all queues when the depths are unknown)."""
        found: dict[str, Any] = {"counts": None, "messages": None}
        entities: set[str] | None = None
        if self.admin_url:
            try:
                found["counts"] = dead_lettered_entities(await servicebus_depths(self.admin_url))
                entities = set(found["counts"])
            except EmulatorError as exc:
                found["countsError"] = str(exc)
        if self.desk is None:
            found["messagesOff"] = self.off_reason
        elif entities != set():  # nothing dead-lettered: no AMQP connection to open
            try:
                found["messages"] = await _blocking(self.desk.in_broker, entities)
            except AzureError as exc:
                found["messagesError"] = _first_line(exc)
        else:
            found["messages"] = []
        return web.json_response(found, dumps=_dumps)

    async def eventgrid(self, _: web.Request) -> web.Response:
        """Each configured subscription's dead-lettered events (count, newest first)."""
        if not self.eventgrid_url or not self.eventgrid_subscriptions:
            return web.json_response({"enabled": False,
                                      "reason": "the dashboard was started without --eventgrid-url and "
                                                "--eventgrid-config (devstack up passes them)"})
        listed = []
        for sub in self.eventgrid_subscriptions:
            entry: dict[str, Any] = {"topic": sub.topic, "subscription": sub.subscription}
            try:
                letters = await eventgrid_dead_letters(self.eventgrid_url, sub)
                entry |= {"count": len(letters), "events": event_rows(letters)}
            except EmulatorError as exc:
                entry["error"] = str(exc)
            listed.append(entry)
        return web.json_response({"enabled": True, "subscriptions": listed})


def error(status: int, code: str, message: str) -> web.Response:
    """A JSON error answer."""
    return web.json_response({"error": code, "message": message}, status=status)


async def _etag_of(request: web.Request) -> str | web.Response:
    if request.content_type != "application/json":
        return error(415, "UnsupportedMediaType", 'send Content-Type: application/json and {"etag": "..."}')
    if (request.content_length or 0) > MAX_BODY:
        return error(413, "TooLarge", f"a redrive request has at most {MAX_BODY} bytes")
    body = b""
    while len(body) <= MAX_BODY and (chunk := await request.content.read(MAX_BODY + 1 - len(body))):
        body += chunk
    if len(body) > MAX_BODY:
        return error(413, "TooLarge", f"a redrive request has at most {MAX_BODY} bytes")
    try:
        etag = json.loads(body).get("etag")
    except (ValueError, AttributeError):
        etag = None
    if not isinstance(etag, str) or not etag or len(etag) > 200:
        return error(400, "BadRequest", 'the body must be {"etag": "<the record\'s _etag as listed>"}')
    return etag


async def _blocking(call: Callable[..., T], *args: Any) -> T:
    """Run a blocking SDK call on a worker thread, keeping the dashboard's loop free."""
    return await asyncio.to_thread(call, *args)


def _valid_id(record_id: str) -> bool:
    # Cosmos DB item ids: at most 255 characters, without / \ ? # (which would change the request's path).
    return (0 < len(record_id) <= MAX_RECORD_ID and record_id not in (".", "..") and record_id.strip() != ""
            and not any(ch in "/\\?#" or ord(ch) < 32 or ord(ch) == 127 for ch in record_id))


def _upstream(exc: Exception, service: str) -> web.Response:
    log.warning("%s failed: %s", service, _first_line(exc))
    return error(502, "UpstreamError", f"{service} failed: {_first_line(exc)}")


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _dumps(value: Any) -> str:
    return json.dumps(value, default=str)  # peeked messages may carry bytes or datetimes
