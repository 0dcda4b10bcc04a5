"""Property-based fuzzing of the broker's AMQP decode path: any bytes decode or raise CodecError.

Random and mutated inputs must give a typed decode error (which the protocol layer maps to
amqp:decode-error, a 400 or a 401) and never another exception, a hang or unbounded recursion.
Examples are bounded so the whole file runs in a few seconds.
"""
from __future__ import annotations

import contextlib
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from proton import Described, symbol, timestamp, ulong

from devstack.servicebus.amqp import codec, primitives
from devstack.servicebus.amqp.cbs import SasKey, TokenRejected
from devstack.servicebus.amqp.management import ManagementNode
from devstack.servicebus.amqp.sequencing import DeliverySequencer
from devstack.servicebus.core.broker import Broker
from devstack.servicebus.core.topology import load_topology
from tests.unit.servicebus.fakes import FakeClock, MemoryStore

FUZZ = settings(max_examples=400, deadline=500, suppress_health_check=[HealthCheck.too_slow])


def section(code: int, value: object) -> bytes:
    return codec.encode_value(Described(ulong(code), value))


VALID = b"".join([
    section(codec.HEADER, [True, None, 60000]),
    section(codec.MESSAGE_ANNOTATIONS, {symbol("x-opt-scheduled-enqueue-time"): timestamp(1_700_000_000_000)}),
    section(codec.PROPERTIES, ["id-1", None, "to", "subject", "reply", "corr", symbol("text/plain"),
                               None, None, None, "session-1"]),
    section(codec.APPLICATION_PROPERTIES, {"color": "red", "n": 5, "ok": True, "id": uuid.uuid4()}),
    section(codec.DATA, b"payload"),
])
# Type constructors the fuzzer should hit often: described, list/map/array widths, strings.
CONSTRUCTORS = [0x00, 0x40, 0x45, 0x53, 0x70, 0x77, 0x98, 0xA0, 0xA1, 0xA3, 0xB0, 0xB1, 0xC0, 0xC1,
                0xD0, 0xD1, 0xE0, 0xF0, 0x73, 0x74, 0x84, 0x94, 0xFF]
structured = st.lists(st.one_of(st.sampled_from(CONSTRUCTORS), st.integers(0, 255)), max_size=300).map(bytes)
any_bytes = st.one_of(st.binary(max_size=400), structured)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """The valid message with bytes flipped, inserted, deleted or spliced from elsewhere in it."""
    data = bytearray(VALID)
    for _ in range(draw(st.integers(1, 8))):
        at = draw(st.integers(0, len(data)))
        kind = draw(st.sampled_from(["flip", "insert", "delete", "splice"]))
        if kind == "flip" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        elif kind == "insert":
            data[at:at] = bytes([draw(st.sampled_from([*CONSTRUCTORS, 0xFF]))])
        elif kind == "delete":
            del data[at:at + draw(st.integers(1, 8))]
        else:
            start = draw(st.integers(0, len(data)))
            data[at:at] = data[start:start + draw(st.integers(1, 16))]
    return bytes(data)


def only_codec_errors(call: object, *args: object) -> None:
    with contextlib.suppress(codec.CodecError):
        call(*args)  # type: ignore[operator]


@FUZZ
@given(any_bytes)
def test_decode_value_gives_a_value_or_a_codec_error(buf: bytes) -> None:
    only_codec_errors(codec.decode_value, buf)


@FUZZ
@given(st.one_of(any_bytes, mutated()))
def test_sections_and_envelope_give_a_value_or_a_codec_error(buf: bytes) -> None:
    only_codec_errors(codec.sections, buf)
    only_codec_errors(codec.read_envelope, buf)
    only_codec_errors(codec.split_batch, buf)


@FUZZ
@given(mutated())
def test_mutated_message_sections_decode_or_raise_codec_error(buf: bytes) -> None:
    try:
        parts = codec.sections(buf)
    except codec.CodecError:
        return
    for _, start, end in parts:
        only_codec_errors(codec.decode_value, buf[start:end])


@settings(max_examples=60, deadline=500)
@given(st.integers(primitives.MAX_NESTING + 1, 5000), st.sampled_from(["list", "map", "described"]))
def test_nesting_past_the_bound_is_a_codec_error_not_a_recursion_error(depth: int, kind: str) -> None:
    value = b"\x40"
    for _ in range(depth):
        if kind == "described":
            value = b"\x00\x53\x77" + value
        else:
            body = (b"\xa1\x01k" + value) if kind == "map" else value
            code, count = (b"\xd1", 2) if kind == "map" else (b"\xd0", 1)
            value = code + (len(body) + 4).to_bytes(4, "big") + count.to_bytes(4, "big") + body
    with pytest.raises(codec.CodecError):
        codec.decode_value(value)
    if kind == "described":
        with pytest.raises(codec.CodecError):
            codec.sections(b"\x00\x53\x74" + value)


def test_nesting_within_the_bound_still_decodes() -> None:
    value = b"\x40"
    for _ in range(primitives.MAX_NESTING - 2):
        value = b"\xc0" + bytes([len(value) + 1, 1]) + value if len(value) < 250 else value
    codec.decode_value(value)


def test_an_array_with_a_huge_count_is_refused_at_once() -> None:
    with pytest.raises(codec.CodecError):
        codec.decode_value(b"\xf0\x00\x00\x00\x05\xff\xff\xff\xff\x40")


@FUZZ
@given(st.text(max_size=200), st.text(max_size=60), st.text(max_size=500))
def test_sas_validation_refuses_any_odd_field_with_token_rejected(sig: str, se: str, sr: str) -> None:
    key = SasKey("RootManageSharedAccessKey", "SAS_KEY_VALUE")
    token = f"SharedAccessSignature sr={sr}&sig={sig}&se={se}&skn=RootManageSharedAccessKey"
    with pytest.raises(TokenRejected):
        key.validate(token, 0.0)


RENEW_REQUEST = b"".join([
    section(codec.PROPERTIES, [uuid.uuid4(), None, None, None, "replies"]),
    section(codec.APPLICATION_PROPERTIES, {"operation": "com.microsoft:renew-lock"}),
    section(codec.VALUE, {"lock-tokens": [uuid.uuid4()]}),
])
NODE = ManagementNode(Broker(load_topology({"UserConfig": {"Namespaces": [{"Name": "ns", "Queues": [
    {"Name": "q", "Properties": {}}]}]}}), MemoryStore(), FakeClock()), "q", owner=object())


@st.composite
def mutated_request(draw: st.DrawFn) -> bytes:
    data = bytearray(RENEW_REQUEST)
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(data) - 1))
        data[at] = draw(st.sampled_from([*CONSTRUCTORS, draw(st.integers(0, 255))]))
    return bytes(data)


@FUZZ
@given(st.one_of(any_bytes, mutated_request()))
def test_management_node_answers_every_request_with_a_status(request: bytes) -> None:
    """Whatever the bytes, the node replies (400 for what does not parse) instead of raising."""
    reply, _ = NODE.handle(request)
    status = codec.decode_value(reply[slice(*codec.sections(reply)[1][1:])])["statusCode"]
    assert status in (200, 204, 400, 404, 410)


@FUZZ
@given(st.lists(any_bytes, max_size=8))
def test_delivery_sequencer_never_raises_and_loses_no_bytes_of_unframed_input(chunks: list[bytes]) -> None:
    """Whatever arrives, the sequencer hands proton bytes (renumbered frames or the input as is)."""
    sequencer = DeliverySequencer(32768)
    out = b"".join(sequencer.feed(chunk) for chunk in chunks)
    assert len(out) <= sum(len(c) for c in chunks) + 4 * len(chunks) * 64
