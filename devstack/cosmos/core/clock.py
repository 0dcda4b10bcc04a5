"""Time source for the core, so TTL and timestamps can be driven by tests."""
from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """Anything that tells the current time in seconds since the epoch."""

    def now(self) -> float:
        """Seconds since the Unix epoch."""


class SystemClock:
    """The wall clock."""

    def now(self) -> float:
        """Seconds since the Unix epoch."""
        return time.time()
