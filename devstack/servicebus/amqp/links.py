"""Per-link behaviour: delivering messages to receivers, accepting transfers from senders, replies."""
from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field

from cproton import ffi, lib  # type: ignore[import-untyped]  # proton's cffi C binding ships no types
from proton import Condition, Delivery, Endpoint, Link, Terminus, symbol

from devstack.servicebus.amqp import codec, limits
from devstack.servicebus.amqp.cbs import Grant
from devstack.servicebus.amqp.errors import INTERNAL_ERROR, TIMEOUT, condition_for
from devstack.servicebus.amqp.limits import reject_condition
from devstack.servicebus.core.broker import SESSION_TIMEOUT, Broker, new_lock_token
from devstack.servicebus.core.entity import Entity
from devstack.servicebus.core.errors import BrokerError, MessageLockLost
from devstack.servicebus.core.message import StoredMessage
from devstack.servicebus.core.settlement import Outcome, settle

log = logging.getLogger(__name__)

SESSION_FILTER = symbol("com.microsoft:session-filter")
LOCKED_UNTIL_UTC = symbol("com.microsoft:locked-until-utc")
DOTNET_EPOCH_TICKS = 621355968000000000  # .NET ticks at the Unix epoch (SDK constants.DATETIMEOFFSET_EPOCH)
INGRESS_CREDIT = 500
_REMOTE_CLOSED = Endpoint.REMOTE_CLOSED


def _new_delivery(link: Link, tag: bytes) -> Delivery:
    """A new outgoing delivery tagged with raw bytes (a lock token: the SDK reads it as uuid.UUID(bytes_le=tag))."""
    # proton annotates the tag as str, but pn_delivery takes bytes, and a lock token must stay 16 raw bytes.
    return link.delivery(tag)  # type: ignore[arg-type]


@dataclass(eq=False)
class ConnectionState:
    """What the broker remembers per client connection."""

    grants: dict[str, Grant] = field(default_factory=dict)  # by resource: a renewal replaces the old
    receivers: list[DeliveryLink] = field(default_factory=list)
    reply_links: list[ReplyLink] = field(default_factory=list)
    budget: limits.ConnectionBudget = field(default_factory=limits.ConnectionBudget)
    # Links attached on the strength of a token, and the entity path each needs a token for.
    authorized_links: list[tuple[Link, str]] = field(default_factory=list)

    def add_grant(self, grant: Grant) -> None:
        """Record an accepted put-token; the later expiry wins, so grants stay one per resource."""
        known = self.grants.get(grant.resource)
        if known is None or known.expires_at < grant.expires_at:
            self.grants[grant.resource] = grant

    def authorized(self, path: str, now: float) -> bool:
        """True while some unexpired token covers the entity path."""
        return any(grant.covers(path, now) for grant in self.grants.values())

    def lapsed_links(self, now: float) -> list[Link]:
        """Open links whose token expired without a renewal (closed links are forgotten here)."""
        live = [(link, path) for link, path in self.authorized_links
                if not link.state & (Endpoint.LOCAL_CLOSED | Endpoint.REMOTE_CLOSED)]
        self.authorized_links[:] = live
        return [link for link, path in live if not self.authorized(path, now)]


def open_like_remote(link: Link) -> None:
    """Attach our end echoing the client's source, target and settle modes."""
    link.source.copy(link.remote_source)
    link.target.copy(link.remote_target)
    link.snd_settle_mode = link.remote_snd_settle_mode
    link.rcv_settle_mode = link.remote_rcv_settle_mode
    link.open()


def close_with(link: Link, condition: str, description: str) -> None:
    """Detach our end with an AMQP error the SDK maps to an exception (attach first, echoing the client)."""
    if link.state & Link.LOCAL_UNINIT:
        open_like_remote(link)
    link.condition = Condition(condition, description)
    link.close()


def refuse(link: Link, path: str, condition: str, description: str) -> None:
    """Refuse a receiver: an attach with a null source, then the detach carrying the error.

    AMQP 1.0 part 2, 2.6.3: a peer that will not create the terminus still answers the attach,
    "indicating that the link endpoint has no associated local terminus", and immediately detaches.
    The null source is what tells the SDK the link never opened: with an echoed source it took the
    attach for success and returned from ``__enter__`` before reading the detach (so a
    NEXT_AVAILABLE_SESSION receiver looked open with no session instead of raising
    OperationTimeoutError). ``path`` names the refused entity in logs only.
    """
    open_like_remote(link)
    link.source.type = Terminus.UNSPECIFIED  # encoded as a null source
    log.debug("refusing receiver on %s: %s", path, condition)
    link.condition = Condition(condition, description)
    link.close()


class DeliveryLink:
    """Our sending end of a client's receiver: the broker's Consumer for one queue/subscription."""

    def __init__(self, link: Link, broker: Broker, path: str) -> None:
        self.link = link
        self.broker = broker
        self.path = path
        self.peek_lock = link.remote_snd_settle_mode != Link.SND_SETTLED
        self.session_id: str | None = None
        self.entity: Entity | None = None
        self.opened = False
        self.closed = False
        self._impl = link._impl  # raw engine handles: credit() runs once per message delivered
        self._session_impl = lib.pn_link_session(link._impl)

    def open(self) -> None:
        """Send our attach (non-session receivers attach at once)."""
        if not self.opened:
            open_like_remote(self.link)
            self.opened = True

    def credit(self) -> int:
        """Credit the client has granted us (none once the link or its session is remotely closed)."""
        if not self.opened or self.closed:
            return 0
        impl = self._impl
        # Credit survives a detach or end in proton's bookkeeping; a message sent on it would sit
        # locked on a dead link until its lock ran out (AMQP 1.0 part 2, 2.7.6: end detaches links).
        if lib.pn_link_state(impl) & _REMOTE_CLOSED or lib.pn_session_state(self._session_impl) & _REMOTE_CLOSED:
            return 0
        return lib.pn_link_credit(impl)

    def deliver(self, message: StoredMessage, token: bytes | None, locked_until: float | None) -> None:
        """Transfer one message; the delivery tag is the lock token (SDK: uuid.UUID(bytes_le=tag))."""
        payload = codec.encode_for_delivery(message, locked_until=locked_until)
        delivery = _new_delivery(self.link, token or new_lock_token())
        self.link.send(payload)
        self.link.advance()
        if not self.peek_lock:
            delivery.settle()

    def session_assigned(self, session_id: str, locked_until: float) -> None:
        """Attach with the chosen session in the source filter and its lock expiry in .NET ticks."""
        self.link.source.copy(self.link.remote_source)
        self.link.target.copy(self.link.remote_target)
        self.link.source.filter.clear()
        self.link.source.filter.put_dict({SESSION_FILTER: session_id})
        ticks = DOTNET_EPOCH_TICKS + int(locked_until * 1000) * 10000
        self.link.properties = {LOCKED_UNTIL_UTC: ticks}
        self.link.snd_settle_mode = self.link.remote_snd_settle_mode
        self.link.rcv_settle_mode = self.link.remote_rcv_settle_mode
        self.link.open()
        self.opened = True
        log.info("session %r locked on %s", session_id, self.path)

    def session_closed(self, condition: str, description: str) -> None:
        """No session in time (timeout) or the session lock expired: detach with that error."""
        wire = TIMEOUT if condition == SESSION_TIMEOUT else f"com.microsoft:{condition}"
        if not self.opened:
            refuse(self.link, self.path, wire, description)
        else:
            close_with(self.link, wire, description)
        self.opened = True
        self.detach()

    def detach(self) -> None:
        """Give the broker back everything this receiver held."""
        if self.closed:
            return
        self.closed = True
        if self.entity is not None:
            self.broker.detach(self.entity, self)

    def on_disposition(self, delivery: Delivery) -> None:
        """The client settled a message: complete, abandon, defer, dead-letter or release it."""
        state = delivery.remote_state
        outcome, reason, description = _outcome(delivery)
        if outcome is None or delivery.local_state:
            return
        try:
            settle(self.broker, delivery_tag(delivery), outcome, reason, description)
        except MessageLockLost as exc:
            delivery.local.condition = reject_condition(condition_for(exc), str(exc))
            delivery.update(Delivery.REJECTED)
            delivery.settle()
            return
        except BrokerError as exc:
            delivery.local.condition = reject_condition(condition_for(exc), str(exc))
            delivery.update(Delivery.REJECTED)
            delivery.settle()
            return
        if state == Delivery.MODIFIED:
            delivery.local.failed = delivery.remote.failed
            delivery.local.undeliverable = delivery.remote.undeliverable
        # Dead-letter is answered with a plain `rejected` (an error there would read as a failure).
        delivery.update(state)
        delivery.settle()


def delivery_tag(delivery: Delivery) -> bytes:
    """The raw delivery tag (proton's ``Delivery.tag`` decodes it as UTF-8, which lock tokens are not)."""
    raw = lib.pn_delivery_tag(delivery._impl)
    return bytes(ffi.unpack(raw.start, raw.size))


def _outcome(delivery: Delivery) -> tuple[Outcome | None, str | None, str | None]:
    state = delivery.remote_state
    if state == Delivery.ACCEPTED:
        return Outcome.COMPLETE, None, None
    if state == Delivery.RELEASED:
        return Outcome.RELEASE, None, None
    if state == Delivery.MODIFIED:
        if delivery.remote.undeliverable:
            return Outcome.DEFER, None, None
        return (Outcome.ABANDON if delivery.remote.failed else Outcome.RELEASE), None, None
    if state == Delivery.REJECTED:
        info = {}
        condition = delivery.remote.condition
        if condition is not None and isinstance(condition.info, dict):
            info = {str(k): v for k, v in condition.info.items()}
        return Outcome.DEAD_LETTER, _text(info.get("DeadLetterReason")), _text(info.get("DeadLetterErrorDescription"))
    return None, None, None


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, (bytes, memoryview)):
        return bytes(value).decode("utf-8", "replace")
    return str(value)


class IngressLink:
    """Our receiving end of a client's sender: every transfer is stored before it is accepted."""

    def __init__(self, link: Link, broker: Broker, path: str) -> None:
        self.link = link
        self.broker = broker
        self.path = path

    def open(self) -> None:
        """Attach, advertise the size limit and grant credit."""
        self.link.max_message_size = limits.INGRESS_MESSAGE_SIZE
        open_like_remote(self.link)
        self.link.flow(INGRESS_CREDIT)

    def on_transfer(self, delivery: Delivery, payload: bytes) -> None:
        """Store the message(s), commit, then settle the transfer as accepted (or rejected)."""
        try:
            inner = codec.split_batch(payload) or [payload]
            self.broker.send(self.path, [codec.read_envelope(m) for m in inner])
            delivery.update(Delivery.ACCEPTED)
        except BrokerError as exc:
            log.info("send to %s refused: %s", self.path, exc)
            delivery.local.condition = reject_condition(condition_for(exc), str(exc))
            delivery.update(Delivery.REJECTED)
        except codec.CodecError as exc:
            delivery.local.condition = reject_condition("amqp:decode-error", f"malformed message: {exc}")
            delivery.update(Delivery.REJECTED)
        delivery.settle()
        if self.link.credit < INGRESS_CREDIT // 2:
            self.link.flow(INGRESS_CREDIT - self.link.credit)


class ReplyLink:
    """Our sending end of a management/CBS client's reply link; replies wait here for credit."""

    def __init__(self, link: Link) -> None:
        self.link = link
        self.address = _text(link.remote_target.address) or ""
        self.node = _text(link.remote_source.address) or ""
        self.pending: deque[bytes] = deque()

    def send(self, payload: bytes) -> None:
        """Queue a reply and send what credit allows."""
        self.pending.append(payload)
        self.flush()

    def flush(self) -> None:
        """Send queued replies, presettled."""
        while self.pending and self.link.credit > 0:
            delivery = _new_delivery(self.link, new_lock_token())
            self.link.send(self.pending.popleft())
            self.link.advance()
            delivery.settle()


def reply_link_for(state: ConnectionState, node: str, reply_to: str | None) -> ReplyLink | None:
    """The link a reply goes on: the one whose target is the request's reply-to, else the node's."""
    candidates = [r for r in state.reply_links if r.node.lower() == node.lower()]
    for reply in candidates:
        if reply_to and reply.address == reply_to:
            return reply
    return candidates[0] if candidates else None


__all__ = ["INTERNAL_ERROR", "ConnectionState", "DeliveryLink", "IngressLink", "ReplyLink", "close_with"]
