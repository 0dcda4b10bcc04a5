"""Create the databases and containers a declaration file lists (idempotent; safe on every start).

Format (shared by the app's resources/ and devstack):
``{"databases": [{"id": "drone-delivery", "containers": [{"id": "drones", "partitionKey": "/fleetId",
"defaultTtl": null}]}]}`` — ``partitionKey`` is a path or a list of paths (hierarchical);
``defaultTtl`` omitted/null = off, -1 = on without default, N = seconds.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from devstack.cosmos.core.catalog import Catalog
from devstack.cosmos.core.errors import BadRequest, NotFound

log = logging.getLogger(__name__)


class ProvisionError(Exception):
    """The declaration file is missing or malformed."""


def load_declaration(path: Path) -> dict[str, Any]:
    """Read and minimally validate a declaration file."""
    try:
        declaration = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ProvisionError(f"cannot read Cosmos declaration {path}: {exc}") from exc
    if not isinstance(declaration, dict) or not isinstance(declaration.get("databases"), list):
        raise ProvisionError(f"{path}: expected {{\"databases\": [...]}}")
    return declaration


def provision(catalog: Catalog, declaration: dict[str, Any]) -> None:
    """Create every declared database and container that does not exist yet; update changed TTLs."""
    try:
        for database in declaration["databases"]:
            _ensure_database(catalog, database)
            for container in database.get("containers", []):
                _ensure_container(catalog, database["id"], container)
    except (BadRequest, KeyError, TypeError) as exc:
        raise ProvisionError(f"invalid Cosmos declaration: {exc}") from exc


def _ensure_database(catalog: Catalog, database: dict[str, Any]) -> None:
    try:
        catalog.database(database["id"])
    except NotFound:
        catalog.create_database({"id": database["id"]})
        log.info("provisioned database %s", database["id"])


def _ensure_container(catalog: Catalog, database_id: str, container: dict[str, Any]) -> None:
    paths = container.get("partitionKey", "/id")
    paths = [paths] if isinstance(paths, str) else list(paths)
    body: dict[str, Any] = {"id": container["id"],
                            "partitionKey": {"paths": paths, "kind": "Hash" if len(paths) == 1 else "MultiHash",
                                             "version": 2}}
    if container.get("defaultTtl") is not None:
        body["defaultTtl"] = container["defaultTtl"]
    try:
        existing = catalog.container(database_id, container["id"])
    except NotFound:
        catalog.create_container(database_id, body)
        log.info("provisioned container %s/%s (partition key %s)", database_id, container["id"], paths)
        return
    if existing.properties["partitionKey"]["paths"] != paths:
        raise ProvisionError(f"container {database_id}/{container['id']} exists with partition key "
                             f"{existing.properties['partitionKey']['paths']}, declared {paths}")
    if existing.default_ttl != body.get("defaultTtl"):
        catalog.replace_container(database_id, container["id"], {**existing.properties, **body,
                                                                  "defaultTtl": body.get("defaultTtl")})
        log.info("updated defaultTtl of %s/%s to %s", database_id, container["id"], body.get("defaultTtl"))
