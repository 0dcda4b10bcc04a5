"""What the dashboard asks the stack's emulators over their own HTTP APIs: Event Grid's ``/health`` and dead letters
(docs/eventgrid.md), the broker's admin endpoint ``/entities`` (docs/servicebus.md "Admin endpoint")."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import aiohttp

TIMEOUT = aiohttp.ClientTimeout(total=5)
MAX_REPLY_BYTES = 16 * 1024 * 1024  # an answer this large is refused rather than held in memory


@dataclass(frozen=True)
class EventGridSubscription:
    """One subscription whose dead letters to show, and the key of its topic (the endpoint is authenticated)."""

    topic: str
    subscription: str
    key: str


class EmulatorError(RuntimeError):
    """An emulator could not be read; the message says why, in one line."""


async def eventgrid_status(url: str, subscriptions: tuple[EventGridSubscription, ...] = ()) -> dict[str, Any]:
    """Event Grid's pending deliveries (``GET /health``) and, with ``subscriptions``, how many events it
    dead-lettered; or the reason it could not be read."""
    try:
        async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
            health = await _get_json(session, url.rstrip("/") + "/health")
            status: dict[str, Any] = {"pending": int(health["pending"])}
            if subscriptions:
                status["deadLettered"] = sum([len(await _dead_letters(session, url, sub)) for sub in subscriptions])
            return status
    except (EmulatorError, KeyError, ValueError, TypeError) as exc:
        return {"error": str(exc) if isinstance(exc, EmulatorError) else f"{type(exc).__name__}: {exc}"}


async def eventgrid_dead_letters(url: str, subscription: EventGridSubscription) -> list[dict[str, Any]]:
    """One subscription's dead-lettered events, in Event Grid's dead-letter shape; raises EmulatorError."""
    async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
        return await _dead_letters(session, url, subscription)


async def servicebus_depths(admin_url: str) -> dict[str, Any]:
    """The broker's entity depths (``GET /entities``); raises EmulatorError."""
    async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
        found = await _get_json(session, admin_url.rstrip("/") + "/entities")
    if not isinstance(found, dict) or not isinstance(found.get("entities"), dict):
        raise EmulatorError(f"{admin_url}/entities answered without an entities object")
    return found


async def _dead_letters(session: aiohttp.ClientSession, url: str,
                        subscription: EventGridSubscription) -> list[dict[str, Any]]:
    found = await _get_json(session, f"{url.rstrip('/')}/topics/{subscription.topic}/subscriptions/"
                                     f"{subscription.subscription}/deadletters", {"aeg-sas-key": subscription.key})
    if not isinstance(found, list):
        raise EmulatorError(f"Event Grid's dead letters of {subscription.topic}/{subscription.subscription} "
                            "are not a JSON array")
    return [letter for letter in found if isinstance(letter, dict)]


async def _get_json(session: aiohttp.ClientSession, url: str, headers: dict[str, str] | None = None) -> Any:
    try:
        async with session.get(url, headers=headers) as reply:
            body = bytearray()
            async for chunk in reply.content.iter_chunked(65536):
                body += chunk
                if len(body) > MAX_REPLY_BYTES:
                    raise EmulatorError(f"{url} answered more than {MAX_REPLY_BYTES} bytes")
            if reply.status != 200:
                raise EmulatorError(f"{url} answered HTTP {reply.status}: {bytes(body[:200]).decode(errors='replace')}")
        return json.loads(body)
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise EmulatorError(f"{type(exc).__name__}: {exc}") from None
    except ValueError as exc:
        raise EmulatorError(f"{url} answered something that is not JSON: {exc}") from None
