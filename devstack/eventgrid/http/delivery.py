"""The dispatcher, Event Grid's webhook client: validates endpoints, then delivers queued events with retries.

What is due, what an outcome means and what to store is decided by the core (``core/service.py``); this module
owns the HTTP side: the handshakes, the POSTs, the concurrency and the loops. Delivery follows
"Webhook event delivery" and "Event Grid message delivery and retry"
(https://learn.microsoft.com/azure/event-grid/webhook-event-delivery,
https://learn.microsoft.com/azure/event-grid/delivery-and-retry): one event per POST (Event Grid
schema: a JSON array holding that one event; CloudEvents: the event object in structured mode), the
``aeg-*`` headers, a 30 s answer deadline, and the retry decisions of ``core/retry.py``.

The loops here must outlive anything a webhook or the disk throws at them: an unexpected exception in
one handshake, one attempt or one dispatch pass is logged and counted as a failure, and the loop goes
on after a back-off (never a tight loop), so one bad answer cannot stall a subscription for good.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Coroutine
from datetime import UTC, datetime
from typing import Any

import aiohttp

from devstack.eventgrid.core.config import CLOUD_EVENT_SCHEMA, Subscription, Topic
from devstack.eventgrid.core.events import topic_resource_id
from devstack.eventgrid.core.records import Delivery
from devstack.eventgrid.core.retry import Outcome
from devstack.eventgrid.core.service import DueDelivery, EventGridService

log = logging.getLogger(__name__)

VALIDATION_EVENT_TYPE = "Microsoft.EventGrid.SubscriptionValidationEvent"
REQUEST_ORIGIN = "eventgrid.azure.net"  # what Event Grid sends in WebHook-Request-Origin


def delivery_headers(topic: Topic, sub: Subscription, event_type: str, delivery_count: int,
                     data_version: str) -> dict[str, str]:
    """The headers Event Grid puts on every webhook request."""
    cloud = topic.input_schema == CLOUD_EVENT_SCHEMA
    headers = {
        "Content-Type": "application/cloudevents+json; charset=utf-8" if cloud
        else "application/json; charset=utf-8",
        "aeg-event-type": event_type,
        # Event Grid sends the subscription name upper-cased.
        "aeg-subscription-name": sub.name.upper(),
        "aeg-delivery-count": str(delivery_count),
        # Event Grid schema: the metadata version; CloudEvents: the spec version.
        "aeg-metadata-version": "1.0" if cloud else "1",
    }
    if not cloud:
        headers["aeg-data-version"] = data_version  # not applicable to CloudEvents
    return headers


class Dispatcher:
    """Runs the handshakes and the delivery loop until ``stop``."""

    def __init__(self, service: EventGridService, *, concurrency: int = 16, timeout: float = 30.0) -> None:
        self._service = service
        self._concurrency, self._timeout = concurrency, timeout
        self._inflight: set[int] = set()
        self._wakeup = asyncio.Event()
        self._stopping = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._session: aiohttp.ClientSession | None = None

    def wake(self) -> None:
        """Look for due deliveries now (called after a publish)."""
        self._wakeup.set()

    async def run(self) -> None:
        """Start the handshakes and deliver until stopped."""
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self._timeout))
        for topic, sub in self._service.start():
            self._spawn(self._handshake_loop(topic, sub))
        failures = 0
        try:
            while not self._stopping:
                try:
                    await self._dispatch_due()
                    failures = 0
                except Exception:
                    failures += 1
                    log.exception("dispatch pass failed (%d in a row); retrying after a back-off", failures)
                    await self._sleep(self._service.backoff(failures))  # stop() (or a publish) cuts it short
        finally:
            await self._shutdown()

    async def stop(self) -> None:
        """Stop looping; in-flight attempts are abandoned and stay queued for the next start."""
        self._stopping = True
        self._wakeup.set()

    async def _dispatch_due(self) -> None:
        dispatch = self._service.next_pass(self._concurrency - len(self._inflight), self._inflight)
        for due in dispatch.due:
            self._inflight.add(due.row.id)
            self._spawn(self._attempt(due))
        if not dispatch.due:
            await self._sleep(dispatch.idle_seconds)

    async def _attempt(self, due: DueDelivery) -> None:
        topic, sub, row = due.topic, due.subscription, due.row
        try:
            try:
                outcome = await self._post_event(topic, sub, row)
            except Exception as exc:  # counted as a failed attempt, so the retry schedule applies
                log.exception("delivery of event %s to %s/%s failed unexpectedly", row.event_id, topic.name,
                              sub.name)
                outcome = Outcome(None, f"InternalError: {type(exc).__name__}: {exc}"[:200])
            self._service.settle(due, outcome)
        except Exception:
            # Not even the outcome could be recorded (e.g. a storage error): the row stays pending and
            # due, so hold it back here for a while rather than re-sending it at once, over and over.
            log.exception("could not record the attempt at event %s for %s/%s; retrying later", row.event_id,
                          topic.name, sub.name)
            await asyncio.sleep(self._service.backoff(row.attempts + 1))
        finally:
            self._inflight.discard(row.id)
            self._wakeup.set()

    async def _post_event(self, topic: Topic, sub: Subscription, row: Delivery) -> Outcome:
        cloud = topic.input_schema == CLOUD_EVENT_SCHEMA
        # Subscribers get strict JSON only: no NaN/Infinity (publish refuses them; this guards old rows).
        body = json.dumps(row.event if cloud else [row.event], allow_nan=False)
        headers = delivery_headers(topic, sub, "Notification", row.attempts, row.data_version)
        return await self._post(sub.endpoint_url, body, headers)

    async def _post(self, url: str, body: str, headers: dict[str, str]) -> Outcome:
        assert self._session is not None
        try:
            async with self._session.post(url, data=body.encode(), headers=headers) as response:
                await response.read()
                return Outcome(response.status)
        except TimeoutError:
            return Outcome(None, "TimedOut")
        except aiohttp.ClientConnectionError as exc:
            return Outcome(None, f"ConnectionFailed: {exc}"[:200])
        except aiohttp.ClientError as exc:
            return Outcome(None, f"GenericError: {exc}"[:200])

    async def _handshake_loop(self, topic: Topic, sub: Subscription) -> None:
        """Repeat the handshake with back-off until the endpoint answers it (it may start later)."""
        tries = 0
        while not self._stopping:
            try:
                if await self._handshake_once(topic, sub, tries + 1):
                    return
            except Exception:  # e.g. the store failing: log, back off, try again
                log.exception("handshake pass for subscription %s/%s failed unexpectedly", topic.name, sub.name)
            tries += 1
            await self._sleep(self._service.backoff(tries), wake_on_publish=False)

    async def _handshake_once(self, topic: Topic, sub: Subscription, attempt: int) -> bool:
        """One handshake; on success mark the subscription validated, else expire what waited too long."""
        try:
            ok, detail = await self._handshake(topic, sub)
        except Exception as exc:  # whatever the endpoint's answer does to us is a failed handshake
            log.debug("handshake with %s raised", sub.endpoint_url, exc_info=True)
            ok, detail = False, f"unexpected {type(exc).__name__}: {exc}"[:200]
        if ok:
            self._service.validated(topic, sub)
            self._wakeup.set()
            return True
        if attempt == 1 or attempt % 20 == 0:
            log.warning("subscription %s/%s not validated yet (%s, try %d); events wait for it",
                        topic.name, sub.name, detail, attempt)
        self._service.expire_waiting(topic, sub)
        return False

    async def _handshake(self, topic: Topic, sub: Subscription) -> tuple[bool, str]:
        if topic.input_schema == CLOUD_EVENT_SCHEMA:
            return await self._options_handshake(sub)
        return await self._validation_handshake(topic, sub)

    async def _validation_handshake(self, topic: Topic, sub: Subscription) -> tuple[bool, str]:
        """Event Grid schema: POST a SubscriptionValidationEvent; the endpoint echoes the code."""
        code = str(uuid.uuid4())
        event = {"id": str(uuid.uuid4()), "topic": topic_resource_id(topic.name), "subject": "",
                 "data": {"validationCode": code}, "eventType": VALIDATION_EVENT_TYPE,
                 "eventTime": datetime.now(UTC).isoformat(), "metadataVersion": "1",
                 "dataVersion": "1"}
        headers = delivery_headers(topic, sub, "SubscriptionValidation", 0, "1")
        assert self._session is not None
        try:
            async with self._session.post(sub.endpoint_url, data=json.dumps([event]).encode(),
                                          headers=headers) as response:
                raw = await response.read()
                if response.status != 200:
                    return False, f"HTTP {response.status}"
        except (TimeoutError, aiohttp.ClientError) as exc:
            return False, f"{type(exc).__name__}: {exc}"
        try:
            # Bytes, not response.text(): a non-UTF-8 answer must fail the handshake, not raise.
            answer = json.loads(raw.decode("utf-8", errors="replace"))
        except (ValueError, RecursionError):
            return False, "answer is not JSON"
        got = answer.get("validationResponse") if isinstance(answer, dict) else None
        return (got == code, "ok" if got == code else f"validationResponse {got!r} does not echo the code")

    async def _options_handshake(self, sub: Subscription) -> tuple[bool, str]:
        """CloudEvents abuse protection: OPTIONS with WebHook-Request-Origin, expect it allowed."""
        assert self._session is not None
        headers = {"WebHook-Request-Origin": REQUEST_ORIGIN}
        try:
            async with self._session.options(sub.endpoint_url, headers=headers) as response:
                await response.read()
                allowed = response.headers.get("WebHook-Allowed-Origin", "")
                if response.status != 200:
                    return False, f"HTTP {response.status}"
        except (TimeoutError, aiohttp.ClientError) as exc:
            return False, f"{type(exc).__name__}: {exc}"
        ok = allowed.strip() in (REQUEST_ORIGIN, "*")
        return ok, "ok" if ok else f"WebHook-Allowed-Origin is {allowed!r}"

    async def _sleep(self, seconds: float, wake_on_publish: bool = True) -> None:
        if not wake_on_publish:
            await asyncio.sleep(seconds)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wakeup.wait(), seconds)
        self._wakeup.clear()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _shutdown(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
