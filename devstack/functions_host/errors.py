"""Typed errors of the Functions host."""
from __future__ import annotations

from collections.abc import Awaitable


class StartupError(Exception):
    """The app cannot be hosted (bad app, binding or setting); the message names what and where."""


class InvocationError(Exception):
    """A function invocation failed (the function raised, timed out, or an output could not be sent)."""

    def __init__(self, function_name: str, invocation_id: str, cause: BaseException) -> None:
        super().__init__(f"function {function_name!r} (invocation {invocation_id}) failed: "
                         f"{type(cause).__name__}: {cause}")
        self.function_name = function_name
        self.invocation_id = invocation_id
        self.cause = cause
        # Set when a sync function timed out and its thread runs on: completes when the thread ends.
        # A trigger that must not start the same work again (a message, a session, a slot) awaits it.
        self.still_running: Awaitable[None] | None = None
