"""Databases and containers: create, read, list, replace, delete (docs: Cosmos DB REST "Databases", "Collections")."""
from __future__ import annotations

import copy
import json
from typing import Any

from devstack.cosmos.core.errors import BadRequest, Conflict, NotFound
from devstack.cosmos.core.identity import new_container_rid, new_database_rid, new_etag, validate_id
from devstack.cosmos.core.partition_keys import PartitionKeyDefinition
from devstack.cosmos.core.ports import Clock, Store
from devstack.cosmos.core.records import ContainerRecord, DatabaseRecord
from devstack.cosmos.core.ttl import expiry_time, validate_default_ttl

# What a container reports when the client sets no indexing policy: the service's documented default
# (https://learn.microsoft.com/azure/cosmos-db/index-policy, "Default indexing policy").
_DEFAULT_INDEXING_POLICY = {
    "indexingMode": "consistent", "automatic": True,
    "includedPaths": [{"path": "/*"}], "excludedPaths": [{"path": '/"_etag"/?'}],
}


class Catalog:
    """The account's databases and containers."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    # -- databases --------------------------------------------------------------------------------
    def create_database(self, body: Any) -> DatabaseRecord:
        """Create a database from ``{"id": ...}``; 409 if it exists."""
        if not isinstance(body, dict):
            raise BadRequest("the request body must be a JSON object with an 'id'")
        database_id = validate_id(body.get("id"), "database")
        with self._store.transaction():
            if self._store.get_database(database_id):
                raise Conflict(f"database {database_id!r} already exists")
            rids = {d.rid for d in self._store.list_databases()}
            rid = new_database_rid()
            while rid in rids:
                rid = new_database_rid()
            record = DatabaseRecord(database_id, rid, int(self._clock.now()), new_etag())
            self._store.insert_database(record)
        return record

    def database(self, database_id: str) -> DatabaseRecord:
        """A database by id; 404 if missing."""
        record = self._store.get_database(database_id)
        if record is None:
            raise NotFound(f"database {database_id!r} does not exist")
        return record

    def list_databases(self) -> list[DatabaseRecord]:
        """Every database."""
        return self._store.list_databases()

    def delete_database(self, database_id: str) -> None:
        """Delete a database and everything in it; 404 if missing."""
        self.database(database_id)
        self._store.delete_database(database_id)

    # -- containers -------------------------------------------------------------------------------
    def create_container(self, database_id: str, body: Any) -> ContainerRecord:
        """Create a container from its properties; 409 if it exists, 404 if the database does not."""
        database = self.database(database_id)
        properties = _container_properties(body)
        with self._store.transaction():
            if self._store.get_container(database_id, properties["id"]):
                raise Conflict(f"container {properties['id']!r} already exists in database {database_id!r}")
            record = ContainerRecord(database_id, database.rid, properties["id"], new_container_rid(database.rid),
                                     int(self._clock.now()), new_etag(), properties)
            self._store.insert_container(record)
        return record

    def container(self, database_id: str, container_id: str) -> ContainerRecord:
        """A container by id; 404 if it (or its database) is missing."""
        record = self._store.get_container(database_id, container_id)
        if record is None:
            self.database(database_id)
            raise NotFound(f"container {container_id!r} does not exist in database {database_id!r}")
        return record

    def list_containers(self, database_id: str) -> list[ContainerRecord]:
        """A database's containers; 404 if the database is missing."""
        self.database(database_id)
        return self._store.list_containers(database_id)

    def replace_container(self, database_id: str, container_id: str, body: Any) -> ContainerRecord:
        """Replace a container's mutable properties (defaultTtl, indexingPolicy); the partition key is fixed."""
        record = self.container(database_id, container_id)
        properties = _container_properties(body)
        if properties["id"] != container_id:
            raise BadRequest(f"the body id {properties['id']!r} does not match the container {container_id!r}")
        if properties["partitionKey"]["paths"] != record.properties["partitionKey"]["paths"]:
            raise BadRequest("a container's partition key cannot be changed")
        ttl_changed = properties.get("defaultTtl") != record.default_ttl
        record.properties, record.ts, record.etag = properties, int(self._clock.now()), new_etag()
        with self._store.transaction():
            self._store.update_container(record)
            if ttl_changed:
                self._recompute_expiry(record)
        return record

    def _recompute_expiry(self, record: ContainerRecord) -> None:
        # An item's expiry counts from its last write (_ts) under the container's current defaultTtl.
        for item in self._store.list_items(record.rid):
            document = json.loads(item.body)
            expires_at = expiry_time(record.default_ttl, document, float(document.get("_ts", 0)))
            self._store.set_expiry(record.rid, item.partition_key, item.id, expires_at)

    def delete_container(self, database_id: str, container_id: str) -> None:
        """Delete a container and its items; 404 if missing."""
        self.container(database_id, container_id)
        self._store.delete_container(database_id, container_id)


def _container_properties(body: Any) -> dict[str, Any]:
    """Validated user properties of a container create/replace body."""
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object with 'id' and 'partitionKey'")
    properties = {k: copy.deepcopy(v) for k, v in body.items() if not k.startswith("_")}
    properties["id"] = validate_id(body.get("id"), "container")
    if "partitionKey" not in body:
        raise BadRequest("a container needs a partitionKey, e.g. {\"paths\": [\"/id\"], \"kind\": \"Hash\"}")
    properties["partitionKey"] = PartitionKeyDefinition.parse(body["partitionKey"]).raw
    ttl = validate_default_ttl(body.get("defaultTtl"))
    if ttl is None:
        properties.pop("defaultTtl", None)
    else:
        properties["defaultTtl"] = ttl
    properties["indexingPolicy"] = _indexing_policy(body.get("indexingPolicy"))
    properties.setdefault("conflictResolutionPolicy", {"mode": "LastWriterWins", "conflictResolutionPath": "/_ts",
                                                       "conflictResolutionProcedure": ""})
    return properties


def _indexing_policy(value: Any) -> dict[str, Any]:
    """The policy a container reports: what the client set, with the service's defaults for the rest.

    The service fills in what a policy leaves out (the SDK sends ``{}`` for ``indexing_policy={}``),
    so readers can rely on ``indexingMode``; with indexing mode ``none`` there are no paths.
    """
    if value is None:
        return copy.deepcopy(_DEFAULT_INDEXING_POLICY)
    if not isinstance(value, dict):
        raise BadRequest("indexingPolicy must be a JSON object such as {\"indexingMode\": \"consistent\"}")
    policy = copy.deepcopy(value)
    mode = policy.setdefault("indexingMode", "consistent")
    if not isinstance(mode, str) or mode.lower() not in ("consistent", "lazy", "none"):
        raise BadRequest(f"indexingMode {mode!r} is not one of consistent, lazy, none")
    indexed = mode.lower() != "none"
    policy.setdefault("automatic", indexed)
    for key in ("includedPaths", "excludedPaths"):
        policy.setdefault(key, copy.deepcopy(_DEFAULT_INDEXING_POLICY[key]) if indexed else [])
    return policy
