"""A small selector loop driving proton's engine (Connection + Transport + Collector) directly.

proton's Python reactor dispatches every engine event through a handler tree and a global I/O handler;
for a broker that costs more CPU per message than the client it serves. This loop does only what a
server needs: accept, push bytes into each transport, hand collector events to one handler, flush
output, and call the handler's periodic ``tick``. (Engine API: qpid-proton "Connection Engine" /
``pn_transport_push``/``pn_transport_peek`` as used by its own I/O layers.)
"""
from __future__ import annotations

import contextlib
import errno
import logging
import selectors
import socket
import time
from collections.abc import Callable
from typing import Any, Protocol

from proton import Collector, Connection, Event, Transport

from devstack.servicebus.amqp.sequencing import DeliverySequencer

log = logging.getLogger(__name__)

READ_CHUNK = 65536
DEFAULT_HANDSHAKE_TIMEOUT = 30.0
# accept() failing for want of descriptors or memory: pause accepting, retry after a growing delay.
# The listener stays readable while the backlog holds connections, so retrying at once would spin.
_RESOURCE_ERRNOS = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}
_ACCEPT_BACKOFF_MIN, _ACCEPT_BACKOFF_MAX = 0.05, 1.0
# The longest a quiet loop sleeps between timer passes (a cap, so a handler's estimate is never trusted
# for long): with nothing on the wire and nothing due, the broker wakes once a second, not every tick.
IDLE_TICK_MAX_SECONDS = 1.0


class EngineHandler(Protocol):
    """What the loop calls: ``on_<event>`` methods (looked up by name) and a periodic tick."""

    def tick(self) -> None:
        """Periodic broker work."""
        ...

    def seconds_until_due(self) -> float:
        """How long ``tick`` will have nothing to do, as far as the handler knows."""
        ...


class _Endpoint:
    """One accepted socket and its proton engine."""

    def __init__(self, sock: socket.socket, handshake_deadline: float) -> None:
        self.sock = sock
        # Until the client's open frame arrives (protocol header, SASL, open: AMQP 1.0 part 2, 2.4.1)
        # the socket is only a cost to us; past this instant it is closed. 0 once opened.
        self.handshake_deadline = handshake_deadline
        self.collector = Collector()
        self.connection = Connection()
        self.connection.collect(self.collector)
        self.transport = Transport(Transport.SERVER)
        # SASL ANONYMOUS: the SDK authenticates afterwards with CBS put-token.
        self.transport.sasl().allowed_mechs("ANONYMOUS")
        self.transport.bind(self.connection)
        self.sequencer = DeliverySequencer(self.transport.max_frame_size)
        self.backlog = b""  # sequenced bytes proton had no capacity for yet
        self.deadline = 0.0
        self.done = False
        self.writing = False  # registered for EVENT_WRITE (only while output is backed up)


class EngineLoop:
    """Serve AMQP connections on one listening socket until ``stop()``."""

    def __init__(self, handler: Any, host: str, port: int, tick_seconds: float,
                 handshake_timeout: float = DEFAULT_HANDSHAKE_TIMEOUT,
                 on_tick: Callable[[], None] | None = None) -> None:
        self.handler = handler
        # Extra work for this thread at every timer pass (the admin endpoint's snapshots: admin/snapshots.py).
        self.on_tick = on_tick
        self.tick_seconds = tick_seconds
        self.handshake_timeout = handshake_timeout
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((host, port))
        self.listener.listen(128)
        self.listener.setblocking(False)
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.listener, selectors.EVENT_READ)
        # wake() (stop, admin snapshot requests) writes a byte here: a loop sleeping through a quiet spell (up to
        # IDLE_TICK_MAX_SECONDS) ends its wait at once, and the event brings the usual tick back.
        self._wake_reader, self._wake_writer = socket.socketpair()
        self._wake_reader.setblocking(False)
        self._wake_writer.setblocking(False)
        self.selector.register(self._wake_reader, selectors.EVENT_READ)
        self.endpoints: dict[socket.socket, _Endpoint] = {}
        self._stopping = False
        self._methods: dict[str, Callable[[Event], object] | None] = {}  # the handler's method per event type
        self._accept_paused_until = 0.0  # 0: the listener is registered with the selector
        self._accept_backoff = _ACCEPT_BACKOFF_MIN

    def stop(self) -> None:
        """Ask the loop to finish after the current pass (safe from a signal handler)."""
        self._stopping = True
        self.wake()

    def wake(self) -> None:
        """Any thread (or a signal handler): end the loop's wait now, so the next timer pass comes within a tick
        even during a quiet spell (a stop, or the admin endpoint asking for a snapshot)."""
        with contextlib.suppress(OSError):  # closed already, or an earlier byte is still unread (enough)
            self._wake_writer.send(b"\0")

    def run(self) -> None:
        """Loop until stopped; then close every connection."""
        next_tick = time.monotonic() + self.tick_seconds
        busy = True  # anything on the wire since the last timer pass
        while not self._stopping:
            timeout = max(0.0, next_tick - time.monotonic())
            events = self.selector.select(timeout)
            for key, mask in events:
                if key.fileobj is self.listener:
                    self._accept()
                elif key.fileobj is self._wake_reader:
                    with contextlib.suppress(OSError):
                        self._wake_reader.recv(4096)
                elif isinstance(key.fileobj, socket.socket):  # every other registered file is a client's socket
                    endpoint = self.endpoints.get(key.fileobj)
                    if endpoint is not None:
                        self._service(endpoint, readable=bool(mask & selectors.EVENT_READ))
            if events and not busy:
                # Frames may have created timers (locks, schedules, session waits): back to the usual cadence.
                busy = True
                next_tick = min(next_tick, time.monotonic() + self.tick_seconds)
            if time.monotonic() >= next_tick:
                self.handler.tick()
                if self.on_tick is not None:
                    self._run_on_tick(self.on_tick)
                self._after_tick()
                self._resume_accepting()
                next_tick = time.monotonic() + (self.tick_seconds if busy else self._quiet_wait())
                busy = False
        for endpoint in list(self.endpoints.values()):
            self._close(endpoint)
        self.selector.close()
        self.listener.close()
        self._wake_reader.close()
        self._wake_writer.close()

    def _quiet_wait(self) -> float:
        """After a pass with nothing on the wire since the one before: sleep until the handler's next due work,
        a connection's heartbeat or handshake deadline, or resuming accepts, whichever comes first; at least one
        tick, at most IDLE_TICK_MAX_SECONDS. Until then only a socket event wakes the loop, and any event brings
        the usual tick back (run)."""
        now = time.monotonic()
        wait = min(IDLE_TICK_MAX_SECONDS, self.handler.seconds_until_due())
        for endpoint in self.endpoints.values():
            for deadline in (endpoint.deadline, endpoint.handshake_deadline):
                if deadline:
                    wait = min(wait, deadline - now)
        if self._accept_paused_until:
            wait = min(wait, self._accept_paused_until - now)
        return max(self.tick_seconds, wait)

    @staticmethod
    def _run_on_tick(job: Callable[[], None]) -> None:
        try:
            job()
        except Exception:  # never let a side job stop the broker
            log.exception("on_tick failed")

    def _accept(self) -> None:
        try:
            sock, peer = self.listener.accept()
        except (BlockingIOError, InterruptedError, ConnectionAbortedError):
            return  # nothing to accept after all, or the client gave up while in the backlog
        except OSError as exc:
            self._pause_accepting(exc)
            return
        self._accept_backoff = _ACCEPT_BACKOFF_MIN
        try:
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:  # reset before we looked at it
            sock.close()
            return
        endpoint = _Endpoint(sock, time.monotonic() + self.handshake_timeout)
        self.endpoints[sock] = endpoint
        self.selector.register(sock, selectors.EVENT_READ)
        log.debug("accepted connection from %s", peer)
        self._service(endpoint, readable=False)

    def _pause_accepting(self, exc: OSError) -> None:
        """Stop polling the listener for a while; the loop and its connections carry on."""
        level = logging.WARNING if exc.errno in _RESOURCE_ERRNOS else logging.ERROR
        log.log(level, "accept() failed (%s): not accepting for %.2f s (%d connections open)",
                exc, self._accept_backoff, len(self.endpoints))
        self.selector.unregister(self.listener)
        self._accept_paused_until = time.monotonic() + self._accept_backoff
        self._accept_backoff = min(self._accept_backoff * 2, _ACCEPT_BACKOFF_MAX)

    def _resume_accepting(self) -> None:
        if self._accept_paused_until and time.monotonic() >= self._accept_paused_until:
            self._accept_paused_until = 0.0
            self.selector.register(self.listener, selectors.EVENT_READ)

    def _after_tick(self) -> None:
        """Timers may have queued frames (detaches, deliveries) and heartbeats may be due."""
        now = time.monotonic()
        for endpoint in list(self.endpoints.values()):
            if endpoint.handshake_deadline and self._handshake_overdue(endpoint, now):
                continue
            if endpoint.deadline and now >= endpoint.deadline:
                endpoint.deadline = endpoint.transport.tick(now)
            # Idle connections cost nothing: only those with output or events are serviced.
            if endpoint.transport.pending() != 0 or endpoint.collector.peek() is not None:
                self._service(endpoint, readable=False)

    def _handshake_overdue(self, endpoint: _Endpoint, now: float) -> bool:
        """Close a socket whose client has not opened an AMQP connection in time; True if closed."""
        if not endpoint.connection.state & Connection.REMOTE_UNINIT:
            endpoint.handshake_deadline = 0.0  # the open frame arrived (or the peer already closed)
            return False
        if now < endpoint.handshake_deadline:
            return False
        log.info("closing a connection that sent no AMQP open within %.1f s", self.handshake_timeout)
        self._close(endpoint)
        return True

    def _service(self, endpoint: _Endpoint, *, readable: bool) -> None:
        transport = endpoint.transport
        try:
            if readable:
                self._read(endpoint)
            self._dispatch(endpoint)
            while endpoint.backlog and transport.capacity() > 0:
                self._push(endpoint)
                self._dispatch(endpoint)
            self._write(endpoint)
            self._dispatch(endpoint)
        except Exception:
            log.exception("dropping a connection after an unexpected error")
            transport.close_tail()
            transport.close_head()
        if transport.capacity() < 0 and transport.pending() < 0 and not endpoint.done:
            self._close(endpoint)

    def _read(self, endpoint: _Endpoint) -> None:
        transport = endpoint.transport
        capacity = transport.capacity()
        if capacity < 0:
            return
        if endpoint.backlog:  # proton first takes what it could not take last time
            self._push(endpoint)
            return
        try:
            data = endpoint.sock.recv(min(capacity, READ_CHUNK) if capacity else READ_CHUNK)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if data:
            endpoint.backlog = endpoint.sequencer.feed(data)
            self._push(endpoint)
        else:
            transport.close_tail()

    @staticmethod
    def _push(endpoint: _Endpoint) -> None:
        """Give proton as much of the backlog as it has room for (a renumbered frame can grow)."""
        transport = endpoint.transport
        room = transport.capacity()
        if room <= 0 or not endpoint.backlog:
            return
        chunk, endpoint.backlog = endpoint.backlog[:room], endpoint.backlog[room:]
        transport.push(chunk)
        endpoint.deadline = transport.tick(time.monotonic())

    def _write(self, endpoint: _Endpoint) -> None:
        transport = endpoint.transport
        while True:
            pending = transport.pending()
            if pending <= 0:
                break
            data = transport.peek(pending)
            if not data:  # proton returns the pending bytes; None only if the transport has none after all
                break
            try:
                sent = endpoint.sock.send(data)
            except BlockingIOError:
                sent = 0
            except OSError:
                transport.close_head()
                break
            transport.pop(sent)
            if sent < pending:
                break
        wants_write = transport.pending() > 0
        if wants_write != endpoint.writing and endpoint.sock in self.endpoints:
            # epoll_ctl only when the state flips: it is a syscall per message otherwise.
            endpoint.writing = wants_write
            events = selectors.EVENT_READ | (selectors.EVENT_WRITE if wants_write else 0)
            self.selector.modify(endpoint.sock, events)

    def _dispatch(self, endpoint: _Endpoint) -> None:
        collector = endpoint.collector
        while True:
            event = collector.peek()
            if event is None:
                return
            name = event.type.method
            try:
                method = self._methods[name]
            except KeyError:  # first event of this type: look the method up once (None: the handler has none)
                method = self._methods[name] = getattr(self.handler, name, None)
            if method is not None:
                method(event)
            collector.pop()

    def _close(self, endpoint: _Endpoint) -> None:
        endpoint.done = True
        if endpoint.transport.capacity() >= 0:
            endpoint.transport.close_tail()
        if endpoint.transport.pending() >= 0:
            endpoint.transport.close_head()
        try:
            self._dispatch(endpoint)  # lets the handler release what the connection held
        except Exception:
            log.exception("error while releasing a closed connection")
        self.selector.unregister(endpoint.sock)
        self.endpoints.pop(endpoint.sock, None)
        endpoint.sock.close()
