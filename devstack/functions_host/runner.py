"""Run one invocation end to end: call the function, then send its output bindings; log as the host does."""
from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import time
from typing import Any

from devstack.functions_host.errors import InvocationError
from devstack.functions_host.invocation import Invocation, Invoker
from devstack.functions_host.metadata import FunctionSpec
from devstack.functions_host.outputs import OutputSender

log = logging.getLogger(__name__)


class FunctionRunner:
    """Invokes functions and sends their outputs; failures are logged with invocation id and binding data."""

    def __init__(self, invoker: Invoker, outputs: OutputSender, timeout: float | None) -> None:
        self._invoker = invoker
        self._outputs = outputs
        self._timeout = timeout
        self._stragglers: set[asyncio.Task[None]] = set()

    async def run(self, spec: FunctionSpec, trigger_value: Any, *, binding_data: dict[str, Any],
                  extra: dict[str, Any] | None = None) -> Invocation:
        """Invoke and send outputs; raise InvocationError (already logged) when either fails."""
        invocation = Invocation(spec)
        started = time.monotonic()
        log.info("Executing 'Functions.%s' (Id=%s)", spec.name, invocation.invocation_id)
        try:
            # functionTimeout bounds the whole invocation, output bindings included.
            await asyncio.wait_for(self._invoke_and_send(invocation, trigger_value, extra), self._timeout)
        except Exception as exc:
            timed_out = isinstance(exc, asyncio.TimeoutError)
            cause = (TimeoutError(f"exceeded functionTimeout of {self._timeout}s") if timed_out
                     else exc.cause if isinstance(exc, InvocationError) else exc)
            log.error("Executed 'Functions.%s' (Failed, Id=%s, Duration=%dms) binding data %s: %s",
                      spec.name, invocation.invocation_id, _elapsed_ms(started), binding_data, cause,
                      exc_info=None if timed_out else cause)
            error = InvocationError(spec.name, invocation.invocation_id, cause)
            if timed_out:
                error.still_running = self._straggler(invocation, started)
            raise error from None
        log.info("Executed 'Functions.%s' (Succeeded, Id=%s, Duration=%dms)", spec.name,
                 invocation.invocation_id, _elapsed_ms(started))
        return invocation

    async def _invoke_and_send(self, invocation: Invocation, trigger_value: Any,
                               extra: dict[str, Any] | None) -> None:
        await self._invoker.invoke(invocation, trigger_value, extra)
        await self._outputs.send(invocation.spec, invocation.outputs)

    def _straggler(self, invocation: Invocation, started: float) -> asyncio.Task[None] | None:
        """A task that ends when the timed-out sync function's thread does (None if nothing runs on).

        The real host restarts the language worker on a timeout, so nothing of the invocation survives.
        A Python thread cannot be killed: cancelling an async function works, but a sync function runs
        on. Triggers that must not run the same work twice wait for this task before releasing their
        message, session or concurrency slot.
        """
        call = invocation.call
        if call is None or call.done():
            return None
        log.error("Timeout value of %ss exceeded by function 'Functions.%s' (Id=%s): its thread cannot be "
                  "interrupted and is still running; its trigger (message lock, session, concurrency slot) "
                  "stays held until it ends", self._timeout, invocation.spec.name, invocation.invocation_id)
        task = asyncio.ensure_future(_thread_end(invocation, call, started))
        self._stragglers.add(task)  # keep a reference: HTTP and Event Grid do not wait for it
        task.add_done_callback(self._stragglers.discard)
        return task


async def _thread_end(invocation: Invocation, call: concurrent.futures.Future[Any], started: float) -> None:
    try:
        await asyncio.wrap_future(call)
        outcome = "returned"
    except Exception as exc:
        outcome = f"raised {type(exc).__name__}: {exc}"
    log.warning("Timed-out 'Functions.%s' (Id=%s) has finished its thread after %dms (%s); its result is "
                "discarded and its trigger released", invocation.spec.name, invocation.invocation_id,
                _elapsed_ms(started), outcome)


def _elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
