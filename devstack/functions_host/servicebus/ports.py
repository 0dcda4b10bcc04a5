"""The port between the Service Bus trigger driver and a receiver (SDK-backed, or an in-memory fake).

The driver (triggers.py) decides *when* to receive, invoke and settle; a ReceiverPort does
the broker work. Keeping that split lets unit tests drive the concurrency, session and settlement
logic against a hand-written fake, while functions tests run the SDK adapter against a real broker.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol


class ReceiverPort(Protocol):
    """A peek-lock receiver on one entity (or one locked session of it)."""

    @property
    def session_id(self) -> str | None:
        """The locked session's id (None for a non-session receiver)."""

    async def receive(self, max_count: int, max_wait: float, *, quiet: bool = False) -> list[Any]:
        """Up to ``max_count`` locked messages, waiting at most ``max_wait`` seconds for the first. ``quiet``: the
        caller has nothing of this receiver's in flight (no lock to renew, no settlement pending), so the
        receiver may check its connection less often while it waits."""

    def lock_token(self, message: Any) -> str:
        """The message's lock token (its identity for settlement)."""

    async def complete(self, message: Any) -> None:
        """Complete (remove) the message."""

    async def abandon(self, message: Any) -> None:
        """Abandon the message (redelivered; its delivery count grows)."""

    async def dead_letter(self, message: Any, reason: str | None, description: str | None) -> None:
        """Move the message to the dead-letter subqueue."""

    async def defer(self, message: Any) -> None:
        """Defer the message."""

    async def renew_message_lock(self, message: Any) -> datetime:
        """Renew the message's lock; the new expiry."""

    async def set_session_state(self, state: bytes | str | None) -> None:
        """Set the locked session's state."""

    async def renew_session_lock(self) -> datetime:
        """Renew the session lock; the new expiry."""

    def keep_lock(self, message: Any, max_duration: float) -> KeepAlive:
        """Start renewing the message lock while the function runs."""

    def keep_session(self, max_duration: float) -> KeepAlive:
        """Start renewing the session lock while the session is held (idle waits included)."""

    async def close(self) -> None:
        """Close the receiver; the broker releases the locks it still holds."""


class KeepAlive(Protocol):
    """A running lock renewal; ``stop`` ends it."""

    def stop(self) -> None:
        """Stop renewing."""


class ReceiverFactory(Protocol):
    """Opens receivers on one trigger's entity."""

    async def open(self) -> ReceiverPort:
        """A receiver for a non-session entity."""

    async def accept_session(self, max_wait: float) -> ReceiverPort | None:
        """A receiver locked on the next available session, or None if none came within ``max_wait``."""

    async def close(self) -> None:
        """Release the factory's connection."""
