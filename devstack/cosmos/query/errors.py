"""The one exception the query engine raises: a message plus where in the query text it applies."""
from __future__ import annotations


class QueryError(ValueError):
    """A query that cannot be parsed, uses an unsupported construct, or cannot be executed.

    ``position`` is the 0-based character offset in the query text, or None when the error is not
    tied to one place (an unknown parameter passed at execution time still points at its use).
    """

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.position = position

    def __str__(self) -> str:
        if self.position is None:
            return self.message
        return f"{self.message} (at position {self.position})"


def unsupported(construct: str, position: int | None) -> QueryError:
    """The error for a real Cosmos DB construct this engine does not implement."""
    return QueryError(f"unsupported: {construct}", position)
