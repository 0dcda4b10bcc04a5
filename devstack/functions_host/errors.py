"""Typed errors of the Functions host."""
from __future__ import annotations


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
