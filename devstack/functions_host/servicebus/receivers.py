"""ReceiverPort backed by the azure-servicebus async SDK (works against devstack's broker or Azure)."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from azure.servicebus import NEXT_AVAILABLE_SESSION, ServiceBusSubQueue
from azure.servicebus.aio import ServiceBusClient, ServiceBusReceiver
from azure.servicebus.exceptions import OperationTimeoutError

from devstack.functions_host.tls import client_ssl_context

log = logging.getLogger(__name__)
DEAD_LETTER_SUFFIX = "/$deadletterqueue"
# How long one read of a receiver's connection waits for a frame (the SDK's `socket_timeout`; its default over
# AMQP/TCP is 0.2 s, azure/servicebus/_common/_configuration.py). Every waiting receive and pending session accept
# reads in that rhythm, frames or not: most of an idle host's CPU. A receiver with nothing in flight (no lock to
# renew, no settlement awaiting its outcome) reads with QUIET_READ_SECONDS; once something is in flight, the
# short one again, because a lock renewal's reply is read only after a pending read ends (the socket is read
# under one lock), and a 2 s lock must not wait a second for it.
BUSY_READ_SECONDS = 0.2
QUIET_READ_SECONDS = 1.0


@dataclass(frozen=True)
class EntityAddress:
    """What a trigger listens on: a queue or a topic subscription, optionally its dead-letter subqueue."""

    queue: str | None = None
    topic: str | None = None
    subscription: str | None = None
    dead_letter: bool = False

    @classmethod
    def parse(cls, queue: str | None, topic: str | None, subscription: str | None) -> EntityAddress:
        """From the trigger's names; a `/$DeadLetterQueue` suffix (any case) selects the subqueue."""
        if queue:
            base, dead = _split_dead_letter(queue)
            return cls(queue=base, dead_letter=dead)
        base, dead = _split_dead_letter(subscription or "")
        return cls(topic=topic, subscription=base, dead_letter=dead)

    def __str__(self) -> str:
        path = self.queue or f"{self.topic}/Subscriptions/{self.subscription}"
        return path + ("/$DeadLetterQueue" if self.dead_letter else "")


def _split_dead_letter(name: str) -> tuple[str, bool]:
    if name.lower().endswith(DEAD_LETTER_SUFFIX):
        return name[: -len(DEAD_LETTER_SUFFIX)], True
    return name, False


class LockKeeper:
    """Renews a lock until stopped or ``max_duration`` has passed, at half the remaining lock time.

    Renewing at half the remaining time (rather than the SDK's fixed 10 s margin) keeps the short lock
    durations tests use safe too.
    """

    def __init__(self, seconds_left: Callable[[], float], renew: Callable[[], Awaitable[Any]],
                 max_duration: float, done: Callable[[], bool] = lambda: False) -> None:
        self._task = asyncio.create_task(self._run(seconds_left, renew, max_duration, done))

    @staticmethod
    async def _run(seconds_left: Callable[[], float], renew: Callable[[], Awaitable[Any]], max_duration: float,
                   done: Callable[[], bool]) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max_duration
        try:
            while loop.time() < deadline:
                await asyncio.sleep(min(max(0.2, seconds_left() / 2), deadline - loop.time()))
                if loop.time() >= deadline or done():
                    return
                await renew()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # lock already lost: the next settlement or receive reports it
            log.debug("lock renewal stopped: %s", exc)

    def stop(self) -> None:
        """Stop renewing."""
        self._task.cancel()


def _seconds_until(moment: datetime | None) -> float:
    if moment is None:
        return 1.0
    return (moment - datetime.now(UTC)).total_seconds()


class SdkReceiver:
    """ReceiverPort over one ``azure.servicebus.aio.ServiceBusReceiver``."""

    def __init__(self, receiver: ServiceBusReceiver, session_id: str | None = None) -> None:
        self._receiver = receiver
        self._session_id = session_id

    @property
    def session_id(self) -> str | None:
        """The locked session's id, if a session receiver."""
        return self._session_id

    async def receive(self, max_count: int, max_wait: float, *, quiet: bool = False) -> list[Any]:
        """Locked messages (the SDK issues link credit for ``max_count``); ``quiet``: nothing of this receiver's
        is in flight, so its reads may wait longer (QUIET_READ_SECONDS)."""
        self._read_every(QUIET_READ_SECONDS if quiet else BUSY_READ_SECONDS)
        return await self._receiver.receive_messages(max_message_count=max_count, max_wait_time=max_wait)

    def _read_every(self, seconds: float) -> None:
        # The pyamqp client reads its socket_timeout on every read (ReceiveClientAsync._socket_timeout): a
        # private attribute, pinned by tests/functions/test_sdk_receivers.py. No handler yet (the
        # receive opens the link first): the receiver's own socket_timeout applies to that first call.
        handler = getattr(self._receiver, "_handler", None)
        if handler is not None:
            handler._socket_timeout = seconds

    def lock_token(self, message: Any) -> str:
        """The message's lock token as a string."""
        return str(message.lock_token)

    async def complete(self, message: Any) -> None:
        """Complete the message."""
        await self._receiver.complete_message(message)

    async def abandon(self, message: Any) -> None:
        """Abandon the message."""
        await self._receiver.abandon_message(message)

    async def dead_letter(self, message: Any, reason: str | None, description: str | None) -> None:
        """Dead-letter the message."""
        await self._receiver.dead_letter_message(message, reason=reason, error_description=description)

    async def defer(self, message: Any) -> None:
        """Defer the message."""
        await self._receiver.defer_message(message)

    async def renew_message_lock(self, message: Any) -> datetime:
        """Renew the message lock."""
        return await self._receiver.renew_message_lock(message)

    async def set_session_state(self, state: bytes | str | None) -> None:
        """Set the session state."""
        await self._receiver.session.set_state(state)

    async def renew_session_lock(self) -> datetime:
        """Renew the session lock."""
        return await self._receiver.session.renew_lock()

    def keep_lock(self, message: Any, max_duration: float) -> LockKeeper:
        """Renew the message lock in the background until settled or stopped."""
        return LockKeeper(lambda: _seconds_until(message.locked_until_utc),
                           lambda: self.renew_message_lock(message), max_duration,
                           done=lambda: bool(message._settled))

    def keep_session(self, max_duration: float) -> LockKeeper:
        """Renew the session lock in the background while the session is held."""
        session = self._receiver.session
        return LockKeeper(lambda: _seconds_until(session.locked_until_utc), self.renew_session_lock, max_duration)

    async def close(self) -> None:
        """Close the link; the broker releases unsettled locks."""
        await self._receiver.close()


class SdkReceiverFactory:
    """Opens SDK receivers on one entity from one (lazily created) client."""

    def __init__(self, connection_string: str, address: EntityAddress, prefetch_count: int,
                 retry: dict[str, Any] | None = None) -> None:
        self._connection_string = connection_string
        self._address = address
        self._prefetch = prefetch_count
        self._retry = dict(retry or {})
        self._client: ServiceBusClient | None = None

    def _receiver(self, **kwargs: Any) -> ServiceBusReceiver:
        if self._client is None:
            self._client = ServiceBusClient.from_connection_string(self._connection_string,
                                                                   ssl_context=client_ssl_context(), **self._retry)
        address = self._address
        if address.dead_letter:
            kwargs["sub_queue"] = ServiceBusSubQueue.DEAD_LETTER
        kwargs["prefetch_count"] = self._prefetch
        if address.queue:
            receiver = self._client.get_queue_receiver(address.queue, **kwargs)
        elif not address.topic or address.subscription is None:
            raise ValueError(f"{address}: a Service Bus trigger names a queue, or a topic and a subscription")
        else:
            receiver = self._client.get_subscription_receiver(address.topic, address.subscription, **kwargs)
        return receiver

    async def open(self) -> SdkReceiver:
        """A non-session receiver, link attached."""
        receiver = self._receiver()
        await receiver.__aenter__()
        return SdkReceiver(receiver)

    async def accept_session(self, max_wait: float) -> SdkReceiver | None:
        """The next available session, or None when none is available within ``max_wait``."""
        # Nothing is in flight while the accept waits: quiet reads (QUIET_READ_SECONDS). The session it locks
        # is read in the busy rhythm (its lock is renewed while held): SdkReceiver.receive sets it per call.
        receiver = self._receiver(session_id=NEXT_AVAILABLE_SESSION, max_wait_time=max_wait,
                                  socket_timeout=QUIET_READ_SECONDS)
        try:
            await receiver.__aenter__()
        except OperationTimeoutError:
            await receiver.close()
            return None
        except BaseException:
            await receiver.close()
            raise
        session_id = receiver.session.session_id
        if not isinstance(session_id, str):  # the attach reply named no session: treat as none available
            await receiver.close()
            return None
        # Its connection's own reads (a lock renewal's or a settlement's wait for the reply) in the busy rhythm too.
        receiver._handler._connection._socket_timeout = BUSY_READ_SECONDS
        return SdkReceiver(receiver, session_id)

    async def close(self) -> None:
        """Close the client (and every receiver it opened)."""
        if self._client is not None:
            await self._client.close()
            self._client = None
