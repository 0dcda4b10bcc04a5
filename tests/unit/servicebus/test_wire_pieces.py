"""Codec (sections, batches, delivery rewrite), SAS tokens, topology parsing, SQLite store."""
from __future__ import annotations

import base64
import hashlib
import hmac
from pathlib import Path
from urllib.parse import quote_plus, urlencode

import pytest
from proton import Data, Described, symbol, timestamp, ulong

from devstack.servicebus.amqp import codec
from devstack.servicebus.amqp.cbs import SasKey, TokenRejected
from devstack.servicebus.core.errors import TopologyError
from devstack.servicebus.core.message import DeadLetterInfo, MessageState, StoredMessage
from devstack.servicebus.core.topology import load_topology, parse_duration
from devstack.servicebus.store.sqlite_store import SqliteStore


def section(code: int, value: object) -> bytes:
    return codec.encode_value(Described(ulong(code), value))


def message(body: bytes = b"hi", *, session: str | None = None, user: dict | None = None) -> bytes:
    props = ["id-1", None, None, "subject", None, None, None, None, None, None, session]
    parts = [section(codec.PROPERTIES, props)]
    if user:
        parts.append(section(codec.APPLICATION_PROPERTIES, user))
    parts.append(section(codec.DATA, body))
    return b"".join(parts)


def decode_sections(raw: bytes) -> dict[int, object]:
    return {code: codec.decode_value(raw[start:end]) for code, start, end in codec.sections(raw)}


def test_read_envelope_takes_ids_and_filter_facts() -> None:
    envelope = codec.read_envelope(message(session="s-1", user={"color": "red"}))
    assert (envelope.message_id, envelope.session_id) == ("id-1", "s-1")
    assert envelope.facts.system["Label"] == "subject"
    assert envelope.facts.user == {"color": "red"}


def test_batch_is_split_and_plain_message_is_not() -> None:
    inner = [message(b"one"), message(b"two")]
    batch = section(codec.PROPERTIES, ["batch"]) + b"".join(section(codec.DATA, m) for m in inner)
    assert codec.split_batch(batch) == inner
    assert codec.split_batch(message(b"just text")) is None


def test_delivery_rewrite_writes_header_annotations_and_dead_letter_properties() -> None:
    stored = StoredMessage("q", 7, message(user={"k": "v"}), "id-1", None, 1_700_000_000.0,
                           state=MessageState.DEFERRED, dead_letter=DeadLetterInfo("Why", "Because"))
    out = decode_sections(codec.encode_for_delivery(stored, locked_until=1_700_000_060.0))
    header = out[codec.HEADER]
    assert isinstance(header, list) and header[4] == 0  # delivery-count sent even when zero
    annotations = out[codec.MESSAGE_ANNOTATIONS]
    assert isinstance(annotations, dict)
    assert annotations[symbol("x-opt-sequence-number")] == 7
    assert annotations[symbol("x-opt-message-state")] == 1
    assert annotations[symbol("x-opt-locked-until")] == 1_700_000_060_000
    assert out[codec.APPLICATION_PROPERTIES] == {"k": "v", "DeadLetterReason": "Why",
                                                 "DeadLetterErrorDescription": "Because"}
    assert out[codec.DATA] == b"hi"


def test_truncated_or_foreign_bytes_are_codec_errors() -> None:
    with pytest.raises(codec.CodecError):
        codec.sections(message()[:-2])
    with pytest.raises(codec.CodecError):
        codec.sections(b"\x45garbage")


def sas(uri: str, key: str, expiry: int, name: str = "Root") -> str:
    signature = base64.b64encode(hmac.new(key.encode(), f"{quote_plus(uri)}\n{expiry}".encode(),
                                          hashlib.sha256).digest()).decode()
    return "SharedAccessSignature " + urlencode({"sr": uri, "sig": signature, "se": expiry, "skn": name})


def test_sas_tokens_checked_for_key_name_signature_and_expiry() -> None:
    key = SasKey("Root", "secret")
    grant = key.validate(sas("sb://host:5672/orders", "secret", 2000), now=1000)
    assert grant.covers("orders/Subscriptions/all", 1000) and not grant.covers("other", 1000)
    assert not grant.covers("orders", 2000)
    for token in (sas("sb://h/q", "wrong", 2000), sas("sb://h/q", "secret", 999), sas("sb://h/q", "secret", 2000,
                                                                                         "Other"), "Bearer x"):
        with pytest.raises(TokenRejected):
            key.validate(token, now=1000)


def test_topology_durations_defaults_and_errors() -> None:
    assert parse_duration("PT1M") == 60 and parse_duration("P1DT0.5S") == 86400.5
    topology = load_topology({"UserConfig": {"Namespaces": [{
        "Name": "n", "Queues": [{"Name": "Q"}], "Topics": [{"Name": "t", "Subscriptions": [{"Name": "s"}]}]}]}})
    queue = topology.queues["q"]
    assert (queue.lock_duration, queue.max_delivery_count, queue.default_ttl) == (60, 10, None)
    assert [rule.name for rule in topology.topics["t"].subscriptions[0].rules] == ["$Default"]
    bad = [
        {"UserConfig": {"Namespaces": [{"Queues": [{"Name": "q", "Properties": {"LockDuration": "1 minute"}}]}]}},
        {"UserConfig": {"Namespaces": [{"Queues": [{"Name": "q", "Properties": {"LockDuration": "PT10M"}}]}]}},
        {"UserConfig": {"Namespaces": [{"Queues": [{"Name": "q", "Properties": {"ForwardTo": "missing"}}]}]}},
        {"UserConfig": {"Namespaces": [{"Topics": [{"Name": "t", "Subscriptions": [{"Name": "s", "Rules": [
            {"Name": "r", "Properties": {"FilterType": "Sql", "SqlFilter": {"SqlExpression": "a = = 1"}}}]}]}]}]}},
        {"Namespaces": []},
    ]
    for config in bad:
        with pytest.raises(TopologyError):
            load_topology(config)


def test_sqlite_store_round_trip_and_rollback(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "sb.sqlite3")
    kept = StoredMessage("q", 3, b"\x00payload", "m", "s", 10.0, expires_at=20.0, delivery_count=2,
                         dead_letter=DeadLetterInfo("r", None, "src"))
    with store.transaction():
        store.insert(kept)
        store.set_session_state("q", "s", b"state")
        store.add_duplicate("q", "m", 99.0)
    with pytest.raises(RuntimeError), store.transaction():
        store.insert(StoredMessage("q", 4, b"lost", None, None, 11.0))
        raise RuntimeError("crash mid-operation")
    store.close()
    snapshot = SqliteStore(tmp_path / "sb.sqlite3").load()
    [loaded] = snapshot.messages
    assert (loaded.seq, loaded.payload, loaded.delivery_count, loaded.dead_letter) == (
        3, b"\x00payload", 2, DeadLetterInfo("r", None, "src"))
    assert snapshot.sequences["q"] >= 3  # reserved in blocks, never reused
    assert snapshot.session_states == {("q", "s"): b"state"}
    assert snapshot.duplicates == {("q", "m"): 99.0}


def test_data_decoder_copy_is_independent_of_its_buffer() -> None:
    value = codec.decode_value(section(codec.DATA, b"copied"))
    data = Data()
    data.put_binary(b"overwrite")
    assert value == b"copied" and isinstance(value, bytes)


def test_sender_annotations_survive_delivery_and_broker_ones_are_added() -> None:
    scheduled = symbol("x-opt-scheduled-enqueue-time")
    raw = section(codec.MESSAGE_ANNOTATIONS, {scheduled: timestamp(1_700_000_000_000),
                                              symbol("x-opt-partition-key"): "pk"}) + message()
    envelope = codec.read_envelope(raw)
    assert envelope.scheduled_at == 1_700_000_000.0
    stored = StoredMessage("q", 1, raw, "id-1", None, 1_700_000_005.0, scheduled_at=envelope.scheduled_at)
    annotations = decode_sections(codec.encode_for_delivery(stored, locked_until=None))[codec.MESSAGE_ANNOTATIONS]
    assert isinstance(annotations, dict)
    assert annotations[scheduled] == 1_700_000_000_000 and annotations[symbol("x-opt-partition-key")] == "pk"
    assert annotations[symbol("x-opt-enqueued-time")] == 1_700_000_005_000
