"""Item operations: create, upsert, read, replace, delete, patch, with etags, TTL and partition keys."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from devstack.cosmos.core.conditions import condition_holds
from devstack.cosmos.core.documents import serialize_item
from devstack.cosmos.core.effective_keys import effective_partition_key
from devstack.cosmos.core.errors import BadRequest, Conflict, NotFound, PreconditionFailed
from devstack.cosmos.core.identity import new_etag, new_item_rid, validate_id
from devstack.cosmos.core.partition_keys import canonical_key, components_of, parse_header
from devstack.cosmos.core.patch import apply_patch, parse_patch_body
from devstack.cosmos.core.ports import Clock, Store
from devstack.cosmos.core.records import ContainerRecord, StoredItem
from devstack.cosmos.core.ttl import expiry_time, validate_item_ttl

_SYSTEM_PROPERTIES = ("_rid", "_self", "_etag", "_attachments", "_ts")


@dataclass(frozen=True)
class ItemResult:
    """An item after an operation: its JSON text and etag; ``created`` tells 201 from 200."""

    body: str
    etag: str
    created: bool = False


class Items:
    """Item semantics over a Store; every write happens in one store transaction."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    def create(self, container: ContainerRecord, body: Any, pk_header: str | None) -> ItemResult:
        """Insert a new item; 409 if the id exists in its partition."""
        document, pk = self._prepare(container, body, pk_header)
        with self._store.transaction():
            if self._store.get_item(container.rid, pk, document["id"], self._clock.now()):
                raise Conflict(f"an item with id {document['id']!r} already exists in partition {pk}")
            return self._write(container, pk, document, None, created=True)

    def upsert(self, container: ContainerRecord, body: Any, pk_header: str | None,
               if_match: str | None = None, if_none_match: str | None = None) -> ItemResult:
        """Insert or replace an item (``If-Match`` checks the current version; ``If-None-Match: *`` only inserts)."""
        document, pk = self._prepare(container, body, pk_header)
        with self._store.transaction():
            existing = self._store.get_item(container.rid, pk, document["id"], self._clock.now())
            _check_if_match(existing, if_match)
            if if_none_match == "*" and existing is not None:
                raise PreconditionFailed(f"If-None-Match: * but item {document['id']!r} exists")
            return self._write(container, pk, document, existing, created=existing is None)

    def read(self, container: ContainerRecord, item_id: str, pk_header: str | None) -> ItemResult:
        """An item by id; 404 if it does not exist (or has expired)."""
        pk = self._header_key(container, pk_header)
        item = self._existing(container, pk, item_id)
        return ItemResult(item.body, item.etag)

    def replace(self, container: ContainerRecord, item_id: str, body: Any, pk_header: str | None,
                if_match: str | None = None) -> ItemResult:
        """Replace an existing item; 404 if missing, 412 if ``If-Match`` is stale."""
        document, pk = self._prepare(container, body, pk_header)
        if document["id"] != item_id:
            raise BadRequest(f"the body id {document['id']!r} does not match the addressed item {item_id!r}")
        with self._store.transaction():
            existing = self._existing(container, pk, item_id)
            _check_if_match(existing, if_match)
            return self._write(container, pk, document, existing)

    def delete(self, container: ContainerRecord, item_id: str, pk_header: str | None,
               if_match: str | None = None) -> None:
        """Delete an item; 404 if missing, 412 if ``If-Match`` is stale."""
        pk = self._header_key(container, pk_header)
        with self._store.transaction():
            existing = self._existing(container, pk, item_id)
            _check_if_match(existing, if_match)
            self._store.delete_item(container.rid, pk, item_id)

    def delete_partition(self, container: ContainerRecord, pk_header: str | None) -> int:
        """Delete every item of one logical partition; returns how many."""
        pk = self._header_key(container, pk_header)
        with self._store.transaction():
            return self._store.delete_partition(container.rid, pk)

    def patch(self, container: ContainerRecord, item_id: str, body: Any, pk_header: str | None,
              if_match: str | None = None) -> ItemResult:
        """Apply patch operations; 412 if ``If-Match`` is stale or the filter condition is false."""
        operations, condition = parse_patch_body(body)
        pk = self._header_key(container, pk_header)
        with self._store.transaction():
            existing = self._existing(container, pk, item_id)
            _check_if_match(existing, if_match)
            current = json.loads(existing.body)
            if condition is not None and not condition_holds(condition, current):
                raise PreconditionFailed(f"the patch condition {condition!r} is not met by item {item_id!r}")
            document = apply_patch(current, operations, container.partition_key)
            validate_item_ttl(document)
            return self._write(container, pk, document, existing)

    # -- helpers ----------------------------------------------------------------------------------
    def _header_key(self, container: ContainerRecord, pk_header: str | None) -> str:
        if pk_header is None:
            raise BadRequest("this operation needs the x-ms-documentdb-partitionkey header")
        return parse_header(pk_header, container.partition_key)

    def _existing(self, container: ContainerRecord, pk: str, item_id: str) -> StoredItem:
        item = self._store.get_item(container.rid, pk, item_id, self._clock.now())
        if item is None:
            raise NotFound(f"item {item_id!r} does not exist in partition {pk}")
        return item

    def _prepare(self, container: ContainerRecord, body: Any, pk_header: str | None) -> tuple[dict[str, Any], str]:
        """Validate an item body and find its partition (the header, if sent, must agree with it)."""
        if not isinstance(body, dict):
            raise BadRequest("an item must be a JSON object")
        validate_id(body.get("id"), "item")
        validate_item_ttl(body)
        pk = canonical_key(container.partition_key.extract(body))
        if pk_header is not None and parse_header(pk_header, container.partition_key) != pk:
            raise BadRequest(f"the partition key in the item ({pk}) does not match the one in the header "
                             f"({pk_header})")
        document = {k: v for k, v in body.items() if k not in _SYSTEM_PROPERTIES}
        return document, pk

    def _write(self, container: ContainerRecord, pk: str, document: dict[str, Any],
               existing: StoredItem | None, created: bool = False) -> ItemResult:
        now = self._clock.now()
        lsn = self._store.next_lsn(container.rid)
        rid = existing.rid if existing else new_item_rid(container.rid, lsn)
        etag = new_etag()
        document = {k: v for k, v in document.items() if k not in _SYSTEM_PROPERTIES}
        document.update({"_rid": rid, "_self": f"{container.self_link}docs/{rid}/", "_etag": etag,
                         "_attachments": "attachments/", "_ts": int(now)})
        text = serialize_item(document)
        expires_at = expiry_time(container.default_ttl, document, now)
        epk = effective_partition_key(components_of(pk), container.partition_key.raw["kind"] == "MultiHash")
        self._store.put_item(StoredItem(container.rid, pk, document["id"], text, etag, lsn, expires_at, rid, epk))
        return ItemResult(text, etag, created)


def _check_if_match(existing: StoredItem | None, if_match: str | None) -> None:
    """``If-Match: <etag>`` must name the current version (``*`` matches any existing one)."""
    if if_match is None:
        return
    if existing is None:
        raise PreconditionFailed("If-Match was given but the item does not exist")
    if if_match != "*" and if_match != existing.etag:
        raise PreconditionFailed(f"the item has changed: If-Match {if_match} does not match etag {existing.etag}")
