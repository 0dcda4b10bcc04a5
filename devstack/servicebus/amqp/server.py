"""The proton event handler: connections, links, transfers and timers of the broker.

Shape follows qpid-proton's examples/broker.py (on_link_opening/on_sendable/on_delivery), on the
lower-level endpoint events so the broker controls attach replies, credit and dispositions itself.
``loop.EngineLoop`` feeds it the engine's events.
"""
from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from proton import Condition, Connection, Delivery, Endpoint, Event, Handler, Link

from devstack.servicebus.amqp import codec, limits
from devstack.servicebus.amqp.cbs import SasKey, TokenRejected, resource_path
from devstack.servicebus.amqp.errors import INTERNAL_ERROR, UNAUTHORIZED, condition_for
from devstack.servicebus.amqp.links import (
    SESSION_FILTER,
    ConnectionState,
    DeliveryLink,
    IngressLink,
    ReplyLink,
    _text,
    close_with,
    open_like_remote,
    refuse,
    reply_link_for,
)
from devstack.servicebus.amqp.management import ManagementNode
from devstack.servicebus.core import timers
from devstack.servicebus.core.broker import Broker
from devstack.servicebus.core.errors import BrokerError

log = logging.getLogger(__name__)

CBS_NODE = "$cbs"
MANAGEMENT_SUFFIX = "/$management"
DEFAULT_SESSION_WAIT = 60.0  # the service's default when the client sends no com.microsoft:timeout
TOKEN_CHECK_SECONDS = 0.5  # how often links are checked for lapsed tokens (SAS expiry is in whole seconds)
TIMEOUT_PROPERTY = "com.microsoft:timeout"

_T = TypeVar("_T")


def _of(event: Event, endpoint: _T | None) -> _T:
    """The connection, session, link or delivery an event is about.

    proton types every ``Event`` accessor as optional; each handler below reads only the ones its event
    type always carries, so a missing one is a broken event, handled like any other error (``guarded``).
    """
    if endpoint is None:
        raise LookupError(f"{event.type} event without the endpoint it is about")
    return endpoint


def guarded(method: Callable[..., None]) -> Callable[..., None]:
    """Keep one bad event from stopping the broker: log it and drop that link or connection."""
    @functools.wraps(method)
    def wrapper(self: BrokerHandler, event: Event) -> None:
        try:
            method(self, event)
        except Exception:
            log.exception("error handling %s", event.type)
            endpoint = event.link or event.connection
            if endpoint is not None and not endpoint.state & Endpoint.LOCAL_CLOSED:
                endpoint.condition = Condition(INTERNAL_ERROR, "internal error in devstack broker")
                endpoint.close()
    return wrapper


class BrokerHandler(Handler):
    """Serves the broker over AMQP 1.0 for every accepted connection."""

    def __init__(self, broker: Broker, sas_key: SasKey) -> None:
        super().__init__()
        self.broker = broker
        self.sas_key = sas_key
        self._connections: set[ConnectionState] = set()  # open ones, for token expiry
        self._next_token_check = 0.0

    # --- timers ------------------------------------------------------------------------------------

    def tick(self) -> None:
        """Run due broker work (lock expiry, scheduling, TTL, session waits)."""
        try:
            timers.tick(self.broker)
            self._expire_tokens()
        except Exception:
            log.exception("timer tick failed")

    def seconds_until_due(self) -> float:
        """How long the loop may sleep before ``tick`` has work: the earliest lock, schedule, expiry or session
        wait, or the next token check while any connection is open."""
        now = self.broker.clock()
        due = timers.next_due(self.broker)
        if self._connections:
            due = min(due, self._next_token_check)
        return max(0.0, due - now)

    # --- connections -------------------------------------------------------------------------------

    @guarded
    def on_connection_remote_open(self, event: Event) -> None:
        """Accept the connection."""
        connection = _of(event, event.connection)
        connection.sb_state = ConnectionState()
        self._connections.add(connection.sb_state)
        connection.container = connection.remote_container or "devstack-servicebus"
        connection.open()
        # DEBUG, not INFO: the SDK opens one connection per receiver, so a Functions host cycling
        # NEXT_AVAILABLE session receivers opens several a second and would drown `make up`'s log.
        log.debug("connection opened by %s", connection.remote_container)

    def on_session_remote_open(self, event: Event) -> None:
        """Accept every session."""
        _of(event, event.session).open()

    @guarded
    def on_session_remote_close(self, event: Event) -> None:
        """The client ended a session: its links went with it, so release what they held, then end ours.

        Ending a session detaches every link on it (AMQP 1.0 part 2, 2.5.5 "Session Endpoints"), but
        proton raises no link event for that, so the links are dropped here as on connection loss.
        """
        session = _of(event, event.session)
        state: ConnectionState | None = getattr(session.connection, "sb_state", None)
        if state is not None:
            self._release_links(state, session._impl)
        session.close()

    @guarded
    def on_connection_remote_close(self, event: Event) -> None:
        """Release what the connection held, then close it."""
        connection = _of(event, event.connection)
        self._release_connection(connection)
        connection.close()

    def on_transport_closed(self, event: Event) -> None:
        """A socket went away (possibly without closing): release its locks and sessions."""
        if event.connection is not None:
            if getattr(event.connection, "sb_state", None) is not None:
                log.debug("connection of %s closed", event.connection.remote_container)
            self._release_connection(event.connection)

    def _release_connection(self, connection: Connection) -> None:
        state: ConnectionState | None = getattr(connection, "sb_state", None)
        if state is None:
            return
        self._connections.discard(state)
        self._release_links(state, None)

    @staticmethod
    def _release_links(state: ConnectionState, session: Any) -> None:
        """Detach the receivers and drop the reply links of one session (``None``: every session)."""
        def on_session(link: Link) -> bool:
            return session is None or link.session._impl == session

        for receiver in [r for r in state.receivers if on_session(r.link)]:
            receiver.detach()
            state.receivers.remove(receiver)
        state.reply_links[:] = [r for r in state.reply_links if not on_session(r.link)]

    # --- links -------------------------------------------------------------------------------------

    @guarded
    def on_link_remote_open(self, event: Event) -> None:
        """Route a new link to CBS, management, a sender or a receiver."""
        link = _of(event, event.link)
        state: ConnectionState = link.connection.sb_state
        if link.is_sender:
            address = _path(link.remote_source.address)
            if address == CBS_NODE or address.lower().endswith(MANAGEMENT_SUFFIX):
                if address != CBS_NODE and not self._authorized(state, address):
                    return close_with(link, UNAUTHORIZED, f"Unauthorized access to '{address}'.")
                reply = ReplyLink(link)
                link.sb_link = reply
                state.reply_links.append(reply)
                if address != CBS_NODE:
                    state.authorized_links.append((link, address))
                return open_like_remote(link)
            return self._attach_receiver(link, state, address)
        address = _path(link.remote_target.address)
        if address == CBS_NODE:
            link.sb_link = "cbs"
            link.max_message_size = limits.CBS_REQUEST_SIZE
        elif address.lower().endswith(MANAGEMENT_SUFFIX):
            if not self._authorized(state, address):
                return close_with(link, UNAUTHORIZED, f"Unauthorized access to '{address}'.")
            link.sb_link = ManagementNode(self.broker, address[: -len(MANAGEMENT_SUFFIX)], owner=state)
            link.max_message_size = limits.MANAGEMENT_REQUEST_SIZE
            state.authorized_links.append((link, address))
        else:
            if not self._authorized(state, address):
                return close_with(link, UNAUTHORIZED, f"Unauthorized access to '{address}'.")
            # A sender to a missing entity is attached and every transfer refused with amqp:not-found:
            # the SDK reports that as MessagingEntityNotFoundError, whereas a detach racing its first
            # send surfaces only as an unknown error.
            ingress = IngressLink(link, self.broker, address)
            link.sb_link = ingress
            state.authorized_links.append((link, address))
            return ingress.open()
        open_like_remote(link)
        link.flow(100)

    def _attach_receiver(self, link: Link, state: ConnectionState, address: str) -> None:
        if not self._authorized(state, address):
            return close_with(link, UNAUTHORIZED, f"Unauthorized access to '{address}'.")
        filters = _filter_map(link.remote_source)
        sessionful = SESSION_FILTER in filters
        session = _text(filters.get(SESSION_FILTER))
        properties = link.remote_properties or {}
        timeout_ms = properties.get(TIMEOUT_PROPERTY)
        receiver = DeliveryLink(link, self.broker, address)
        link.sb_link = receiver
        try:
            receiver.entity = self.broker.attach(
                address, receiver, session, sessionful=sessionful,
                timeout=float(timeout_ms) / 1000 if timeout_ms else DEFAULT_SESSION_WAIT)
        except BrokerError as exc:
            receiver.closed = True
            return refuse(link, address, condition_for(exc), str(exc))
        state.receivers.append(receiver)
        state.authorized_links.append((link, address))
        if not sessionful:
            receiver.open()

    def _authorized(self, state: ConnectionState, address: str) -> bool:
        return state.authorized(address, self.broker.clock())

    def _expire_tokens(self) -> None:
        """Detach links whose token lapsed without a put-token renewal.

        Service Bus AMQP guide, "Claims-based authorization": the client must keep track of token
        expiry; "when a token expires, Service Bus promptly drops all links on the connection to the
        respective entity". The condition is amqp:unauthorized-access, which the SDK maps to
        ServiceBusAuthorizationError (retryable: it reconnects and puts a fresh token if it can).
        """
        now = self.broker.clock()
        if now < self._next_token_check:
            return
        self._next_token_check = now + TOKEN_CHECK_SECONDS
        for state in list(self._connections):
            for link in state.lapsed_links(now):
                log.info("token for %s expired: detaching link %s", _path(_link_address(link)), link.name)
                self._drop_link(state, link)
                close_with(link, UNAUTHORIZED, "ExpiredToken: the token for this entity has expired; "
                                               "put a new token on $cbs to keep links open.")

    @guarded
    def on_link_flow(self, event: Event) -> None:
        """New credit: deliver waiting messages or replies."""
        handler = getattr(event.link, "sb_link", None)
        if isinstance(handler, DeliveryLink) and handler.entity is not None and not handler.closed:
            self.broker.pump(handler.entity)
            link = _of(event, event.link)
            if link.drain_mode:
                # A drain request wants the rest of its credit back at once when nothing is ready
                # (AMQP 1.0 part 2, 2.6.7 "Flow Control": drain).
                link.drained()
        elif isinstance(handler, ReplyLink):
            handler.flush()

    @guarded
    def on_link_remote_close(self, event: Event) -> None:
        """The client detached: release what the link held, detach our end."""
        link = _of(event, event.link)
        state: ConnectionState | None = getattr(link.connection, "sb_state", None)
        if state is not None:
            self._drop_link(state, link)
        if not link.state & Endpoint.LOCAL_CLOSED:
            link.close()

    @staticmethod
    def _drop_link(state: ConnectionState, link: Link) -> None:
        """Release what one link held (its receiver's locks, its reply queue)."""
        handler = getattr(link, "sb_link", None)
        if isinstance(handler, DeliveryLink):
            handler.detach()
            if handler in state.receivers:
                state.receivers.remove(handler)
        elif isinstance(handler, ReplyLink) and handler in state.reply_links:
            state.reply_links.remove(handler)

    # --- transfers -----------------------------------------------------------------------------

    @guarded
    def on_delivery(self, event: Event) -> None:
        """A transfer from a client, or a client's disposition for one of ours."""
        delivery = _of(event, event.delivery)
        link = _of(event, event.link)
        handler = getattr(link, "sb_link", None)
        if link.is_sender:
            if isinstance(handler, DeliveryLink) and delivery.updated:
                handler.on_disposition(delivery)
            return
        if not delivery.readable and not delivery.aborted:
            return
        state: ConnectionState = link.connection.sb_state
        connection_limit = limits.CONNECTION_BUFFER if state.grants else limits.UNAUTHENTICATED_CONNECTION_BUFFER
        payload = limits.collect(link, delivery, state.budget, connection_limit)
        if payload is None:
            return
        if isinstance(handler, IngressLink):
            return handler.on_transfer(delivery, payload)
        if handler is None:  # a transfer on a link we refused: nothing to do with it
            delivery.settle()
            return
        delivery.update(Delivery.ACCEPTED)
        delivery.settle()
        link.flow(1)
        if handler == "cbs":
            self._put_token(link, payload)
        elif isinstance(handler, ManagementNode):
            reply, reply_to = handler.handle(payload)
            target = reply_link_for(link.connection.sb_state, _path(link.remote_target.address), reply_to)
            if target is not None:
                target.send(reply)

    def _put_token(self, link: Link, payload: bytes) -> None:
        try:
            parts = codec.sections(payload)
            props = _section(payload, parts, codec.PROPERTIES)
            token = _section(payload, parts, codec.VALUE)
        except codec.CodecError:  # malformed request: refused like a bad token, the link stays
            props, token = None, None
        props = (list(props) if isinstance(props, list) else []) + [None] * 13
        state: ConnectionState = link.connection.sb_state
        try:
            grant = self.sas_key.validate(_text(token) or "", self.broker.clock())
            state.add_grant(grant)
            status, description = 202, "Accepted"
            log.debug("token accepted for %s", grant.resource)
        except TokenRejected as exc:
            status, description = 401, str(exc)
            log.info("token refused: %s", exc)

        reply = b"".join([
            codec.encode_value(codec.Described(codec.ulong(codec.PROPERTIES), [None] * 5 + [props[0]])),
            codec.encode_value(codec.Described(codec.ulong(codec.APPLICATION_PROPERTIES),
                                               {"status-code": status, "status-description": description})),
            codec.encode_value(codec.Described(codec.ulong(codec.VALUE), None)),
        ])
        target = reply_link_for(state, CBS_NODE, _text(props[4]))
        if target is not None:
            target.send(reply)

def _path(address: Any) -> str:
    return resource_path(_text(address) or "")


def _link_address(link: Link) -> Any:
    return link.remote_source.address if link.is_sender else link.remote_target.address


def _filter_map(terminus: Any) -> dict[Any, Any]:
    data = terminus.filter
    data.rewind()
    if not data.next():
        return {}
    value = data.get_object()
    return value if isinstance(value, dict) else {}


def _section(buf: bytes, parts: list[tuple[int, int, int]], code: int) -> Any:
    for part_code, start, end in parts:
        if part_code == code:
            return codec.decode_value(buf[start:end])
    return None
