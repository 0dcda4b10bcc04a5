"""Effective partition keys (EPK): where a logical partition sits in the hash key space "" .. "FF".

Clients address sub-ranges of a container by EPK (change feed by partition key, feed ranges), sending
``x-ms-start-epk`` / ``x-ms-end-epk``. The hash is MurmurHash3 x64-128 over the binary encoding of the
key components, as Cosmos DB's hash partitioning version 2 defines it (the azure-cosmos SDK implements the
same in azure/cosmos/partition_key.py, _get_effective_partition_key_for_hash_partitioning_v2).
"""
from __future__ import annotations

import struct
from typing import Any

from devstack.cosmos.core.partition_keys import UNDEFINED

_MASK = (1 << 64) - 1
_C1, _C2 = 0x87C37B91114253D5, 0x4CF5AD432745937F
# Component type markers of the binary encoding.
_UNDEFINED, _NULL, _FALSE, _TRUE, _NUMBER, _STRING = 0x0, 0x1, 0x2, 0x3, 0x5, 0x8


def _rotl(value: int, shift: int) -> int:
    return ((value << shift) | (value >> (64 - shift))) & _MASK


def _fmix(k: int) -> int:
    k ^= k >> 33
    k = (k * 0xFF51AFD7ED558CCD) & _MASK
    k ^= k >> 33
    k = (k * 0xC4CEB9FE1A85EC53) & _MASK
    return k ^ (k >> 33)


def _mix_k1(k1: int) -> int:
    return (_rotl((k1 * _C1) & _MASK, 31) * _C2) & _MASK


def _mix_k2(k2: int) -> int:
    return (_rotl((k2 * _C2) & _MASK, 33) * _C1) & _MASK


def murmurhash3_x64_128(data: bytes) -> tuple[int, int]:
    """MurmurHash3 x64 128-bit with seed 0; returns (h1, h2)."""
    h1 = h2 = 0
    blocks = len(data) // 16
    for i in range(blocks):
        k1, k2 = struct.unpack_from("<QQ", data, i * 16)
        h1 ^= _mix_k1(k1)
        h1 = (_rotl(h1, 27) + h2) & _MASK
        h1 = (h1 * 5 + 0x52DCE729) & _MASK
        h2 ^= _mix_k2(k2)
        h2 = (_rotl(h2, 31) + h1) & _MASK
        h2 = (h2 * 5 + 0x38495AB5) & _MASK
    tail = data[blocks * 16:]
    k1 = int.from_bytes(tail[:8], "little")
    k2 = int.from_bytes(tail[8:16], "little")
    if len(tail) > 8:
        h2 ^= _mix_k2(k2)
    if tail:
        h1 ^= _mix_k1(k1)
    h1 ^= len(data)
    h2 ^= len(data)
    h1 = (h1 + h2) & _MASK
    h2 = (h2 + h1) & _MASK
    h1, h2 = _fmix(h1), _fmix(h2)
    h1 = (h1 + h2) & _MASK
    h2 = (h2 + h1) & _MASK
    return h1, h2


def _encode(component: Any) -> bytes:
    if component is UNDEFINED:
        return bytes([_UNDEFINED])
    if component is True:
        return bytes([_TRUE])
    if component is False:
        return bytes([_FALSE])
    if component is None:
        return bytes([_NULL])
    if isinstance(component, (int, float)):
        return bytes([_NUMBER]) + struct.pack("<d", float(component))
    return bytes([_STRING]) + str(component).encode("utf-8") + b"\xff"


def _hash_hex(data: bytes) -> str:
    h1, h2 = murmurhash3_x64_128(data)
    raw = bytearray(h1.to_bytes(8, "little") + h2.to_bytes(8, "little"))
    raw.reverse()
    raw[0] &= 0x3F  # keep below the exclusive maximum "FF"
    return raw.hex().upper()


def effective_partition_key(components: list[Any], multi_hash: bool) -> str:
    """The EPK of a logical partition (hash partitioning version 2; MultiHash hashes each component)."""
    if multi_hash:
        return "".join(_hash_hex(_encode(c)) for c in components)
    return _hash_hex(b"".join(_encode(c) for c in components))
