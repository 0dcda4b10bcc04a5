"""Settlement for `auto_complete_messages=False`: the same methods as the extension's ServiceBusMessageActions.

The real `azurefunctions.extensions.bindings.servicebus.ServiceBusMessageActions` sends each call over
gRPC to the host, which settles with the receiver holding the lock. Here the host is in-process: each
(synchronous, like the original) method runs the settlement on the host's event loop and waits for it.
"""
from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from devstack.functions_host.servicebus.ports import ReceiverPort

log = logging.getLogger(__name__)
SETTLEMENT_TIMEOUT = 60.0


try:  # raise the extension's own error type when it is installed, so apps can catch it
    from azurefunctions.extensions.bindings.servicebus.serviceBusMessageActions import SettlementError
except ImportError:  # pragma: no cover - the extension is in requirements.txt
    class SettlementError(Exception):  # type: ignore[no-redef]  # the fallback for the import above
        """A settlement call failed."""

        def __init__(self, method: str, details: str, original: Exception) -> None:
            super().__init__(f"[{method}] {details}. Underlying error: {original}")
            self.method, self.details, self.original = method, details, original


@dataclass
class InFlightMessage:
    """A message whose function is running, and whether the function settled it."""

    receiver: ReceiverPort
    message: Any
    settled: bool = False


@dataclass
class HeldSession:
    """A session locked by this host, and whether the function asked to release it."""

    receiver: ReceiverPort
    release_requested: bool = False


@dataclass
class SettlementRegistry:
    """What message actions can reach: in-flight messages by lock token, held sessions by id."""

    messages: dict[str, InFlightMessage] = field(default_factory=dict)
    sessions: dict[str, HeldSession] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def message(self, token: str) -> InFlightMessage:
        """The in-flight message with this lock token (KeyError if it is not held here)."""
        with self.lock:
            return self.messages[token]

    def session(self, session_id: str) -> HeldSession:
        """The held session with this id (KeyError if it is not held here)."""
        with self.lock:
            return self.sessions[session_id]


class MessageActions:
    """Drop-in for ServiceBusMessageActions: complete, abandon, deadletter, defer, renew, sessions."""

    def __init__(self, registry: SettlementRegistry, host_loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._registry = registry
        self._loop = host_loop

    def bind(self, host_loop: asyncio.AbstractEventLoop) -> None:
        """Attach to the host's running loop (the host is built before its loop runs)."""
        self._loop = host_loop

    def complete(self, message: Any) -> None:
        """Complete the message."""
        self._settle("complete", message, lambda e: e.receiver.complete(e.message))

    def abandon(self, message: Any) -> None:
        """Abandon the message (it is redelivered)."""
        self._settle("abandon", message, lambda e: e.receiver.abandon(e.message))

    def deadletter(self, message: Any, deadletter_reason: str | None = None,
                   deadletter_error_description: str | None = None) -> None:
        """Dead-letter the message with a reason and description."""
        self._settle("deadletter", message, lambda e: e.receiver.dead_letter(
            e.message, deadletter_reason, deadletter_error_description))

    def defer(self, message: Any) -> None:
        """Defer the message."""
        self._settle("defer", message, lambda e: e.receiver.defer(e.message))

    def renew_message_lock(self, message: Any) -> None:
        """Renew the message's lock."""
        entry = self._entry("renew_message_lock", message)
        self._run("renew_message_lock", f"Failed to renew lock for {message.lock_token}",
                  entry.receiver.renew_message_lock(entry.message))

    def set_session_state(self, session_id: str, session_state: bytes) -> None:
        """Set the state of a session this host holds."""
        held = self._session("set_session_state", session_id)
        self._run("set_session_state", f"Failed to set state for session {session_id}",
                  held.receiver.set_session_state(session_state))

    def release_session(self, session_id: str) -> None:
        """Release the session once the current invocation ends (the next session is then taken)."""
        self._session("release_session", session_id).release_requested = True

    def renew_session_lock(self, session_id: str) -> datetime:
        """Renew a held session's lock; the new expiry."""
        held = self._session("renew_session_lock", session_id)
        return self._run("renew_session_lock", f"Failed to renew lock for session {session_id}",
                         held.receiver.renew_session_lock())

    def _entry(self, method: str, message: Any) -> InFlightMessage:
        token = getattr(message, "lock_token", None)
        if not token:
            raise SettlementError(method, "Failed: message has no lock token",
                                  ValueError("lockToken is required in ServiceBusReceivedMessage."))
        try:
            return self._registry.message(str(token))
        except KeyError:
            raise SettlementError(method, f"Failed to {method} message {token}",
                                  LookupError("the message is not locked by this host")) from None

    def _session(self, method: str, session_id: str) -> HeldSession:
        try:
            return self._registry.session(session_id)
        except KeyError:
            raise SettlementError(method, f"Failed for session {session_id}",
                                  LookupError("the session is not held by this host")) from None

    def _settle(self, method: str, message: Any,
                action: Callable[[InFlightMessage], Coroutine[Any, Any, None]]) -> None:
        entry = self._entry(method, message)
        token = str(message.lock_token)
        self._run(method, f"Failed to {method} message {token}", action(entry))
        entry.settled = True

    def _run(self, method: str, details: str, coroutine: Coroutine[Any, Any, Any]) -> Any:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if self._loop is None or running is self._loop:  # functions run on the worker, never on the host loop
            coroutine.close()
            raise RuntimeError("message actions cannot be called from the host's event loop")
        future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        try:
            return future.result(SETTLEMENT_TIMEOUT)
        except Exception as exc:
            raise SettlementError(method, details, exc) from exc
