"""What the core keeps about databases, containers and items, and their REST JSON representation."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from devstack.cosmos.core.partition_keys import PartitionKeyDefinition


@dataclass
class DatabaseRecord:
    """A database: its id, service-assigned _rid, last write time and etag."""

    id: str
    rid: str
    ts: int
    etag: str

    def to_json(self) -> dict[str, Any]:
        """The database resource as the REST API returns it."""
        return {"id": self.id, "_rid": self.rid, "_self": f"dbs/{self.rid}/", "_etag": self.etag,
                "_colls": "colls/", "_users": "users/", "_ts": self.ts}


@dataclass
class ContainerRecord:
    """A container: its user properties (partitionKey, defaultTtl, indexingPolicy...) plus system ones."""

    database_id: str
    database_rid: str
    id: str
    rid: str
    ts: int
    etag: str
    properties: dict[str, Any] = field(default_factory=dict)

    @property
    def partition_key(self) -> PartitionKeyDefinition:
        """The parsed partition key definition."""
        return PartitionKeyDefinition.parse(self.properties["partitionKey"])

    @property
    def default_ttl(self) -> int | None:
        """Container-level TTL in seconds, -1 for "on, no default", None for off."""
        return self.properties.get("defaultTtl")

    @property
    def self_link(self) -> str:
        """The container's rid-based link, the prefix of its items' ``_self``."""
        return f"dbs/{self.database_rid}/colls/{self.rid}/"

    def to_json(self) -> dict[str, Any]:
        """The container resource as the REST API returns it."""
        return {**self.properties, "id": self.id, "_rid": self.rid, "_self": self.self_link,
                "_etag": self.etag, "_docs": "docs/", "_sprocs": "sprocs/", "_triggers": "triggers/",
                "_udfs": "udfs/", "_conflicts": "conflicts/", "_ts": self.ts}


@dataclass
class StoredItem:
    """One item version as stored: the JSON text already carries _rid, _self, _etag and _ts."""

    container_rid: str
    partition_key: str
    id: str
    body: str
    etag: str
    lsn: int
    expires_at: float | None
    rid: str
    epk: str


@dataclass(frozen=True)
class Scope:
    """Which items a feed covers: one logical partition, an effective-partition-key range, or all."""

    partition_key: str | None = None
    epk_range: tuple[str, str] | None = None
