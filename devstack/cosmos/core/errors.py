"""Typed errors raised by the Cosmos core; the HTTP layer maps each to a status code (see http/errors.py)."""
from __future__ import annotations


class CosmosError(Exception):
    """Base of every error the core reports to a client."""

    #: Cosmos DB REST error code name, used as the ``code`` field of the error body.
    code = "InternalServerError"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(CosmosError):
    """The request is malformed or asks for something the service refuses (HTTP 400)."""

    code = "BadRequest"


class NotFound(CosmosError):
    """The addressed resource does not exist (HTTP 404)."""

    code = "NotFound"


class Conflict(CosmosError):
    """A resource with the same id already exists (HTTP 409)."""

    code = "Conflict"


class PreconditionFailed(CosmosError):
    """An If-Match etag or a patch filter condition did not hold (HTTP 412)."""

    code = "PreconditionFailed"


class TooLarge(CosmosError):
    """The item or request exceeds the documented 2 MB limit (HTTP 413)."""

    code = "RequestEntityTooLarge"


class CrossPartitionQueryNotServable(CosmosError):
    """A query without partition key and without the cross-partition flag (HTTP 400, substatus 1004).

    The SDK answers this by asking for a query plan and the partition key ranges, then re-sends the
    query once per range (azure/cosmos/_execution_context/execution_dispatcher.py).
    """

    code = "BadRequest"
