"""A client made of hand-built AMQP 1.0 frames, for peers no library would be: it ignores what it is told.

Frame layout: AMQP 1.0 part 2, 2.3.1 (size, doff=2, type 0 = AMQP / 1 = SASL, channel), performatives
as described lists (part 2, 2.7); SASL exchange part 5, 5.3.
"""
from __future__ import annotations

import select
import socket
import struct
import time

from proton import Data, Described, symbol, uint, ulong

SASL_HEADER = b"AMQP\x03\x01\x00\x00"
AMQP_HEADER = b"AMQP\x00\x01\x00\x00"
FRAME_SIZE = 32 * 1024  # at most the broker's max-frame-size (proton's default, 32 KB)


def frame(performative: int, fields: list[object], payload: bytes = b"", *, sasl: bool = False) -> bytes:
    """One frame on channel 0 holding a performative (and a transfer's payload)."""
    data = Data()
    data.put_object(Described(ulong(performative), fields))
    body = data.encode() + payload
    return struct.pack(">IBBH", 8 + len(body), 2, 1 if sasl else 0, 0) + body


class StubbornSender:
    """Opens a sender link on ``address`` (no token) and writes one transfer that never ends."""

    def __init__(self, port: int, address: str) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.received = bytearray()
        self.sock.sendall(SASL_HEADER + frame(0x41, [symbol("ANONYMOUS"), b""], sasl=True) + AMQP_HEADER
                          + frame(0x10, ["stubborn"])
                          + frame(0x11, [None, uint(0), uint(2**31 - 1), uint(2**31 - 1)])
                          + frame(0x12, ["stubborn", uint(0), False, None, None,
                                         Described(ulong(0x28), [None]), Described(ulong(0x29), [address])]))
        self._first = True

    def write(self, megabytes: int) -> None:
        """Write ``megabytes`` MB more of the unfinished transfer, whatever the broker answers."""
        chunk = b"x" * (FRAME_SIZE - 64)
        first = frame(0x14, [uint(0), uint(0), b"tag", uint(0), False, True], chunk)
        rest = frame(0x14, [uint(0), None, None, None, None, True], chunk)
        for _ in range(megabytes * 1024 * 1024 // len(chunk)):
            self._send(first if self._first else rest)
            self._first = False

    def _send(self, data: bytes) -> None:
        view = memoryview(data)
        deadline = time.monotonic() + 10
        while view:
            readable, writable, _ = select.select([self.sock], [self.sock], [], 1)
            if readable:
                got = self.sock.recv(65536)
                if not got:
                    raise ConnectionResetError("the broker closed the connection")
                self.received += got  # the broker's detach: ignored on purpose
            if writable:
                view = view[self.sock.send(view):]
            if time.monotonic() > deadline:
                raise TimeoutError("the broker stopped reading")

    def close(self) -> None:
        """Drop the socket."""
        self.sock.close()
