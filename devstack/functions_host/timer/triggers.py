"""Timer triggers: one loop per function, never overlapping itself, `run_on_startup` honoured."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from azure.functions.timer import TimerRequest

from devstack.functions_host.errors import InvocationError
from devstack.functions_host.metadata import FunctionSpec
from devstack.functions_host.runner import FunctionRunner
from devstack.functions_host.settings import AppSettings
from devstack.functions_host.timer.ncrontab import Schedule, parse_schedule

log = logging.getLogger(__name__)


def _utcnow() -> datetime:
    return datetime.now(UTC)


class TimerTrigger:
    """Fires one timer-triggered function on its schedule until stopped."""

    def __init__(self, spec: FunctionSpec, settings: AppSettings, runner: FunctionRunner,
                 clock: Callable[[], datetime] = _utcnow) -> None:
        self.spec = spec
        expression = settings.expand(str(spec.trigger.get("schedule", "")), needed_by=spec.describe(spec.trigger))
        try:
            self.schedule: Schedule = parse_schedule(expression)
        except Exception as exc:
            raise type(exc)(f"{spec.describe(spec.trigger)}: {exc}") from None
        self._runner = runner
        self._clock = clock
        self._stopped = asyncio.Event()
        self._last: datetime | None = None

    async def run(self) -> None:
        """Fire on schedule (and once at start with ``runOnStartup``) until ``stop``."""
        if self.spec.trigger.get("runOnStartup"):
            await self._fire(self._clock(), past_due=False)
        due = self.schedule.next_after(self._clock())
        while not self._stopped.is_set():
            delay = (due - self._clock()).total_seconds()
            if delay > 0:
                try:
                    await asyncio.wait_for(self._stopped.wait(), delay)
                    return
                except TimeoutError:
                    pass
            now = self._clock()
            # Past due: the previous invocation ran over the next occurrence (the host never overlaps).
            await self._fire(due, past_due=(now - due).total_seconds() > 1.0)
            due = self.schedule.next_after(max(due, self._clock()))

    async def _fire(self, occurrence: datetime, *, past_due: bool) -> None:
        nxt = self.schedule.next_after(occurrence)
        status = {"Last": (self._last or occurrence).isoformat(), "Next": nxt.isoformat(),
                  "LastUpdated": occurrence.isoformat()}
        request = TimerRequest(past_due=past_due, schedule_status=status, schedule={"AdjustForDST": False})
        self._last = occurrence
        try:
            await self._runner.run(self.spec, request, binding_data={"scheduled": occurrence.isoformat()})
        except InvocationError as exc:  # already logged; a timer keeps firing
            if exc.still_running is not None:
                await asyncio.shield(exc.still_running)  # a timed-out thread runs on: never overlap it

    def stop(self) -> None:
        """Stop after the current invocation (if any)."""
        self._stopped.set()
