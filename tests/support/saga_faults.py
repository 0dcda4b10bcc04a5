"""Fault hooks on the ports the saga router builds: fail the next calls of a port, or stop a handler right after
its k-th port call (a simulated process death, or a test's own action run in between — a chosen interleaving)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from core.ports import DocumentContainer, EventPublisher, MessageBus, TransientFault

BUS, EVENTS = "bus", "events"  # port names for the message bus and the Event Grid publisher; containers use their names


class Crash(BaseException):
    """The process died mid-invocation: the message is neither completed nor abandoned, its lock just lapses.

    A BaseException on purpose: the app's ``except Exception`` (abandon-and-raise, Remediation's retry count) must
    not see it, exactly as it would not run when the process is killed."""


def _port_methods(protocol: type) -> frozenset[str]:
    return frozenset(name for name, value in vars(protocol).items() if callable(value) and not name.startswith("_"))


# Only the ports' own operations count as calls (not inspection helpers such as InMemoryBus.to or .all()).
PORT_METHODS: dict[str, frozenset[str]] = {
    BUS: _port_methods(MessageBus), EVENTS: _port_methods(EventPublisher),
    "container": _port_methods(DocumentContainer)}


@dataclass
class _Hook:
    port: str
    method: str | None
    remaining: int  # failures still to raise, or calls still to go before ``then`` runs
    error: BaseException | type[BaseException] | None = None  # a failure hook raises this before the call
    then: Callable[[], object] | None = None  # an after-call hook runs this after the ``remaining``-th call
    function: str | None = None  # only calls made while this function runs (timers make port calls too)
    until: Callable[[], bool] | None = None  # an outage: fails every call until this says it is over

    def applies(self, port: str, method: str, running: str | None) -> bool:
        return self.port == port and self.method in (None, method) and self.function in (None, running)


@dataclass(frozen=True)
class PortCall:
    """One call of a port operation, as the router saw it (for assertions about what a handler did)."""

    port: str
    method: str
    outcome: str  # "ok", or the exception type the call raised
    function: str | None = None  # the function that made it (None: the test itself)


class Faults:
    """The hooks armed by a test, consulted around every port call."""

    def __init__(self) -> None:
        self.calls: list[PortCall] = []
        self.running: list[str] = []  # the functions being invoked, innermost last (the router pushes and pops)
        self._hooks: list[_Hook] = []

    def fail_next(self, port: str, n: int = 1, error: BaseException | type[BaseException] = TransientFault,
                  method: str | None = None, function: str | None = None) -> None:
        """The next ``n`` calls of ``port`` (optionally only of ``method``, only from ``function``) raise ``error``
        without reaching the fake."""
        self._hooks.append(_Hook(port, method, n, error=error, function=function))

    def outage(self, port: str, over: Callable[[], bool], error: BaseException | type[BaseException] = TransientFault,
               method: str | None = None) -> None:
        """Every call of ``port`` raises ``error`` until ``over()`` is true (a dependency down for a while)."""
        self._hooks.append(_Hook(port, method, 1, error=error, until=over))

    def after_call(self, port: str, then: Callable[[], object], calls: int = 1, method: str | None = None,
                   function: str | None = None) -> None:
        """Run ``then()`` right after the ``calls``-th (counted from now) call of ``port`` succeeded."""
        self._hooks.append(_Hook(port, method, calls, then=then, function=function))

    def crash_after(self, port: str, calls: int = 1, method: str | None = None, function: str | None = None) -> None:
        """Raise Crash right after the ``calls``-th call of ``port`` (e.g. after it saved, before it sent)."""
        self.after_call(port, _raise_crash, calls, method, function)

    stop_between = crash_after

    def clear(self) -> None:
        """Disarm every hook."""
        self._hooks.clear()

    def around(self, port: str, method: str, call: Callable[[], Any]) -> Any:
        """Run one port call with the armed hooks around it."""
        running = self.running[-1] if self.running else None
        for hook in [h for h in self._hooks if h.until is not None and h.until()]:
            self._hooks.remove(hook)  # the outage is over
        for hook in [h for h in self._hooks if h.error is not None and h.applies(port, method, running)][:1]:
            if hook.until is None:
                hook.remaining -= 1
                if hook.remaining <= 0:
                    self._hooks.remove(hook)
            error = hook.error
            raised = error(f"injected fault on {port}.{method}") if isinstance(error, type) else error
            self.calls.append(PortCall(port, method, type(raised).__name__, running))
            raise raised  # type: ignore[misc]
        try:
            result = call()
        except BaseException as exc:
            self.calls.append(PortCall(port, method, type(exc).__name__, running))
            raise
        self.calls.append(PortCall(port, method, "ok", running))
        for hook in [h for h in self._hooks if h.then is not None and h.applies(port, method, running)]:
            hook.remaining -= 1
            if hook.remaining <= 0:
                self._hooks.remove(hook)
                hook.then()
        return result


def _raise_crash() -> None:
    raise Crash("simulated process death (saga router crash hook)")


class FaultyPort:
    """Wraps an in-memory port: its operations go through ``Faults``; everything else (inspection) passes through."""

    def __init__(self, inner: Any, port: str, methods: frozenset[str], faults: Faults) -> None:
        object.__setattr__(self, "_inner", inner)
        object.__setattr__(self, "_port", port)
        object.__setattr__(self, "_methods", methods)
        object.__setattr__(self, "_faults", faults)

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._inner, name)
        if name not in self._methods:
            return value
        return lambda *args, **kwargs: self._faults.around(self._port, name, lambda: value(*args, **kwargs))

    def __setattr__(self, name: str, value: Any) -> None:
        # e.g. `deps.bus.fail_next = ...` as older tests do must reach the fake, not this wrapper.
        setattr(self._inner, name, value)
