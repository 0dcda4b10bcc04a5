"""Renumber a client's out-of-sequence delivery-ids before proton sees them, as Azure tolerates them.

AMQP 1.0 part 2, 2.7.5 (transfer) and 2.5.6 (session flow control): each new delivery on a session
takes the next delivery-id. proton enforces that and closes the whole connection on a repeat
(``amqp:session:invalid-field``, "sequencing error"). The azure-servicebus SDK breaks it under
concurrency: its pyamqp session reads ``next_outgoing_id`` without a lock (sync: AutoLockRenewer's
worker threads; aio: an ``await`` between reading and incrementing it), so two management requests
sent at once carry the same delivery-id and the SDK sees "Management Operation error occurred".
Azure runs Microsoft.Azure.Amqp, whose ``AmqpSession.IncomingSessionChannel.OnAcceptTransfer``
counts incoming transfers itself and never compares the delivery-id, so the same client works there.
This matches that: the first frame of each new delivery gets the id the session expects.

Sans-I/O (bytes in, bytes out): the loop feeds what it reads from a socket and pushes the result
into proton. Frame layout: part 2, 2.3.1; only type-0 frames holding ``begin``/``end``/``transfer``
are looked into, everything else passes through unchanged.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from proton import Described, uint, ulong

from devstack.servicebus.amqp import primitives

log = logging.getLogger(__name__)

_BEGIN, _TRANSFER, _END = 0x11, 0x14, 0x17
_PROTOCOL_HEADER = b"AMQP"


@dataclass
class _Session:
    """Incoming delivery numbering of one channel."""

    expected: int | None = None  # set by the first transfer, as proton does
    unfinished: set[int] = field(default_factory=set)  # handles with a multi-frame delivery under way


class DeliverySequencer:
    """Feeds a connection's incoming bytes through, renumbering repeated delivery-ids."""

    def __init__(self, max_frame_size: int) -> None:
        self.max_frame_size = max_frame_size
        self.renumbered = 0
        self._pending = bytearray()
        self._sessions: dict[int, _Session] = {}
        self._passthrough = False  # after bytes we cannot frame: proton answers those itself

    def feed(self, data: bytes) -> bytes:
        """The bytes to give proton for ``data`` (whole frames; a partial frame waits for more)."""
        if self._passthrough:
            return data
        pending = self._pending
        pending += data
        out = bytearray()
        i = 0
        while len(pending) - i >= 8:
            if pending[i:i + 4] == _PROTOCOL_HEADER:  # part 2, 2.2: also sent again after SASL
                out += pending[i:i + 8]
                i += 8
                continue
            size = int.from_bytes(pending[i:i + 4], "big")
            if size < 8 or size > self.max_frame_size:
                self._passthrough = True  # not ours to judge: proton closes with a framing error
                out += pending[i:]
                i = len(pending)
                break
            if len(pending) - i < size:
                break
            out += self._frame(bytes(pending[i:i + size]))
            i += size
        del pending[:i]
        return bytes(out)

    def _frame(self, frame: bytes) -> bytes:
        body = frame[4] * 4
        if frame[5] != 0 or len(frame) <= body + 3 or frame[body:body + 2] != b"\x00\x53":
            return frame  # SASL, heartbeat, or a descriptor form the SDK never sends
        code = frame[body + 2]
        channel = int.from_bytes(frame[6:8], "big")
        if code in (_BEGIN, _END):
            self._sessions.pop(channel, None)  # a new session on this channel numbers afresh
            return frame
        if code != _TRANSFER:
            return frame
        try:
            fields, end = primitives.decode(frame, body + 3)
            if not isinstance(fields, list) or not fields:
                return frame
            return self._transfer(frame, body, channel, fields, end)
        except (primitives.Unsupported, primitives.Malformed, IndexError, ValueError, TypeError):
            return frame  # malformed: proton refuses it as it would have

    def _transfer(self, frame: bytes, body: int, channel: int, fields: list[Any], end: int) -> bytes:
        session = self._sessions.setdefault(channel, _Session())
        handle = fields[0]
        more = len(fields) > 5 and bool(fields[5])
        aborted = len(fields) > 9 and bool(fields[9])
        starts_delivery = handle not in session.unfinished
        if more and not aborted:
            session.unfinished.add(handle)
        else:
            session.unfinished.discard(handle)
        if not starts_delivery:
            return frame
        given = fields[1] if len(fields) > 1 else None
        if session.expected is None:
            session.expected = int(given) if given is not None else None
        expected = session.expected
        if expected is None:
            return frame
        session.expected = (expected + 1) % 2**32
        if given is None or int(given) == expected:
            return frame
        fields[1] = uint(expected)
        performative = primitives.encode(Described(ulong(_TRANSFER), fields))
        self.renumbered += 1
        if self.renumbered == 1:
            log.info("client reused delivery-id %s on channel %d (expected %d): renumbered, as Azure accepts it",
                     given, channel, expected)
        rebuilt = frame[4:body] + performative + frame[end:]
        return (len(rebuilt) + 4).to_bytes(4, "big") + rebuilt
