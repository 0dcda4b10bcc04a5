"""The one error a SQL filter reports when it cannot be compiled."""
from __future__ import annotations


class SqlFilterError(ValueError):
    """A syntax error or an unsupported construct in a SQL filter, with its 0-based position."""

    def __init__(self, message: str, position: int | None = None) -> None:
        self.message = message
        self.position = position
        where = f" (at position {position})" if position is not None else ""
        super().__init__(f"{message}{where}")
