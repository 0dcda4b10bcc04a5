"""Pure rules: partition key paths and headers, effective partition keys, TTL, patch operations."""
from __future__ import annotations

import pytest
from azure.cosmos.partition_key import NonePartitionKeyValue, PartitionKey

from devstack.cosmos.core.documents import parse_json, serialize_item
from devstack.cosmos.core.effective_keys import effective_partition_key
from devstack.cosmos.core.errors import BadRequest
from devstack.cosmos.core.partition_keys import UNDEFINED, PartitionKeyDefinition, canonical_key, parse_header
from devstack.cosmos.core.patch import apply_patch, parse_patch_body
from devstack.cosmos.core.ttl import expiry_time, validate_default_ttl, validate_item_ttl

FLEET = PartitionKeyDefinition.parse({"paths": ["/fleetId"], "kind": "Hash"})


def test_nested_and_quoted_paths() -> None:
    definition = PartitionKeyDefinition.parse({"paths": ['/owner/"home region"']})
    assert definition.extract({"owner": {"home region": "eu"}}) == ["eu"]
    assert definition.extract({"owner": {}}) == [UNDEFINED]
    assert definition.extract({"owner": {"home region": {"nested": 1}}}) == [UNDEFINED]


@pytest.mark.parametrize("bad", [None, {}, {"paths": []}, {"paths": ["fleet"]}, {"paths": ["/a", "/b"]},
                                 {"paths": ["/a"], "kind": "Range"}, {"paths": ["/a//b"]}])
def test_invalid_definitions(bad: object) -> None:
    with pytest.raises(BadRequest):
        PartitionKeyDefinition.parse(bad)


def test_canonical_keys_and_headers_agree() -> None:
    assert canonical_key(FLEET.extract({"fleetId": 1.0})) == parse_header("[1]", FLEET) == "[1]"
    assert canonical_key(FLEET.extract({})) == parse_header("[{}]", FLEET) == "[{}]"
    assert parse_header('[null]', FLEET) == "[null]" != parse_header("[{}]", FLEET)
    for header in ("fleet", "[]", '["a", "b"]', "[[1]]", '{"a": 1}'):
        with pytest.raises(BadRequest):
            parse_header(header, FLEET)
    with pytest.raises(BadRequest, match="2048"):
        canonical_key(["x" * 3000])


@pytest.mark.parametrize("value", ["fleet-1", "", "ü" * 50, 0, 1, -2.5, 1e300, True, False, None])
def test_effective_partition_key_matches_the_sdk(value: object) -> None:
    expected = PartitionKey("/a")._get_effective_partition_key_string([value])
    assert effective_partition_key([value], multi_hash=False) == expected


def test_effective_partition_key_undefined_and_multi_hash() -> None:
    single = PartitionKey("/a")
    assert effective_partition_key([UNDEFINED], False) == single._get_effective_partition_key_string(
        [NonePartitionKeyValue])
    multi = PartitionKey(["/a", "/b", "/c"], kind="MultiHash")
    assert effective_partition_key(["t", 7, True], True) == multi._get_effective_partition_key_string(["t", 7, True])


def test_ttl_rules() -> None:
    assert validate_default_ttl(None) is None and validate_default_ttl(-1) == -1 and validate_default_ttl(5) == 5
    for bad in (0, -2, 1.5, "5", True):
        with pytest.raises(BadRequest):
            validate_default_ttl(bad)
        with pytest.raises(BadRequest):
            validate_item_ttl({"ttl": bad})
    validate_item_ttl({"ttl": None})
    assert expiry_time(None, {"ttl": 5}, 100) is None
    assert expiry_time(-1, {}, 100) is None and expiry_time(-1, {"ttl": 5}, 100) == 105
    assert expiry_time(10, {}, 100) == 110 and expiry_time(10, {"ttl": -1}, 100) is None


def test_patch_arrays_and_move() -> None:
    doc = {"id": "a", "fleetId": "f", "list": [1, 2, 3], "from": {"x": 1}}
    result = apply_patch(doc, [
        {"op": "set", "path": "/list/1", "value": 20},
        {"op": "add", "path": "/list/3", "value": 4},
        {"op": "remove", "path": "/list/0"},
        {"op": "move", "from": "/from/x", "path": "/to"},
        {"op": "add", "path": "/a~1b", "value": "slash"},
    ], FLEET)
    assert result["list"] == [20, 3, 4] and result["to"] == 1 and result["from"] == {} and result["a/b"] == "slash"
    assert doc["list"] == [1, 2, 3]  # the input is untouched


@pytest.mark.parametrize("operation", [
    {"op": "set", "path": "/id", "value": "x"}, {"op": "set", "path": "/fleetId", "value": "x"},
    {"op": "set", "path": "/_etag", "value": "x"}, {"op": "set", "path": "nope", "value": 1},
    {"op": "set", "path": "/a/b", "value": 1}, {"op": "add", "path": "/list/9", "value": 1},
    {"op": "incr", "path": "/n", "value": "1"}, {"op": "set", "path": "/x"}, {"op": "copy", "path": "/x"},
    "not-an-object",
])
def test_invalid_patch_operations(operation: object) -> None:
    with pytest.raises(BadRequest):
        apply_patch({"id": "a", "fleetId": "f", "list": [1]}, [operation], FLEET)


@pytest.mark.parametrize("start, amount", [(1e308, 1e308), (-1e308, -1e308),
                                           pytest.param(10 ** 308, 10 ** 308, id="integers")])
def test_incr_that_overflows_a_double_is_refused(start: float, amount: float) -> None:
    doc = {"id": "a", "fleetId": "f", "n": start}
    with pytest.raises(BadRequest, match="overflows"):
        apply_patch(doc, [{"op": "incr", "path": "/n", "value": amount}], FLEET)
    assert doc["n"] == start


@pytest.mark.parametrize("text", ["[1e999]", "[-1e999]", "[NaN]", "[Infinity]",
                                  pytest.param("[1" + "0" * 400 + "]", id="huge-integer")])
def test_non_finite_numbers_are_refused_in_bodies_and_headers(text: str) -> None:
    with pytest.raises(BadRequest):
        parse_json(text)
    with pytest.raises(BadRequest):
        parse_header(text, FLEET)
    with pytest.raises(BadRequest, match="NaN or Infinity"):
        serialize_item({"id": "a", "n": float("inf")})
    assert parse_json("[1e308, -1e-999, 12345678901234567890]") == [1e308, -0.0, 12345678901234567890]


def test_patch_body_shape() -> None:
    assert parse_patch_body({"operations": [{"op": "remove", "path": "/x"}]}) == ([{"op": "remove", "path": "/x"}],
                                                                                 None)
    for bad in ({}, {"operations": []}, {"operations": [{}] * 11}, {"operations": [{}], "condition": 5}, []):
        with pytest.raises(BadRequest):
            parse_patch_body(bad)
