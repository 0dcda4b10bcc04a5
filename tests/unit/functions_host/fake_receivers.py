"""A hand-written in-memory ReceiverPort/ReceiverFactory (no broker, no SDK) for the listener's unit tests."""
from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

_tokens = itertools.count(1)


@dataclass
class FakeMessage:
    """A message with a lock token and an optional session id."""

    body: str
    session_id: str | None = None
    lock_token: str = field(default_factory=lambda: f"token-{next(_tokens)}")
    delivery_count: int = 0


@dataclass
class FakeEntity:
    """A queue: active messages, what happened to each, which sessions are locked."""

    messages: list[FakeMessage] = field(default_factory=list)
    outcomes: list[tuple[str, str]] = field(default_factory=list)  # (action, body)
    locked_sessions: set[str] = field(default_factory=set)
    session_state: dict[str, Any] = field(default_factory=dict)
    renewals: int = 0
    # Model the SDK's receive_messages(n > 1): a message already buffered when the call starts does not end its
    # wait, only one arriving during it does (see ServiceBusListener._pump_once).
    batches_wait_for_an_arrival: bool = False
    arrivals: int = 0
    receives: list[tuple[int, bool]] = field(default_factory=list)  # (max_count, quiet) of each receive

    def add(self, *messages: FakeMessage) -> None:
        """Enqueue messages."""
        self.messages.extend(messages)
        self.arrivals += len(messages)


class FakeKeepAlive:
    """Counts as one renewal; stops nothing (there is no timer)."""

    def __init__(self, entity: FakeEntity) -> None:
        entity.renewals += 1

    def stop(self) -> None:
        """Nothing to stop."""


class FakeReceiver:
    """Receives from a FakeEntity, optionally restricted to one locked session."""

    def __init__(self, entity: FakeEntity, session_id: str | None = None) -> None:
        self.entity = entity
        self._session_id = session_id
        self.closed = False

    @property
    def session_id(self) -> str | None:
        return self._session_id

    async def receive(self, max_count: int, max_wait: float, *, quiet: bool = False) -> list[Any]:
        self.entity.receives.append((max_count, quiet))
        deadline = asyncio.get_running_loop().time() + max_wait
        arrivals = self.entity.arrivals
        while True:
            mine = [m for m in self.entity.messages if m.session_id == self._session_id][:max_count]
            if mine and max_count > 1 and self.entity.batches_wait_for_an_arrival and self.entity.arrivals == arrivals:
                mine = []  # held until another message arrives or the wait ends
            if mine or asyncio.get_running_loop().time() >= deadline:
                for message in mine:
                    self.entity.messages.remove(message)
                return mine
            await asyncio.sleep(0.005)

    def lock_token(self, message: Any) -> str:
        return str(message.lock_token)

    async def complete(self, message: Any) -> None:
        self.entity.outcomes.append(("complete", message.body))

    async def abandon(self, message: Any) -> None:
        self.entity.outcomes.append(("abandon", message.body))

    async def dead_letter(self, message: Any, reason: str | None, description: str | None) -> None:
        self.entity.outcomes.append((f"deadletter:{reason}:{description}", message.body))

    async def defer(self, message: Any) -> None:
        self.entity.outcomes.append(("defer", message.body))

    async def renew_message_lock(self, message: Any) -> datetime:
        return datetime.now(UTC)

    async def set_session_state(self, state: bytes | str | None) -> None:
        self.entity.session_state[str(self._session_id)] = state

    async def renew_session_lock(self) -> datetime:
        return datetime.now(UTC)

    def keep_lock(self, message: Any, max_duration: float) -> FakeKeepAlive:
        return FakeKeepAlive(self.entity)

    def keep_session(self, max_duration: float) -> FakeKeepAlive:
        return FakeKeepAlive(self.entity)

    async def close(self) -> None:
        self.closed = True
        self.entity.locked_sessions.discard(str(self._session_id))


class FakeFactory:
    """Opens FakeReceivers; sessions are handed out first come, one receiver each."""

    def __init__(self, entity: FakeEntity) -> None:
        self.entity = entity
        self.accepted: list[str] = []

    async def open(self) -> FakeReceiver:
        return FakeReceiver(self.entity)

    async def accept_session(self, max_wait: float) -> FakeReceiver | None:
        deadline = asyncio.get_running_loop().time() + max_wait
        while asyncio.get_running_loop().time() < deadline:
            free = [m.session_id for m in self.entity.messages
                    if m.session_id is not None and m.session_id not in self.entity.locked_sessions]
            if free:
                self.entity.locked_sessions.add(str(free[0]))
                self.accepted.append(str(free[0]))
                return FakeReceiver(self.entity, free[0])
            await asyncio.sleep(0.005)
        return None

    async def close(self) -> None:
        """Nothing to release."""
