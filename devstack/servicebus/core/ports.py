"""What broker semantics need from the outside: storage (SQLite in production, a dict in unit tests) and a clock."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Protocol

from devstack.servicebus.core.message import StoredMessage

Clock = Callable[[], float]  # seconds since the epoch


@dataclass
class Snapshot:
    """Everything durable, read back at start-up."""

    messages: list[StoredMessage] = field(default_factory=list)
    sequences: dict[str, int] = field(default_factory=dict)
    session_states: dict[tuple[str, str], bytes] = field(default_factory=dict)
    duplicates: dict[tuple[str, str], float] = field(default_factory=dict)


class MessageStore(Protocol):
    """Durable storage; every change inside ``transaction()`` is committed when the block ends."""

    def transaction(self) -> AbstractContextManager[None]:
        """Group changes; commit once when the outermost block exits without error."""
        ...

    def load(self) -> Snapshot:
        """Read back everything stored."""
        ...

    def insert(self, message: StoredMessage) -> None:
        """Store a new message (and remember its entity's last sequence number)."""
        ...

    def update(self, message: StoredMessage) -> None:
        """Persist state, delivery count, times of a stored message."""
        ...

    def delete(self, entity: str, seqs: Iterable[int]) -> None:
        """Remove messages for good."""
        ...

    def set_session_state(self, entity: str, session_id: str, state: bytes | None) -> None:
        """Store or clear a session's state."""
        ...

    def add_duplicate(self, entity: str, message_id: str, expires_at: float) -> None:
        """Remember a MessageId for duplicate detection until ``expires_at``."""
        ...

    def prune_duplicates(self, now: float) -> None:
        """Forget MessageIds whose window has passed."""
        ...
