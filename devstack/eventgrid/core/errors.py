"""Typed errors of the Event Grid core; the HTTP layer maps each to a status code at the edge."""
from __future__ import annotations


class EventGridError(Exception):
    """Base class: every error the core raises on purpose."""


class ConfigError(EventGridError):
    """The topics/subscriptions declaration is invalid (raised at start-up, never per request)."""


class InvalidEvents(EventGridError):
    """A publish request's body is not a valid batch for the topic's input schema (HTTP 400)."""


class PayloadTooLarge(EventGridError):
    """An event or the whole publish request exceeds Event Grid's 1 MB limit (HTTP 413)."""


class Unauthorized(EventGridError):
    """Missing, wrong or expired ``aeg-sas-key`` / ``aeg-sas-token`` (HTTP 401)."""


class TopicNotFound(EventGridError):
    """No topic of that name is declared (HTTP 404)."""
