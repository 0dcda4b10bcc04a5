"""A fast decoder for the AMQP 1.0 primitive types found in message headers and properties.

proton's ``Data.get_object`` crosses into C once per element, which made decoding a message's
properties the broker's largest per-message cost. This walks the bytes in Python instead (OASIS AMQP
1.0 part 1, 1.6 "Primitive Type Definitions"); anything unusual (arrays, decimals, chars) raises
``Unsupported`` and the caller falls back to proton.
"""
from __future__ import annotations

import struct
import uuid
from typing import Any

from proton import Described, byte, float32, int32, short, symbol, timestamp, ubyte, uint, ulong, ushort

_FIXED = {
    # Same Python types as proton's decoder, so re-encoded values keep their AMQP types.
    0x50: (1, lambda b: ubyte(b[0])),  # ubyte
    0x51: (1, lambda b: byte(struct.unpack(">b", b)[0])),  # byte
    0x52: (1, lambda b: uint(b[0])),  # smalluint
    0x53: (1, lambda b: ulong(b[0])),  # smallulong
    0x54: (1, lambda b: int32(struct.unpack(">b", b)[0])),  # smallint
    0x55: (1, lambda b: struct.unpack(">b", b)[0]),  # smalllong
    0x56: (1, lambda b: b[0] != 0),  # boolean
    0x60: (2, lambda b: ushort(struct.unpack(">H", b)[0])),  # ushort
    0x61: (2, lambda b: short(struct.unpack(">h", b)[0])),  # short
    0x70: (4, lambda b: uint(struct.unpack(">I", b)[0])),  # uint
    0x71: (4, lambda b: int32(struct.unpack(">i", b)[0])),  # int
    0x72: (4, lambda b: float32(struct.unpack(">f", b)[0])),  # float
    0x80: (8, lambda b: ulong(struct.unpack(">Q", b)[0])),  # ulong
    0x81: (8, lambda b: struct.unpack(">q", b)[0]),  # long
    0x82: (8, lambda b: struct.unpack(">d", b)[0]),  # double
    0x83: (8, lambda b: timestamp(struct.unpack(">q", b)[0])),  # timestamp
    0x98: (16, lambda b: uuid.UUID(bytes=bytes(b))),  # uuid
}
_EMPTY: dict[int, Any] = {0x40: None, 0x41: True, 0x42: False, 0x43: uint(0), 0x44: ulong(0), 0x45: []}


# How deep lists, maps and described values may nest. AMQP sets no limit, but every section the
# broker reads is shallow (application-properties may only hold simple types, part 3, 3.2.5), and a
# hostile 3,000-deep map would otherwise exhaust the Python stack. Shared with codec's section scan.
MAX_NESTING = 32


class Unsupported(ValueError):
    """A type this decoder leaves to proton."""


class Malformed(ValueError):
    """Bytes no AMQP decoder should accept (nesting past MAX_NESTING); not retried with proton."""


def decode(buf: bytes, i: int = 0, depth: int = 0) -> tuple[Any, int]:
    """Decode the value starting at ``buf[i]``; returns it and the offset after it."""
    if depth > MAX_NESTING:
        raise Malformed(f"values nested deeper than {MAX_NESTING}")
    code = buf[i]
    i += 1
    if code in _EMPTY:
        value = _EMPTY[code]
        return (list(value) if isinstance(value, list) else value), i
    fixed = _FIXED.get(code)
    if fixed is not None:
        width, read = fixed
        return read(_take(buf, i, width)), i + width
    if code in (0xA0, 0xA1, 0xA3):
        size, i = buf[i], i + 1
        return _variable(code, _take(buf, i, size)), i + size
    if code in (0xB0, 0xB1, 0xB3):
        size, i = struct.unpack(">I", _take(buf, i, 4))[0], i + 4
        return _variable(code, _take(buf, i, size)), i + size
    if code in (0xC0, 0xC1):
        end, count, i = i + 1 + buf[i], buf[i + 1], i + 2
        return _compound(code, buf, i, count, end, depth)
    if code in (0xD0, 0xD1):
        size, count = struct.unpack(">II", buf[i:i + 8])
        return _compound(code, buf, i + 8, count, i + 4 + size, depth)
    if code == 0x00:
        descriptor, i = decode(buf, i, depth + 1)
        value, i = decode(buf, i, depth + 1)
        return Described(descriptor, value), i
    raise Unsupported(f"type 0x{code:02x}")


def _take(buf: bytes, i: int, width: int) -> bytes:
    """``width`` bytes at ``i``; a slice would silently come back short at the end of the buffer."""
    if i + width > len(buf):
        raise IndexError("value runs past the buffer")
    return buf[i:i + width]


def _variable(code: int, raw: bytes) -> Any:
    if code in (0xA0, 0xB0):
        return bytes(raw)
    text = bytes(raw).decode("utf-8")
    return symbol(text) if code in (0xA3, 0xB3) else text


def _compound(code: int, buf: bytes, i: int, count: int, end: int, depth: int) -> tuple[Any, int]:
    if end > len(buf) or count > end - i:  # every item takes at least its constructor byte
        raise IndexError("compound runs past the buffer")
    items = []
    for _ in range(count):
        item, i = decode(buf, i, depth + 1)
        items.append(item)
    if i != end:
        raise Unsupported("compound size mismatch")
    if code in (0xC1, 0xD1):
        # A map holds key/value pairs; a dangling last key (an odd count) is dropped, as it always was.
        return dict(zip(items[0::2], items[1::2], strict=False)), end
    return items, end


def encode(value: Any) -> bytes:
    """Encode a value of the common types; raises Unsupported for anything else (use proton then)."""
    out = bytearray()
    _encode_into(out, value)
    return bytes(out)


def _encode_into(out: bytearray, value: Any) -> None:
    encoder = _ENCODERS.get(type(value))
    if encoder is None:
        raise Unsupported(type(value).__name__)
    encoder(out, value)


def _described(out: bytearray, value: Described) -> None:
    out.append(0x00)
    _encode_into(out, value.descriptor)
    _encode_into(out, value.value)


def _fixed(code: int, fmt: str) -> Any:
    def write(out: bytearray, value: Any) -> None:
        out.append(code)
        out += struct.pack(fmt, value)
    return write


def _uuid(out: bytearray, value: uuid.UUID) -> None:
    out.append(0x98)
    out += value.bytes


def _ubyte(out: bytearray, value: ubyte) -> None:
    out.append(0x50)
    out.append(int(value))


# Dispatch on the exact type (cheaper than an isinstance chain; proton's scalar types are subclasses).
_ENCODERS: dict[type, Any] = {
    type(None): lambda out, value: out.append(0x40),
    bool: lambda out, value: out.append(0x41 if value else 0x42),
    Described: _described,
    symbol: lambda out, value: _encode_variable(out, 0xA3, value.encode("utf-8")),
    str: lambda out, value: _encode_variable(out, 0xA1, value.encode("utf-8")),
    bytes: lambda out, value: _encode_variable(out, 0xA0, value),
    bytearray: lambda out, value: _encode_variable(out, 0xA0, bytes(value)),
    timestamp: _fixed(0x83, ">q"),
    ulong: lambda out, value: _encode_unsigned(out, int(value), 0x44, 0x53, 0x80, ">Q"),
    uint: lambda out, value: _encode_unsigned(out, int(value), 0x43, 0x52, 0x70, ">I"),
    ubyte: _ubyte,
    int32: lambda out, value: _encode_signed(out, int(value), 0x54, 0x71, ">i"),
    int: lambda out, value: _encode_signed(out, value, 0x55, 0x81, ">q"),
    float: _fixed(0x82, ">d"),
    uuid.UUID: _uuid,
    list: lambda out, value: _encode_compound(out, 0xD0, value),
    dict: lambda out, value: _encode_compound(out, 0xD1, [x for pair in value.items() for x in pair]),
}


def _encode_unsigned(out: bytearray, value: int, zero: int, small: int, full: int, fmt: str) -> None:
    if value == 0:
        out.append(zero)
    elif value < 256:
        out.append(small)
        out.append(value)
    else:
        out.append(full)
        out += struct.pack(fmt, value)


def _encode_signed(out: bytearray, value: int, small: int, full: int, fmt: str) -> None:
    if -128 <= value <= 127:
        out.append(small)
        out += struct.pack(">b", value)
    else:
        out.append(full)
        out += struct.pack(fmt, value)


def _encode_variable(out: bytearray, code: int, raw: bytes) -> None:
    if len(raw) < 256:
        out.append(code)
        out.append(len(raw))
    else:
        out.append(code + 0x10)
        out += struct.pack(">I", len(raw))
    out += raw


def _encode_compound(out: bytearray, code: int, items: list[Any]) -> None:
    if code == 0xD0 and not items:
        out.append(0x45)  # list0
        return
    body = bytearray()
    for item in items:
        _encode_into(body, item)
    if len(body) + 1 < 256 and len(items) < 256:
        out.append(code - 0x10)  # list8/map8: size byte counts the count byte and the items
        out.append(len(body) + 1)
        out.append(len(items))
    else:
        out.append(code)  # list32/map32
        out += struct.pack(">II", len(body) + 4, len(items))
    out += body
