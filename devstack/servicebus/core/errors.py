"""Typed broker errors; the AMQP layer maps each one to the condition the SDK understands."""
from __future__ import annotations


class BrokerError(Exception):
    """Base of every error the broker reports to a client."""


class EntityNotFound(BrokerError):
    """The queue, topic or subscription does not exist."""


class MessageLockLost(BrokerError):
    """The lock token is unknown or its lock has expired."""


class SessionLockLost(BrokerError):
    """The session lock expired or belongs to another receiver."""


class SessionCannotBeLocked(BrokerError):
    """Another receiver holds the session."""


class MessageNotFound(BrokerError):
    """No message with that sequence number is in the expected state."""


class MessageSizeExceeded(BrokerError):
    """The message is larger than the entity allows."""


class InvalidOperation(BrokerError):
    """The request is well-formed but not allowed (e.g. no SessionId for a session entity)."""


class TopologyError(ValueError):
    """The Config.json topology is malformed."""
