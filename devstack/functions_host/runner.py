"""Run one invocation end to end: call the function, then send its output bindings; log as the host does."""
from __future__ import annotations

import asyncio
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

    async def run(self, spec: FunctionSpec, trigger_value: Any, *, binding_data: dict[str, Any],
                  extra: dict[str, Any] | None = None) -> Invocation:
        """Invoke and send outputs; raise InvocationError (already logged) when either fails."""
        invocation = Invocation(spec)
        started = time.monotonic()
        log.info("Executing 'Functions.%s' (Id=%s)", spec.name, invocation.invocation_id)
        try:
            # functionTimeout bounds the whole invocation, output bindings included. A sync function
            # cannot be interrupted: its thread runs on, but the invocation counts as failed.
            await asyncio.wait_for(self._invoke_and_send(invocation, trigger_value, extra), self._timeout)
        except Exception as exc:
            timed_out = isinstance(exc, asyncio.TimeoutError)
            cause = (TimeoutError(f"exceeded functionTimeout of {self._timeout}s") if timed_out
                     else exc.cause if isinstance(exc, InvocationError) else exc)
            log.error("Executed 'Functions.%s' (Failed, Id=%s, Duration=%dms) binding data %s: %s",
                      spec.name, invocation.invocation_id, _elapsed_ms(started), binding_data, cause,
                      exc_info=None if timed_out else cause)
            raise InvocationError(spec.name, invocation.invocation_id, cause) from None
        log.info("Executed 'Functions.%s' (Succeeded, Id=%s, Duration=%dms)", spec.name,
                 invocation.invocation_id, _elapsed_ms(started))
        return invocation

    async def _invoke_and_send(self, invocation: Invocation, trigger_value: Any,
                               extra: dict[str, Any] | None) -> None:
        await self._invoker.invoke(invocation, trigger_value, extra)
        await self._outputs.send(invocation.spec, invocation.outputs)


def _elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
