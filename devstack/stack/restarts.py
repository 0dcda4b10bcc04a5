"""When to restart a crashed child: exponential back-off, reset once a run has proved stable (sans-I/O).

The shape is the one platforms use for crashed processes (Kubernetes' CrashLoopBackOff doubles from
10 s up to 5 min and resets after 10 min of running, systemd's `RestartSec=` / `RestartSteps=` ramps a
delay up to `RestartMaxDelaySec=`), scaled down for a developer's stack: a child that dies once is back
in about a second; one that crashes at every start is retried at most every 30 s instead of spinning.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RestartPolicy:
    """Delays before restarting a child: ``initial`` doubling up to ``maximum``, back to ``initial`` after
    a run that lasted ``stable_after`` seconds. ``ready_timeout`` bounds how long a restart may take to listen."""

    initial: float = 1.0
    maximum: float = 30.0
    stable_after: float = 60.0
    ready_timeout: float = 60.0

    def __post_init__(self) -> None:
        if not 0 < self.initial <= self.maximum:
            raise ValueError(f"restart delays need 0 < initial <= maximum (got {self.initial}, {self.maximum})")


class Backoff:
    """The restart delays of one service, given how long each run lasted."""

    def __init__(self, policy: RestartPolicy) -> None:
        self._policy = policy
        self._next = policy.initial

    def after_exit(self, uptime: float) -> float:
        """The delay before restarting a child that exited after ``uptime`` seconds of running."""
        if uptime >= self._policy.stable_after:
            self._next = self._policy.initial
        delay = self._next
        self._next = min(self._next * 2, self._policy.maximum)
        return delay
