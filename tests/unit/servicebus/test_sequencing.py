"""The delivery-id sequencer, driven with hand-built frames (no sockets)."""
from __future__ import annotations

from proton import Data, Described, uint, ulong

from devstack.servicebus.amqp import primitives
from devstack.servicebus.amqp.sequencing import DeliverySequencer


def frame(performative: int, fields: list[object], payload: bytes = b"", channel: int = 0) -> bytes:
    data = Data()
    data.put_object(Described(ulong(performative), fields))
    body = data.encode() + payload
    return (8 + len(body)).to_bytes(4, "big") + bytes([2, 0]) + channel.to_bytes(2, "big") + body


def transfer(delivery_id: int | None, *, more: bool = False, handle: int = 0, payload: bytes = b"m") -> bytes:
    return frame(0x14, [uint(handle), None if delivery_id is None else uint(delivery_id), b"t", uint(0),
                        False, more], payload)


def delivery_ids(stream: bytes) -> list[int | None]:
    ids, i = [], 0
    while i < len(stream):
        if stream[i:i + 4] == b"AMQP":
            i += 8
            continue
        size = int.from_bytes(stream[i:i + 4], "big")
        fields, end = primitives.decode(stream, i + 8 + 3)
        if stream[i + 10] == 0x14:
            ids.append(None if fields[1] is None else int(fields[1]))
            assert stream[end:i + size] in (b"m", b"mm")  # the payload survives the rewrite
        i += size
    return ids


def test_a_repeated_delivery_id_is_renumbered_and_continuations_are_left_alone() -> None:
    sequencer = DeliverySequencer(65536)
    stream = (b"AMQP\x00\x01\x00\x00" + frame(0x11, [None, uint(0), uint(100), uint(100)])
              + transfer(1) + transfer(1) + transfer(7, more=True) + transfer(None) + transfer(3))
    out = sequencer.feed(stream)
    assert delivery_ids(out) == [1, 2, 3, None, 4]
    assert sequencer.renumbered == 3


def test_frames_split_across_reads_come_out_whole_and_in_order() -> None:
    sequencer = DeliverySequencer(65536)
    stream = transfer(5) + transfer(5) + transfer(9)
    out = b"".join(sequencer.feed(stream[i:i + 3]) for i in range(0, len(stream), 3))
    assert delivery_ids(out) == [5, 6, 7]


def test_a_new_session_on_the_channel_numbers_afresh() -> None:
    sequencer = DeliverySequencer(65536)
    out = sequencer.feed(transfer(1) + frame(0x17, []) + frame(0x11, [None, uint(0), uint(9), uint(9)])
                         + transfer(40))
    assert delivery_ids(out) == [1, 40]


def test_bytes_that_are_not_frames_pass_through_for_proton_to_refuse() -> None:
    sequencer = DeliverySequencer(1024)
    garbage = b"\xff\xff\xff\xff" + b"x" * 20
    assert sequencer.feed(garbage) == garbage
    assert sequencer.feed(b"more") == b"more"
