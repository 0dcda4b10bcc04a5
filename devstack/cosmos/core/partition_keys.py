"""Partition key definitions, value extraction from documents, and the x-ms-documentdb-partitionkey header.

A logical partition is identified by a canonical JSON string of the key's components, e.g. ``["fleet-1"]``;
a missing path is the *undefined* component, written ``{}`` as the SDK does (azure/cosmos/_base.py GetHeaders).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from devstack.cosmos.core.documents import dumps, parse_json
from devstack.cosmos.core.errors import BadRequest

#: Documented limit: a partition key value is at most 2,048 bytes.
MAX_PARTITION_KEY_BYTES = 2048


class _Undefined:
    """The component of a document whose partition key path does not exist."""

    def __repr__(self) -> str:
        return "Undefined"


UNDEFINED = _Undefined()


@dataclass(frozen=True)
class PartitionKeyDefinition:
    """A container's ``partitionKey`` property: one path (``Hash``) or several (``MultiHash``)."""

    paths: tuple[tuple[str, ...], ...]
    raw: dict[str, Any]

    @classmethod
    def parse(cls, value: Any) -> PartitionKeyDefinition:
        """Validate a container's ``partitionKey`` JSON and split each path into segments."""
        if not isinstance(value, dict) or not isinstance(value.get("paths"), list) or not value["paths"]:
            raise BadRequest("partitionKey must be an object with a non-empty 'paths' list")
        kind = value.get("kind", "Hash")
        if kind not in ("Hash", "MultiHash"):
            raise BadRequest(f"partitionKey kind {kind!r} is not supported (Hash or MultiHash)")
        if kind == "Hash" and len(value["paths"]) != 1:
            raise BadRequest("a Hash partition key has exactly one path; use kind MultiHash for several")
        if len(value["paths"]) > 3:
            raise BadRequest("a hierarchical partition key has at most 3 paths")
        paths = tuple(_split_path(p) for p in value["paths"])
        # REST "Create a collection": version 1 or 2 (the hash function); null counts as not given.
        version = value.get("version")
        version = 2 if version is None else version
        if isinstance(version, bool) or not isinstance(version, (int, float)) or version not in (1, 2):
            raise BadRequest(f"partitionKey version {version!r} is not supported; use 1 or 2")
        raw = {"paths": list(value["paths"]), "kind": kind, "version": int(version)}
        return cls(paths, raw)

    def extract(self, document: dict[str, Any]) -> list[Any]:
        """The key components of ``document`` (``UNDEFINED`` where a path is missing)."""
        return [_follow(document, segments) for segments in self.paths]

    def is_partition_key_path(self, segments: tuple[str, ...]) -> bool:
        """Whether ``segments`` is (a prefix of) one of the key's paths: such a property must not change."""
        return any(path[: len(segments)] == segments for path in self.paths)


def _split_path(path: Any) -> tuple[str, ...]:
    if not isinstance(path, str) or not path.startswith("/") or path == "/":
        raise BadRequest(f"partition key path {path!r} must start with '/' and name a property")
    segments = []
    for segment in path[1:].split("/"):
        # Paths may quote a segment with spaces or special characters: /"my key"/x
        if len(segment) >= 2 and segment[0] == segment[-1] == '"':
            segment = segment[1:-1]
        if not segment:
            raise BadRequest(f"partition key path {path!r} has an empty segment")
        segments.append(segment)
    return tuple(segments)


def _follow(document: Any, segments: tuple[str, ...]) -> Any:
    node = document
    for segment in segments:
        if not isinstance(node, dict) or segment not in node:
            return UNDEFINED
        node = node[segment]
    # Objects and arrays cannot be key values; Cosmos DB files such documents under "undefined".
    return UNDEFINED if isinstance(node, (dict, list)) else node


def canonical_key(components: list[Any]) -> str:
    """The stable string that names a logical partition (used as a storage key)."""
    encoded = [{} if c is UNDEFINED else _normalize_number(c) for c in components]
    text = dumps(encoded)
    if len(text.encode("utf-8")) > MAX_PARTITION_KEY_BYTES:
        raise BadRequest(f"partition key value exceeds the {MAX_PARTITION_KEY_BYTES}-byte limit")
    return text


def _normalize_number(value: Any) -> Any:
    # 1 and 1.0 are the same JSON number; keep one spelling so both find the same partition.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def components_of(key: str) -> list[Any]:
    """The components of a canonical key (inverse of ``canonical_key``)."""
    return [UNDEFINED if c == {} else c for c in json.loads(key)]


def parse_header(header: str, definition: PartitionKeyDefinition) -> str:
    """Canonical key from an ``x-ms-documentdb-partitionkey`` header such as ``["fleet-1"]``."""
    values = parse_json(header, "x-ms-documentdb-partitionkey header")
    if not isinstance(values, list) or len(values) != len(definition.paths):
        raise BadRequest(
            f"partition key {header} does not match the container's key paths {definition.raw['paths']}"
        )
    components = []
    for value in values:
        if value == {}:
            components.append(UNDEFINED)
        elif isinstance(value, (dict, list)):
            raise BadRequest(f"partition key component {value!r} must be a string, number, boolean or null")
        else:
            components.append(value)
    return canonical_key(components)
