"""AMQP 1.0 message bytes: split sections, read what the broker needs, rewrite header/annotations.

Messages are kept as the client encoded them (OASIS AMQP 1.0 part 3, "Message Format"); the broker
only replaces the header and message-annotations it owns when delivering, so bodies are never
decoded. A section boundary is found from the type constructor's width byte (part 1, 1.2 "Encodings").
"""
from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from proton import Data, DataException, Described, symbol, ulong

from devstack.servicebus.amqp import primitives
from devstack.servicebus.core.filters import MessageFacts
from devstack.servicebus.core.message import Envelope, StoredMessage

HEADER, DELIVERY_ANNOTATIONS, MESSAGE_ANNOTATIONS, PROPERTIES, APPLICATION_PROPERTIES = 0x70, 0x71, 0x72, 0x73, 0x74
DATA, SEQUENCE, VALUE, FOOTER = 0x75, 0x76, 0x77, 0x78
_BODY = (DATA, SEQUENCE, VALUE)
_FIXED_WIDTH = {0x4: 0, 0x5: 1, 0x6: 2, 0x7: 4, 0x8: 8, 0x9: 16}
_SCHEDULED = symbol("x-opt-scheduled-enqueue-time")


class CodecError(ValueError):
    """The bytes are not a well-formed AMQP message."""


def _value_end(buf: bytes, i: int, depth: int = 0) -> int:
    if depth > primitives.MAX_NESTING:  # "0x00 0x00 0x00 ...": descriptors describing descriptors
        raise CodecError(f"described values nested deeper than {primitives.MAX_NESTING}")
    code = buf[i]
    i += 1
    if code == 0x00:  # described value: descriptor, then the value itself
        return _value_end(buf, _value_end(buf, i, depth + 1), depth + 1)
    width = code >> 4
    if width in _FIXED_WIDTH:
        return i + _FIXED_WIDTH[width]
    if width in (0xA, 0xC, 0xE):
        return i + 1 + buf[i]
    if width in (0xB, 0xD, 0xF):
        return i + 4 + int.from_bytes(buf[i:i + 4], "big")
    raise CodecError(f"unknown type constructor 0x{code:02x}")


def sections(buf: bytes) -> list[tuple[int, int, int]]:
    """``(descriptor code, start, end)`` of each section of an encoded message."""
    found = []
    i = 0
    try:
        while i < len(buf):
            if buf[i] != 0x00:
                raise CodecError("a message section must be a described value")
            if buf[i + 1] == 0x53:
                code = buf[i + 2]
            elif buf[i + 1] == 0x80:
                code = int.from_bytes(buf[i + 2:i + 10], "big")
            else:
                raise CodecError("section descriptors must be numeric")
            end = _value_end(buf, i)
            if end > len(buf):
                raise CodecError("truncated message")
            found.append((code, i, end))
            i = end
    except IndexError as exc:
        raise CodecError("truncated message") from exc
    return found


_DECODER = Data()  # reused: the broker is single-threaded, and values are copied out (see _detach)


def decode_value(buf: bytes) -> Any:
    """Decode one encoded value (a section: its described contents) into Python objects.

    Any bytes at all either decode or raise CodecError (property-tested in tests/unit/servicebus).
    """
    try:
        value, end = primitives.decode(buf)
        if end == len(buf):
            return value.value if isinstance(value, Described) else value
    except primitives.Malformed as exc:
        raise CodecError(str(exc)) from exc
    except (primitives.Unsupported, IndexError, struct.error, UnicodeDecodeError):
        pass
    return _decode_with_proton(buf)


def _decode_with_proton(buf: bytes) -> Any:
    data = _DECODER
    data.clear()
    try:
        data.decode(buf)
        data.rewind()
        data.next()
        # Decoder trap: binary values are memoryviews into the Data's buffer: copy before clear().
        value = _detach(data.get_object())
    except DataException as exc:
        raise CodecError(f"undecodable value: {exc}") from exc
    except (RecursionError, LookupError, TypeError, ValueError, ArithmeticError) as exc:
        # get_object recurses in Python and converts in Python: a nesting the fast decoder never
        # reached (behind an array) or an out-of-range char (chr() overflows) must still be a
        # decode error. Found by tests/unit/servicebus/test_codec_fuzz.py.
        raise CodecError(f"undecodable value: {type(exc).__name__}") from exc
    finally:
        data.clear()  # do not keep the last (possibly huge) value alive in the shared decoder
    return value.value if isinstance(value, Described) else value


def _detach(value: Any) -> Any:
    if isinstance(value, memoryview):
        return value.tobytes()
    if isinstance(value, dict):
        return type(value)((_detach(k), _detach(v)) for k, v in value.items())
    if isinstance(value, list):
        return [_detach(v) for v in value]
    if isinstance(value, Described):
        return Described(value.descriptor, _detach(value.value))
    return value


def encode_value(value: Any) -> bytes:
    """Encode one Python value with proton's type mapping."""
    try:
        return primitives.encode(value)
    except primitives.Unsupported:
        pass
    data = Data()
    data.put_object(value)
    return data.encode()


def _section(buf: bytes, parts: list[tuple[int, int, int]], code: int) -> Any:
    for part_code, start, end in parts:
        if part_code == code:
            return decode_value(buf[start:end])
    return None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (bytes, memoryview)):
        return bytes(value).decode("utf-8", "replace")
    return str(value)


def _plain(value: Any) -> Any:
    """Copy decoder-owned buffers (the decoder may reuse them) and unwrap AMQP scalar subclasses."""
    if isinstance(value, memoryview):
        return bytes(value)
    return value


@dataclass(frozen=True)
class Inbound:
    """One message as a sender sent it, plus what routing and filters need."""

    envelope: Envelope


def read_envelope(buf: bytes) -> Envelope:
    """Build the broker's Envelope from an encoded message (properties, TTL, schedule, filters).

    Every malformed field raises CodecError, which the caller turns into a rejected transfer
    (amqp:decode-error) instead of a broken link.
    """
    try:
        return _read_envelope(buf)
    except CodecError:
        raise
    except (TypeError, ValueError, IndexError, OverflowError, DataException) as exc:
        raise CodecError(f"malformed message: {exc}") from exc


def _read_envelope(buf: bytes) -> Envelope:
    found: dict[int, Any] = {}
    for code, start, end in sections(buf):  # one pass; the first section of a kind counts
        if code in _ENVELOPE_SECTIONS and code not in found:
            found[code] = decode_value(buf[start:end])
    props, user, header, annotations = (found.get(PROPERTIES), found.get(APPLICATION_PROPERTIES),
                                        found.get(HEADER), found.get(MESSAGE_ANNOTATIONS))
    # Composite sections and the fields the broker re-encodes on delivery must have their AMQP
    # types (part 3, 3.2 "Message Format"); anything else is refused here, not on delivery.
    if not (isinstance(props, list) or props is None) or not (isinstance(header, list) or header is None):
        raise CodecError("header and properties must be lists")
    if not (isinstance(user, dict) or user is None) or not (isinstance(annotations, dict) or annotations is None):
        raise CodecError("application-properties and message-annotations must be maps")
    props = (props or []) + [None] * 13
    header = (header or []) + [None] * 5
    ttl_ms = _field(header[2], "header.ttl", 2**32)  # uint
    if header[1] is not None:
        _field(header[1], "header.priority", 256)  # ubyte
    scheduled = annotations.get(_SCHEDULED) if annotations else None
    if scheduled is not None:
        _field(scheduled, "x-opt-scheduled-enqueue-time", None)
    message_id = _text(props[0])
    session_id = _text(props[10])
    system = {
        "MessageId": message_id, "To": _text(props[2]), "Label": _text(props[3]), "ReplyTo": _text(props[4]),
        "CorrelationId": _text(props[5]), "ContentType": _text(props[6]), "SessionId": session_id,
        "ReplyToSessionId": _text(props[12]), "Size": len(buf),
        "TimeToLive": float(ttl_ms) / 1000 if ttl_ms else None,
    }
    return Envelope(
        payload=bytes(buf),
        facts=MessageFacts({k: v for k, v in system.items() if v is not None},
                           {str(k): _plain(v) for k, v in user.items()} if user else {}),
        message_id=message_id, session_id=session_id,
        ttl=float(ttl_ms) / 1000 if ttl_ms else None,
        scheduled_at=_to_seconds(scheduled))


_ENVELOPE_SECTIONS = frozenset((HEADER, MESSAGE_ANNOTATIONS, PROPERTIES, APPLICATION_PROPERTIES))


def _field(value: Any, name: str, limit: int | None) -> Any:
    """An integer field (None when absent), refused when of another type or out of range."""
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or (limit is not None and not 0 <= value < limit):
        raise CodecError(f"{name} must be an integer in range, not {value!r}")
    return value


def _to_seconds(value: Any) -> float | None:
    if value is None:
        return None
    return float(int(value)) / 1000  # AMQP timestamps are ms since the Unix epoch


def facts_of(buf: bytes) -> MessageFacts:
    """Filter facts of a stored message (for scheduled topic messages coming due)."""
    return read_envelope(buf).facts


def _data_payload(buf: bytes, start: int, end: int) -> bytes | None:
    """The bytes inside a data section (``0x00 0x53 0x75`` then vbin8 or vbin32), without decoding."""
    constructor = buf[start + 3]
    if constructor == 0xA0:
        return buf[start + 5:end]
    if constructor == 0xB0:
        return buf[start + 8:end]
    return None


def split_batch(buf: bytes) -> list[bytes] | None:
    """The inner messages when ``buf`` is a batch (format 0x80013700), else None.

    proton's Python API does not expose a transfer's message-format, so a batch is recognised by its
    shape: no application-properties and only data sections that each hold a complete message.
    """
    parts = sections(buf)
    bodies = [p for p in parts if p[0] in _BODY]
    if not bodies or any(p[0] != DATA for p in bodies) or any(p[0] == APPLICATION_PROPERTIES for p in parts):
        return None
    inner = []
    for _, start, end in bodies:
        payload = _data_payload(buf, start, end)
        if payload is None or payload[:2] != b"\x00\x53":
            return None
        try:
            sections(payload)
        except CodecError:
            return None
        inner.append(bytes(payload))
    return inner


# Broker-owned message annotations, pre-encoded: these are written for every delivery.
_SEQUENCE_KEY = primitives.encode(symbol("x-opt-sequence-number"))
_ENQUEUED_KEY = primitives.encode(symbol("x-opt-enqueued-time"))
_STATE_KEY = primitives.encode(symbol("x-opt-message-state"))
_SCHEDULED_KEY = primitives.encode(_SCHEDULED)
_LOCKED_UNTIL_KEY = primitives.encode(symbol("x-opt-locked-until"))
_DEADLETTER_SOURCE_KEY = primitives.encode(symbol("x-opt-deadletter-source"))
_OWNED_KEYS = {symbol("x-opt-sequence-number"), symbol("x-opt-enqueued-time"), symbol("x-opt-message-state"),
               symbol("x-opt-locked-until"), symbol("x-opt-deadletter-source")}


def _long(value: int) -> bytes:
    return b"\x81" + struct.pack(">q", value)


def _timestamp(seconds: float) -> bytes:
    return b"\x83" + struct.pack(">q", int(seconds * 1000))


def _header_section(header: list[Any], delivery_count: int) -> bytes:
    """The header section; the SDK reads header.delivery_count as is, so it is written even when 0."""
    durable, priority, ttl, first_acquirer = header[0], header[1], header[2], header[3]
    body = b"".join([
        b"\x41" if durable else b"\x42",
        b"\x50" + bytes([int(priority) if priority is not None else 4]),
        b"\x40" if ttl is None else b"\x70" + struct.pack(">I", int(ttl)),
        b"\x41" if first_acquirer else b"\x42",
        b"\x70" + struct.pack(">I", delivery_count),
    ])
    return b"\x00\x53\x70\xc0" + bytes([len(body) + 1, 5]) + body


def _annotations_section(buf: bytes, parts: list[tuple[int, int, int]], owned: list[tuple[bytes, bytes]],
                         scheduled_at: float | None) -> bytes:
    """Message annotations: the sender's own entries plus the broker's (which replace any of theirs)."""
    theirs = _section(buf, parts, MESSAGE_ANNOTATIONS) or {}
    entries = [key + value for key, value in owned]
    if scheduled_at is not None and _SCHEDULED not in theirs:  # scheduled through management
        entries.append(_SCHEDULED_KEY + _timestamp(scheduled_at))
    entries += [encode_value(k) + encode_value(v) for k, v in theirs.items() if k not in _OWNED_KEYS]
    body = b"".join(entries)
    count = 2 * len(entries)
    if len(body) + 1 < 256 and count < 256:
        prefix = b"\xc1" + bytes([len(body) + 1, count])
    else:
        prefix = b"\xd1" + struct.pack(">II", len(body) + 4, count)
    return b"\x00\x53\x72" + prefix + body


def encode_for_delivery(message: StoredMessage, *, locked_until: float | None,
                        extra_user: Mapping[str, Any] | None = None) -> bytes:
    """The bytes sent to a receiver: broker header and annotations + the client's sections."""
    buf = message.payload
    parts = sections(buf)
    header = list(_section(buf, parts, HEADER) or []) + [None] * 5
    owned = [(_SEQUENCE_KEY, _long(message.seq)), (_ENQUEUED_KEY, _timestamp(message.enqueued_at)),
             (_STATE_KEY, _long(int(message.state)))]
    if locked_until is not None:
        owned.append((_LOCKED_UNTIL_KEY, _timestamp(locked_until)))
    if message.dead_letter is not None and message.dead_letter.source:
        owned.append((_DEADLETTER_SOURCE_KEY, primitives.encode(message.dead_letter.source)))
    out = [_header_section(header, message.delivery_count),
           _annotations_section(buf, parts, owned, message.scheduled_at)]
    user_extra: dict[Any, Any] = dict(extra_user or {})
    if message.dead_letter is not None:
        if message.dead_letter.reason is not None:
            user_extra["DeadLetterReason"] = message.dead_letter.reason
        if message.dead_letter.description is not None:
            user_extra["DeadLetterErrorDescription"] = message.dead_letter.description
    wrote_user = False
    for code, start, end in parts:
        if code in (HEADER, DELIVERY_ANNOTATIONS, MESSAGE_ANNOTATIONS):
            continue
        if code == APPLICATION_PROPERTIES and user_extra:
            merged: dict[Any, Any] = dict(decode_value(buf[start:end]) or {})
            merged.update(user_extra)
            out.append(encode_value(Described(ulong(APPLICATION_PROPERTIES), merged)))
            wrote_user = True
            continue
        if code in _BODY and user_extra and not wrote_user:
            out.append(encode_value(Described(ulong(APPLICATION_PROPERTIES), user_extra)))
            wrote_user = True
        out.append(buf[start:end])
    return b"".join(out)
