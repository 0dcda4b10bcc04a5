"""Transactional batch: up to 100 operations on one logical partition, all or nothing.

Docs ("Transactional batch operations in Azure Cosmos DB"): operations run in order; the first failure
rolls every earlier one back, and the response reports that operation's status and 424 (Failed Dependency)
for all the others.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from devstack.cosmos.core.errors import BadRequest, CosmosError
from devstack.cosmos.core.items import ItemResult, Items
from devstack.cosmos.core.partition_keys import parse_header
from devstack.cosmos.core.ports import Store
from devstack.cosmos.core.records import ContainerRecord

MAX_OPERATIONS = 100


@dataclass(frozen=True)
class BatchOutcome:
    """One operation's result: its kind (to pick the success status) and the item, or the error."""

    operation: str
    result: ItemResult | None = None
    error: CosmosError | None = None
    skipped: bool = False


class _RollBack(Exception):
    """Raised inside the batch transaction to undo it after an operation failed."""


def execute_batch(items: Items, store: Store, container: ContainerRecord, pk_header: str | None,
                  operations: Any) -> list[BatchOutcome]:
    """Run ``operations`` atomically; on the first failure nothing is kept."""
    _validate(container, pk_header, operations)
    outcomes: list[BatchOutcome] = []
    try:
        with store.transaction():
            for operation in operations:
                outcome = _run_one(items, container, pk_header, operation)
                outcomes.append(outcome)
                if outcome.error is not None:
                    raise _RollBack()
    except _RollBack:
        failed = len(outcomes) - 1
        return [o if i == failed else BatchOutcome(o.operation, skipped=True) for i, o in enumerate(outcomes)] + [
            BatchOutcome(str(op.get("operationType", "")), skipped=True) for op in operations[failed + 1:]]
    return outcomes


def _validate(container: ContainerRecord, pk_header: str | None, operations: Any) -> None:
    if not isinstance(operations, list) or not operations:
        raise BadRequest("a batch body must be a non-empty JSON array of operations")
    if len(operations) > MAX_OPERATIONS:
        raise BadRequest(f"a batch has at most {MAX_OPERATIONS} operations, got {len(operations)}")
    if pk_header is None:
        raise BadRequest("a batch needs the x-ms-documentdb-partitionkey header (one logical partition)")
    parse_header(pk_header, container.partition_key)
    for index, operation in enumerate(operations):
        if not isinstance(operation, dict) or "operationType" not in operation:
            raise BadRequest(f"batch operation {index} must be an object with an 'operationType'")


def _run_one(items: Items, container: ContainerRecord, pk_header: str | None, operation: dict) -> BatchOutcome:
    kind = str(operation["operationType"]).lower()
    body = operation.get("resourceBody")
    if_match = operation.get("ifMatch")
    item_id = operation.get("id")
    try:
        if kind == "create":
            result = items.create(container, body, pk_header)
        elif kind == "upsert":
            result = items.upsert(container, body, pk_header, if_match, operation.get("ifNoneMatch"))
        elif kind == "read":
            result = items.read(container, _id(item_id), pk_header)
        elif kind == "replace":
            result = items.replace(container, _id(item_id), body, pk_header, if_match)
        elif kind == "delete":
            items.delete(container, _id(item_id), pk_header, if_match)
            result = None
        elif kind == "patch":
            result = items.patch(container, _id(item_id), body, pk_header, if_match)
        else:
            raise BadRequest(f"unknown batch operationType {operation['operationType']!r}")
    except CosmosError as exc:
        return BatchOutcome(kind, error=exc)
    return BatchOutcome(kind, result=result)


def _id(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise BadRequest("the batch operation needs an 'id'")
    return value
