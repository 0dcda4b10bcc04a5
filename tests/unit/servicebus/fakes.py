"""Hand-written in-memory stand-ins for the broker's ports: storage, clock, receiver."""
from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from devstack.servicebus.core.message import StoredMessage
from devstack.servicebus.core.ports import Snapshot


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class MemoryStore:
    """MessageStore in dicts; ``committed`` is what a crash would leave behind."""

    def __init__(self) -> None:
        self.messages: dict[tuple[str, int], StoredMessage] = {}
        self.sequences: dict[str, int] = {}
        self.states: dict[tuple[str, str], bytes] = {}
        self.duplicates: dict[tuple[str, str], float] = {}
        self.commits = 0
        self._depth = 0

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1
            if self._depth == 0:
                self.commits += 1

    def load(self) -> Snapshot:
        messages = [copy.copy(m) for m in self.messages.values()]
        for message in messages:
            message.lock = None
        return Snapshot(messages, dict(self.sequences), dict(self.states), dict(self.duplicates))

    def insert(self, message: StoredMessage) -> None:
        self.messages[(message.entity, message.seq)] = copy.copy(message)
        self.sequences[message.entity] = max(self.sequences.get(message.entity, 0), message.seq)

    def update(self, message: StoredMessage) -> None:
        self.messages[(message.entity, message.seq)] = copy.copy(message)

    def delete(self, entity: str, seqs: Iterable[int]) -> None:
        for seq in seqs:
            self.messages.pop((entity, seq), None)

    def set_session_state(self, entity: str, session_id: str, state: bytes | None) -> None:
        if state is None:
            self.states.pop((entity, session_id), None)
        else:
            self.states[(entity, session_id)] = state

    def add_duplicate(self, entity: str, message_id: str, expires_at: float) -> None:
        self.duplicates[(entity, message_id)] = expires_at

    def prune_duplicates(self, now: float) -> None:
        self.duplicates = {k: v for k, v in self.duplicates.items() if v > now}


class FakeReceiver:
    """A receiver link: records deliveries, has a credit the test sets."""

    def __init__(self, credit: int = 100, *, peek_lock: bool = True) -> None:
        self.peek_lock = peek_lock
        self.session_id: str | None = None
        self._credit = credit
        self.delivered: list[tuple[StoredMessage, bytes | None, float | None]] = []
        self.assigned: list[str] = []
        self.closed: list[str] = []

    def credit(self) -> int:
        return self._credit

    def grant(self, credit: int) -> None:
        self._credit += credit

    def deliver(self, message: StoredMessage, token: bytes | None, locked_until: float | None) -> None:
        self._credit -= 1
        self.delivered.append((copy.copy(message), token, locked_until))  # as it was when sent

    def session_assigned(self, session_id: str, locked_until: float) -> None:
        self.assigned.append(session_id)

    def session_closed(self, condition: str, description: str) -> None:
        self.closed.append(condition)

    @property
    def bodies(self) -> list[bytes]:
        return [m.payload for m, _, _ in self.delivered]

    def token(self, index: int = -1) -> bytes:
        token = self.delivered[index][1]
        assert token is not None
        return token


class CountingSessions(dict):  # type: ignore[type-arg]
    """An entity's session table that counts whole-table walks (to prove a path does not scan)."""

    walks = 0

    def __iter__(self):  # type: ignore[no-untyped-def]
        self.walks += 1
        return super().__iter__()

    def values(self):  # type: ignore[no-untyped-def]
        self.walks += 1
        return super().values()

    def items(self):  # type: ignore[no-untyped-def]
        self.walks += 1
        return super().items()
