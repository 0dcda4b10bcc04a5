"""Map typed broker errors to the AMQP error conditions the azure-servicebus SDK understands.

The SDK's table is azure/servicebus/_transport/_pyamqp_transport.py ``_ERROR_CODE_TO_ERROR_MAPPING``
(e.g. com.microsoft:message-lock-lost -> MessageLockLostError, amqp:not-found -> MessagingEntityNotFoundError).
"""
from __future__ import annotations

from devstack.servicebus.core import errors

INTERNAL_ERROR = "amqp:internal-error"
UNAUTHORIZED = "amqp:unauthorized-access"
TIMEOUT = "com.microsoft:timeout"

_CONDITIONS: dict[type[errors.BrokerError], tuple[str, int]] = {
    errors.EntityNotFound: ("amqp:not-found", 404),
    errors.MessageLockLost: ("com.microsoft:message-lock-lost", 410),
    errors.SessionLockLost: ("com.microsoft:session-lock-lost", 410),
    errors.SessionCannotBeLocked: ("com.microsoft:session-cannot-be-locked", 409),
    errors.MessageNotFound: ("com.microsoft:message-not-found", 404),
    errors.MessageSizeExceeded: ("amqp:link:message-size-exceeded", 413),
    errors.InvalidOperation: ("com.microsoft:argument-error", 400),
}


def condition_for(error: errors.BrokerError) -> str:
    """AMQP error condition for a broker error."""
    return _CONDITIONS.get(type(error), (INTERNAL_ERROR, 500))[0]


def status_for(error: errors.BrokerError) -> int:
    """Management status code for a broker error."""
    return _CONDITIONS.get(type(error), (INTERNAL_ERROR, 500))[1]
