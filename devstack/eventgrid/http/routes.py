"""HTTP routes: publish to a topic, list a subscription's dead letters, health.

The routes own the wire (headers, authentication, body limits, status codes); what a request means is the
core's (``core/service.py``). The publish route answers what ``EventGridPublisherClient`` expects from a basic topic
(https://learn.microsoft.com/rest/api/eventgrid/dataplanepreview/publish-events): 200 with an empty
body once every event is stored; 400/401/404/413 with ``{"error": {"code", "message"}}`` otherwise.
"""
from __future__ import annotations

import logging
from datetime import UTC, datetime

from aiohttp import web

from devstack.eventgrid.core.config import Topic
from devstack.eventgrid.core.errors import EventGridError, InvalidEvents, PayloadTooLarge, TopicNotFound, Unauthorized
from devstack.eventgrid.core.events import MAX_REQUEST_BYTES
from devstack.eventgrid.core.service import EventGridService
from devstack.eventgrid.http.auth import authenticate

log = logging.getLogger(__name__)

# Core error -> (HTTP status, Event Grid error code); mapped only here, at the edge.
_STATUS: dict[type[EventGridError], tuple[int, str]] = {
    InvalidEvents: (400, "BadRequest"),
    Unauthorized: (401, "Unauthorized"),
    TopicNotFound: (404, "NotFound"),
    PayloadTooLarge: (413, "RequestEntityTooLarge"),
}


def error_response(status: int, code: str, message: str) -> web.Response:
    """Event Grid's error body shape."""
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


def events_path(topic_name: str) -> str:
    """The publish path of a topic (what SAS tokens are issued for)."""
    return f"/topics/{topic_name}/api/events"


class Routes:
    """Request handlers bound to the core service."""

    def __init__(self, service: EventGridService) -> None:
        self._service = service

    def install(self, app: web.Application) -> None:
        """Register every route on ``app``."""
        app.router.add_post("/topics/{topic}/api/events", self.publish)
        app.router.add_get("/topics/{topic}/subscriptions/{subscription}/deadletters", self.dead_letters)
        app.router.add_get("/health", self.health)

    async def publish(self, request: web.Request) -> web.Response:
        """Validate, authenticate, fan out and durably store a batch of events."""
        try:
            topic = self._authorized_topic(request)
            if "api-version" not in request.query:
                raise InvalidEvents("the api-version query parameter is required (e.g. ?api-version=2018-01-01)")
            body = await self._read_body(request)
            self._service.publish(topic, body, request.headers.get("Content-Type", ""))
        except EventGridError as exc:
            return self._error(exc, request)
        return web.Response(status=200)

    async def dead_letters(self, request: web.Request) -> web.Response:
        """The subscription's dead-lettered events, in Event Grid's dead-letter shape."""
        try:
            topic = self._authorized_topic(request)
            letters = self._service.dead_letters(topic, request.match_info["subscription"])
        except EventGridError as exc:
            return self._error(exc, request)
        return web.json_response(letters)

    async def health(self, request: web.Request) -> web.Response:
        """Liveness plus how many deliveries are pending."""
        return web.json_response({"status": "ok", "pending": self._service.pending_count()})

    def _authorized_topic(self, request: web.Request) -> Topic:
        topic = self._service.topic(request.match_info["topic"])
        authenticate(request.headers, topic.key, events_path(topic.name), datetime.now(UTC))
        return topic

    @staticmethod
    async def _read_body(request: web.Request) -> bytes:
        if request.content_length is not None and request.content_length > MAX_REQUEST_BYTES:
            raise PayloadTooLarge(f"request body is {request.content_length} bytes; Event Grid accepts "
                                  f"at most {MAX_REQUEST_BYTES} bytes (1 MB) per publish request")
        try:
            return await request.read()
        except web.HTTPRequestEntityTooLarge as exc:
            raise PayloadTooLarge(f"request body exceeds {MAX_REQUEST_BYTES} bytes (1 MB)") from exc

    @staticmethod
    def _error(exc: EventGridError, request: web.Request) -> web.Response:
        status, code = _STATUS.get(type(exc), (400, "BadRequest"))
        log.info("%s %s -> %d: %s", request.method, request.path, status, exc)
        return error_response(status, code, str(exc))

