"""Time to live: container ``defaultTtl`` and per-item ``ttl`` (docs: "Time to Live in Azure Cosmos DB").

- container defaultTtl absent/null: nothing expires, item ``ttl`` is ignored;
- defaultTtl -1: items live forever unless they carry a positive ``ttl``;
- defaultTtl N > 0: items expire N seconds after their last write unless ``ttl`` overrides (-1 = never).
"""
from __future__ import annotations

from typing import Any, TypeGuard

from devstack.cosmos.core.errors import BadRequest


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def validate_default_ttl(value: Any) -> int | None:
    """Check a container's ``defaultTtl``: null, -1 or a positive number of seconds."""
    if value is None:
        return None
    if not _is_int(value) or value == 0 or value < -1:
        raise BadRequest(f"defaultTtl must be -1 or a positive integer number of seconds, got {value!r}")
    return int(value)


def validate_item_ttl(document: dict[str, Any]) -> None:
    """Check an item's ``ttl`` property when present: -1 or a positive integer."""
    value = document.get("ttl")
    if value is None:
        return
    if not _is_int(value) or value == 0 or value < -1:
        raise BadRequest(f"the item ttl must be -1 or a positive integer number of seconds, got {value!r}")


def expiry_time(default_ttl: int | None, document: dict[str, Any], written_at: float) -> float | None:
    """When an item written at ``written_at`` expires, or None if it never does."""
    if default_ttl is None:
        return None
    item_ttl = document.get("ttl")
    effective = item_ttl if _is_int(item_ttl) else default_ttl
    if effective == -1:
        return None
    return written_at + effective
