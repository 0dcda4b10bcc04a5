"""Service Bus triggers: one listener per function, with the Service Bus extension's processor semantics.

Mirrors the extension's ServiceBusProcessor / ServiceBusSessionProcessor
(https://learn.microsoft.com/azure/azure-functions/functions-bindings-service-bus-trigger):
- non-session: at most `maxConcurrentCalls` invocations at once;
- sessions: at most `maxConcurrentSessions` sessions held, one invocation per session at a time; a
  session with no message for `sessionIdleTimeout` is released and a free slot takes the next
  available session as soon as there is one (so a session waiting for scheduled messages never holds
  a slot for ever);
- locks are renewed while the function runs, up to `maxAutoLockRenewalDuration`;
- auto-complete completes after the function *and its output bindings* succeeded; an exception
  abandons the message unless the function settled it itself (message actions);
- a timed-out sync function whose thread runs on keeps its message, session and slot until it ends.
"""
from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from devstack.functions_host.errors import InvocationError
from devstack.functions_host.servicebus.message_actions import HeldSession, InFlightMessage, SettlementRegistry
from devstack.functions_host.servicebus.ports import ReceiverFactory, ReceiverPort

log = logging.getLogger(__name__)
T = TypeVar("T")
MAX_BACKOFF_SECONDS = 10.0
MIN_ACCEPT_SECONDS = 0.5
# Session slots that keep accepting once a whole try-timeout brought no session, and resting slots each
# accepted session wakes (see _session_worker).
IDLE_ACCEPTS = 2
WAKE_PER_SESSION = 2

# process(receiver, message) invokes the function and sends its outputs; raises InvocationError.
Process = Callable[[ReceiverPort, Any], Awaitable[None]]


@dataclass(frozen=True)
class ListenerOptions:
    """The per-trigger knobs (host.json `extensions.serviceBus` plus the trigger's own flags)."""

    sessions: bool
    auto_complete: bool
    max_concurrent_calls: int
    max_concurrent_sessions: int
    session_idle_timeout: float
    max_lock_renewal: float
    # How long one receive (or one accept of the next available session) waits for a message before asking
    # again: the client's try-timeout (clientRetryOptions.tryTimeout, 60 s by default), as the processors do. A
    # receive returns as soon as messages come, so a long wait costs no latency; a 1 s poll of each of the app's
    # six non-session triggers was most of an idle host's CPU.
    try_timeout: float = 60.0


class ServiceBusListener:
    """Receives for one function until stopped; in-flight invocations finish before it closes."""

    def __init__(self, name: str, factory: ReceiverFactory, options: ListenerOptions, process: Process,
                 registry: SettlementRegistry) -> None:
        self.name = name
        self._factory = factory
        self._options = options
        self._process = process
        self._registry = registry
        self._stopped = asyncio.Event()
        self._in_flight: set[asyncio.Task[None]] = set()
        self._accepting = 0                                      # session slots waiting in an accept now
        self._resting: deque[asyncio.Future[None]] = deque()    # idle session slots, woken by load

    async def run(self) -> None:
        """Run the receive loop(s) until ``stop``; then wait for in-flight work and close."""
        try:
            if self._options.sessions:
                await self._session_pump()
            else:
                await self._message_pump()
        finally:
            await self._factory.close()

    def stop(self) -> None:
        """Stop receiving; running invocations finish and are settled."""
        self._stopped.set()

    async def _message_pump(self) -> None:
        receiver: ReceiverPort | None = None
        slots = asyncio.Semaphore(self._options.max_concurrent_calls)
        backoff = 0.0
        while not self._stopped.is_set():
            try:
                if receiver is None:
                    receiver = await self._factory.open()
                    log.info("%s: receiving", self.name)
                await self._pump_once(receiver, slots)
                backoff = 0.0
            except Exception as exc:  # broker gone, link detached...: reconnect with back-off
                backoff = min(MAX_BACKOFF_SECONDS, backoff * 2 or 0.5)
                log.warning("%s: receiving failed (%s: %s); retrying in %.1fs", self.name, type(exc).__name__,
                            exc, backoff)
                await self._discard(receiver)
                receiver = None
                await self._sleep(backoff)
        await self._drain()
        await self._discard(receiver)

    async def _pump_once(self, receiver: ReceiverPort, slots: asyncio.Semaphore) -> None:
        """Take a free slot, receive one message for it, start its invocation (the slot is freed when it ends).

        One message per receive, never a batch for every free slot: the SDK's receive_messages(n > 1) can keep a
        message it already holds until another one arrives or the whole wait (the try-timeout, 60 s) ends. A
        message read by another call on the same connection (a settlement awaiting its outcome, a lock renewal,
        the keep-alive) while the receive is sending its link credit lands in the receiver's buffer without
        counting as "the first message" that ends the receive early (azure/servicebus/aio/
        _servicebus_receiver_async.py, _receive). With n = 1 the receive ends as soon as anything is buffered. It
        costs one credit frame per message, and a free slot asks again at once.

        With no invocation in flight the receive is quiet: nothing waits for a reply on its connection, so it may
        read less often (receivers.QUIET_READ_SECONDS)."""
        if await self._until_stopped(slots.acquire()) is None:
            return
        try:
            messages = await self._until_stopped(
                receiver.receive(1, self._options.try_timeout, quiet=not self._in_flight)) or []
        except BaseException:
            slots.release()
            raise
        if not messages:
            slots.release()
            return
        (message,) = messages  # at most max_count (the port's contract): one slot, one invocation
        task = asyncio.create_task(self._handle(receiver, message))
        self._in_flight.add(task)
        task.add_done_callback(functools.partial(self._handled, slots))

    def _handled(self, slots: asyncio.Semaphore, task: asyncio.Task[None]) -> None:
        """A message's handling ended: forget its task and free its slot."""
        self._in_flight.discard(task)
        slots.release()

    async def _session_pump(self) -> None:
        """One worker per session slot: accept the next available session, hold it until idle, repeat."""
        await asyncio.gather(*(self._session_worker() for _ in range(self._options.max_concurrent_sessions)))

    async def _session_worker(self) -> None:
        """A slot's accept waits up to the client's try-timeout: the broker hands it the next session the
        moment one is available, so a freed slot is filled at once, as the session processor's
        AcceptNextSession does (it waits TryTimeout, not SessionIdleTimeout). Accepting with
        sessionIdleTimeout instead re-attached every free slot's link several times a second when idle
        (~10 % of a core). Accepts stay one per free slot, not one at a time: the SDK opens a connection
        per accept (hundreds of ms), so serial accepts halved throughput (bench/e2e_bench.py).

        A slot whose accept found no session for a whole try-timeout rests while IDLE_ACCEPTS others still wait:
        the SDK's pending accept checks its link every 50 ms (ServiceBusReceiver._open), so 32 of them were most
        of an idle host's CPU. Each accepted session wakes WAKE_PER_SESSION resting slots, so a burst after a
        quiet spell has all slots accepting again within a few sessions. The semantics (at most
        maxConcurrentSessions held, each released after sessionIdleTimeout) are unchanged."""
        backoff = 0.0
        while not self._stopped.is_set():
            started = asyncio.get_running_loop().time()
            self._accepting += 1
            try:
                receiver = await self._until_stopped(self._factory.accept_session(self._options.try_timeout))
                backoff = 0.0
            except Exception as exc:
                backoff = min(MAX_BACKOFF_SECONDS, backoff * 2 or 0.5)
                log.warning("%s: accepting a session failed (%s: %s); retrying in %.1fs", self.name,
                            type(exc).__name__, exc, backoff)
                await self._sleep(backoff)
                continue
            finally:
                self._accepting -= 1
            if receiver is not None:
                self._wake_resting(WAKE_PER_SESSION)
                await self._hold_session(receiver)
            elif asyncio.get_running_loop().time() - started < MIN_ACCEPT_SECONDS:
                await self._sleep(MIN_ACCEPT_SECONDS)  # "no session" came at once: do not spin
            elif self._accepting >= IDLE_ACCEPTS:
                await self._rest()

    async def _rest(self) -> None:
        """Wait until an accepted session (or stop) wakes this slot."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._resting.append(waiter)
        await self._until_stopped(waiter)

    def _wake_resting(self, count: int) -> None:
        while count and self._resting:
            waiter = self._resting.popleft()
            if not waiter.done():
                waiter.set_result(None)
                count -= 1

    async def _hold_session(self, receiver: ReceiverPort) -> None:
        session_id = str(receiver.session_id)
        held = HeldSession(receiver)
        with self._registry.lock:
            self._registry.sessions[session_id] = held
        log.debug("%s: holding session %s", self.name, session_id)
        keep_alive = receiver.keep_session(self._options.max_lock_renewal)
        try:
            while not self._stopped.is_set() and not held.release_requested:
                messages = await self._until_stopped(receiver.receive(1, self._options.session_idle_timeout))
                if not messages:
                    break  # idle (or stopping): release the session so another one can be served
                for message in messages:
                    await self._handle(receiver, message)
        except Exception as exc:  # session lock lost, connection dropped: let another receiver take it
            log.warning("%s: session %s ended (%s: %s)", self.name, session_id, type(exc).__name__, exc)
        finally:
            keep_alive.stop()
            with self._registry.lock:
                self._registry.sessions.pop(session_id, None)
            await self._discard(receiver)
            log.debug("%s: released session %s", self.name, session_id)

    async def _handle(self, receiver: ReceiverPort, message: Any) -> None:
        token = receiver.lock_token(message)
        entry = InFlightMessage(receiver, message)
        with self._registry.lock:
            self._registry.messages[token] = entry
        keep_alive = receiver.keep_lock(message, self._options.max_lock_renewal)
        failed = False
        try:
            await self._process(receiver, message)
        except InvocationError as exc:
            failed = True  # logged by the runner with the invocation id
            if exc.still_running is not None:
                # A timed-out sync function runs on in its thread. Releasing the message now would let
                # the broker redeliver it (or the session's next message, or another message into the
                # freed slot) while it still runs; the real host restarts the worker instead. So the
                # lock stays renewed, and the session and slot held, until the thread ends.
                await asyncio.shield(exc.still_running)
        except Exception:
            failed = True
            log.exception("%s: processing message %s failed", self.name, token)
        finally:
            keep_alive.stop()
            with self._registry.lock:
                self._registry.messages.pop(token, None)
        if not entry.settled:
            await self._settle_after(receiver, message, failed)

    async def _settle_after(self, receiver: ReceiverPort, message: Any, failed: bool) -> None:
        # "If the message handler throws and did not settle the message, it is abandoned, irrespective
        # of AutoCompleteMessages" (ServiceBusProcessorOptions.AutoCompleteMessages remarks).
        try:
            if failed:
                await receiver.abandon(message)
            elif self._options.auto_complete:
                await receiver.complete(message)
        except Exception as exc:  # lock lost: the broker redelivers; nothing else to do here
            log.warning("%s: settling message failed (%s: %s)", self.name, type(exc).__name__, exc)

    async def _until_stopped(self, awaitable: Awaitable[T]) -> T | None:
        """Await ``awaitable`` unless ``stop`` comes first (then cancel it and return None)."""
        task = asyncio.ensure_future(awaitable)
        stop = asyncio.ensure_future(self._stopped.wait())
        done, _ = await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            stop.cancel()
            return task.result()
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
        return None

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopped.wait(), seconds)

    async def _drain(self) -> None:
        if self._in_flight:
            await asyncio.gather(*list(self._in_flight), return_exceptions=True)

    async def _discard(self, receiver: ReceiverPort | None) -> None:
        if receiver is None:
            return None
        try:
            await receiver.close()
        except Exception as exc:  # closing a broken link may fail; the broker drops its locks anyway
            log.debug("%s: closing a receiver failed: %s", self.name, exc)
        return None
