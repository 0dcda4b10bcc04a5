"""Package's documents (container `packages`, docs/design.md "Data")."""
from __future__ import annotations

from enum import StrEnum
from typing import Literal

from contracts.messages import PackageSize
from contracts.model import Contract, UtcDateTime


class PackageStatus(StrEnum):
    """A package's lifecycle in the Package service."""

    READY = "Ready"
    CLOSED = "Closed"
    CANCELLED = "Cancelled"


class PackageDocument(Contract):
    """A package (container `packages`, id = packageId)."""

    id: str
    kind: Literal["package"] = "package"
    delivery_id: str
    size: PackageSize
    weight: float
    tag: str | None = None
    status: PackageStatus
    updated_at: UtcDateTime
