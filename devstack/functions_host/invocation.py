"""Call a user function the way the Python worker does: sync in a thread pool, async on its own loop.

The worker's event loop is not the host's: the real host (.NET) talks to the worker over gRPC. Keeping
user code on a separate loop preserves that: a function that blocks (for example calling the
synchronous ServiceBusMessageActions) blocks only the worker, never the host's AMQP/HTTP loop.
"""
from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import azure.functions as func

from devstack.functions_host.errors import InvocationError
from devstack.functions_host.metadata import CONTEXT_PARAMETER, FunctionSpec

log = logging.getLogger(__name__)
T = TypeVar("T")


class OutValue(func.Out[T], Generic[T]):
    """The object a function's ``func.Out[...]`` parameter receives."""

    def __init__(self) -> None:
        self._value: T | None = None

    def set(self, val: T) -> None:
        """Set the value the host sends once the function returns."""
        self._value = val

    # func.Out annotates get() as returning T, but an output never set is None, as in the worker's own Out.
    def get(self) -> T | None:  # type: ignore[override]
        """The value set so far (None if never set)."""
        return self._value


@dataclass(frozen=True)
class _TraceContext:
    """The shape of the worker's trace context (azure.functions exports only the abstract base privately)."""

    trace_parent: str = ""
    trace_state: str = ""
    attributes: dict[str, str] = field(default_factory=dict)


class InvocationContext(func.Context):
    """``func.Context`` for a parameter named ``context``."""

    def __init__(self, invocation_id: str, spec: FunctionSpec, app_dir: str) -> None:
        self._invocation_id, self._spec, self._app_dir = invocation_id, spec, app_dir

    @property
    def invocation_id(self) -> str:
        """The invocation's id (also in the host's log lines)."""
        return self._invocation_id

    @property
    def function_name(self) -> str:
        """The function's name."""
        return self._spec.name

    @property
    def function_directory(self) -> str:
        """The app directory."""
        return self._app_dir

    @property
    def trace_context(self) -> Any:
        """An empty W3C trace context (the host does not create spans)."""
        return _TraceContext()

    @property
    def retry_context(self) -> Any:
        """Retry policies are not supported; there is no retry context."""
        return None

    @property
    def thread_local_storage(self) -> Any:
        """Per-thread storage, as the worker offers."""
        return threading.local()


@dataclass
class Invocation:
    """One call of a function: its id, arguments, and (after the call) its output values."""

    spec: FunctionSpec
    invocation_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    outputs: dict[str, Any] = field(default_factory=dict)
    # The thread-pool call of a sync function (None for async ones): a timed-out thread runs on, and
    # the runner needs to know when it ends.
    call: Future[Any] | None = None


class Invoker:
    """Runs user functions: a thread pool for ``def``, a dedicated event loop thread for ``async def``."""

    def __init__(self, app_dir: str, *, max_workers: int | None = None) -> None:
        self._app_dir = app_dir
        # Like the worker on Python 3.9+: PYTHON_THREADPOOL_THREAD_COUNT, else the executor's default
        # (min(32, cores + 4)) — it caps how many sync functions run at once, whatever the triggers allow.
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="function")
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="worker-loop", daemon=True)
        self._thread.start()

    async def invoke(self, invocation: Invocation, trigger_value: Any,
                     extra: dict[str, Any] | None = None) -> Invocation:
        """Call the function; fill ``invocation.outputs`` (including ``$return``) or raise InvocationError."""
        spec = invocation.spec
        outs = {b.name: OutValue[Any]() for b in spec.outputs if b.name != "$return"}
        kwargs = self._arguments(invocation, trigger_value, outs, extra or {})
        try:
            result = await self._call(invocation, kwargs)
        except Exception as exc:
            raise InvocationError(spec.name, invocation.invocation_id, exc) from exc
        invocation.outputs = {name: out.get() for name, out in outs.items() if out.get() is not None}
        if result is not None:
            invocation.outputs["$return"] = result
        return invocation

    def _arguments(self, invocation: Invocation, trigger_value: Any, outs: dict[str, OutValue[Any]],
                   extra: dict[str, Any]) -> dict[str, Any]:
        spec = invocation.spec
        values: dict[str, Any] = {spec.trigger.name: trigger_value, **outs, **extra}
        if CONTEXT_PARAMETER in spec.parameters and CONTEXT_PARAMETER not in values:
            values[CONTEXT_PARAMETER] = InvocationContext(invocation.invocation_id, spec, self._app_dir)
        return {name: values.get(name) for name in spec.parameters}

    async def _call(self, invocation: Invocation, kwargs: dict[str, Any]) -> Any:
        function = invocation.spec.user_function
        if invocation.spec.is_async:
            # Cancelling the wrapper cancels the coroutine on the worker loop (a timeout stops it).
            future = asyncio.run_coroutine_threadsafe(function(**kwargs), self._loop)
            return await asyncio.wrap_future(future)
        # Cancelling the wrapper cancels a call still queued for a thread, but not one already running.
        invocation.call = self._pool.submit(function, **kwargs)
        return await asyncio.wrap_future(invocation.call)

    def close(self) -> None:
        """Stop the worker loop and the thread pool (running calls are not interrupted)."""
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._pool.shutdown(wait=False, cancel_futures=True)
