"""Bounds on what one client may make the broker buffer, and reassembly of multi-frame transfers.

A transfer may span many frames (``more=true``, AMQP 1.0 part 2, 2.7.5) and proton keeps every byte
until the last frame arrives, so without a bound one unauthenticated client could fill the broker's
memory. Limits follow Azure Service Bus where it documents one (learn.microsoft.com/azure/
service-bus-messaging/service-bus-quotas: 256 KB per message on Standard, 100 MB on Premium); a message
over its link's limit is refused with ``amqp:link:message-size-exceeded`` (part 2, 2.8.17
"link-error": "the peer sent a larger message than is supported on the link") and nothing past the
limit is kept; a transfer that runs on far past it gets the link detached with that condition.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from proton import Condition, Connection, Delivery, Endpoint, Link, symbol

log = logging.getLogger(__name__)

MESSAGE_SIZE = 256 * 1024  # Azure Standard tier
BATCH_ENVELOPE = 4096  # room for a batch's own sections around its 256 KB of messages
INGRESS_MESSAGE_SIZE = MESSAGE_SIZE + BATCH_ENVELOPE  # advertised as max-message-size on sender links
# Management requests carry lock tokens, sequence numbers or, for schedule-message, whole messages.
MANAGEMENT_REQUEST_SIZE = 1024 * 1024
# A put-token request is a SAS token (~300 bytes) or an Entra ID JWT (a few KB); nothing more is
# accepted before a connection has authenticated.
CBS_REQUEST_SIZE = 64 * 1024
# Bytes of unfinished transfers one connection may hold across all its links. An unauthenticated
# connection can only reach $cbs, so it gets no more than one put-token request's worth.
CONNECTION_BUFFER = 8 * 1024 * 1024
UNAUTHENTICATED_CONNECTION_BUFFER = CBS_REQUEST_SIZE

# A message over its link's limit that does end is refused with the `rejected` outcome (the SDK
# raises MessageSizeExceededError); its bytes past the limit are dropped, not kept. Only a transfer
# still going this many times past the limit gets the link detached: it may never end.
DETACH_FACTOR = 4

MESSAGE_SIZE_EXCEEDED = "amqp:link:message-size-exceeded"
RESOURCE_LIMIT_EXCEEDED = "amqp:resource-limit-exceeded"


def reject_condition(condition: str, description: str) -> Condition:
    """An error for a `rejected` outcome; ``info`` is always sent because the SDK indexes it."""
    return Condition(condition, description, {symbol("com.microsoft:tracking-id"): "devstack"})


@dataclass(eq=False)
class Reassembly:
    """Bytes of one link's current unfinished transfer, and whether the rest of it is being dropped."""

    limit: int
    buffer: bytearray | None = None
    oversize: int = 0  # bytes seen of a transfer already past the limit (their buffer is gone)
    discarding: bool = False


@dataclass(eq=False)
class ConnectionBudget:
    """Unfinished-transfer bytes one connection holds right now."""

    buffered: int = 0
    exhausted: bool = False


def reassembly_for(link: Link, limit: int) -> Reassembly:
    """The link's reassembly state (created on first use)."""
    state: Reassembly | None = getattr(link, "sb_reassembly", None)
    if state is None:
        state = link.sb_reassembly = Reassembly(limit)
    return state


def collect(link: Link, delivery: Delivery, budget: ConnectionBudget, connection_limit: int) -> bytes | None:
    """The whole payload once its last frame is in; None while it is partial or being refused.

    Bytes are taken out of proton as each frame arrives, so the only buffer is ours and it is
    counted against both the link's and the connection's limit.
    """
    # Our receiving links all advertise max-message-size; any other (a refused or closed link a
    # client sends on anyway) has 0 here and gets nothing buffered.
    state = reassembly_for(link, link.max_message_size)
    chunk = (link.recv(delivery.pending) or b"") if delivery.pending > 0 else b""
    # Once we detached the link (or closed the connection) nothing more on it is taken in, even
    # from a client that sends on before it reads our detach (part 2, 2.6.5: it may still arrive).
    if budget.exhausted or state.discarding or delivery.aborted or link.state & Endpoint.LOCAL_CLOSED:
        _release(state, budget)
        state.oversize = 0
        _finish_dropped(link, delivery)
        return None
    if state.oversize:
        _count_oversize(link, delivery, state, len(chunk))
        return None
    if state.buffer is None and not delivery.partial:
        return _complete(link, delivery, state, chunk)
    if state.buffer is None:
        state.buffer = bytearray()
    state.buffer += chunk
    budget.buffered += len(chunk)
    if len(state.buffer) > state.limit:
        seen = len(state.buffer)
        _release(state, budget)
        _count_oversize(link, delivery, state, seen)
        return None
    if budget.buffered > connection_limit:
        log.info("connection buffers %d bytes of unfinished transfers: closing it", budget.buffered)
        _release(state, budget)
        budget.exhausted = True
        _close_connection(link.connection, connection_limit)
        return None
    if delivery.partial:
        return None
    payload = bytes(state.buffer)
    _release(state, budget)
    return _complete(link, delivery, state, payload)


def _count_oversize(link: Link, delivery: Delivery, state: Reassembly, more: int) -> None:
    """Drop the bytes of a transfer past its limit: reject it when it ends, detach if it goes on."""
    state.oversize += more
    if state.oversize > state.limit * DETACH_FACTOR or not state.limit:
        log.info("transfer on %s passed %d bytes: detaching the link", link.name, state.oversize)
        state.oversize = 0
        state.discarding = delivery.partial
        _detach_oversized(link, state.limit)
        if not delivery.partial:
            _finish_dropped(link, delivery)
        return None
    if not delivery.partial:
        size, state.oversize = state.oversize, 0
        _reject_oversized(link, delivery, size, state.limit)
    return None


def _complete(link: Link, delivery: Delivery, state: Reassembly, payload: bytes) -> bytes | None:
    if len(payload) > state.limit:  # a single frame can already be over a small limit
        _count_oversize(link, delivery, state, len(payload))
        return None
    link.advance()
    return payload


def _reject_oversized(link: Link, delivery: Delivery, size: int, limit: int) -> None:
    """Settle a finished over-size transfer as `rejected` (AMQP 1.0 part 3, 3.4.2); the link stays."""
    log.info("transfer of %d bytes on %s is over the %d-byte limit: rejected", size, link.name, limit)
    if link.current is delivery:
        link.advance()
    delivery.local.condition = reject_condition(
        MESSAGE_SIZE_EXCEEDED, f"The message of {size} bytes exceeds the limit ({limit} bytes) of this link.")
    delivery.update(Delivery.REJECTED)
    delivery.settle()


def _release(state: Reassembly, budget: ConnectionBudget) -> None:
    if state.buffer is not None:
        budget.buffered -= len(state.buffer)
        state.buffer = None


def _finish_dropped(link: Link, delivery: Delivery) -> None:
    """Forget a refused transfer once its last frame (or an abort) is in; proton frees it on settle."""
    if not delivery.partial or delivery.aborted:
        reassembly_for(link, 0).discarding = False
        if link.current is delivery:
            link.advance()
        delivery.settle()


def _detach_oversized(link: Link, limit: int) -> None:
    if not link.state & Endpoint.LOCAL_CLOSED:
        link.condition = Condition(MESSAGE_SIZE_EXCEEDED,
                                   f"The received message (delivery) exceeds the limit ({limit} bytes) of this link.")
        link.close()


def _close_connection(connection: Connection, limit: int) -> None:
    if not connection.state & Endpoint.LOCAL_CLOSED:
        connection.condition = Condition(RESOURCE_LIMIT_EXCEEDED,
                                         f"More than {limit} bytes of unfinished transfers on one connection.")
        connection.close()
