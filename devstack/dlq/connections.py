"""Where the dlq tool finds the stack: the app's settings, overridden by the environment."""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from devstack.stack.app_settings import local_values

REQUIRED_SETTINGS = ("ServiceBusConnection", "CosmosDBConnection")


@dataclass(frozen=True)
class Connections:
    """Connection strings for the broker and the Cosmos account holding Remediation's records."""

    servicebus: str
    cosmos_endpoint: str
    cosmos_key: str
    database: str


def parse_cosmos_connection(connection: str) -> tuple[str, str]:
    """(endpoint, key) of an `AccountEndpoint=...;AccountKey=...;` connection string."""
    parts = dict(part.split("=", 1) for part in connection.split(";") if "=" in part)
    try:
        return parts["AccountEndpoint"], parts["AccountKey"]
    except KeyError as missing:
        raise ValueError(f"CosmosDBConnection lacks {missing.args[0]}") from None


def connections_for(app_dir: Path) -> Connections:
    """The same settings the app runs with: environment first (as in the host), then local settings."""
    return connections_from({**local_values(app_dir), **os.environ},
                            f"set them in the environment or in {app_dir / 'local.settings.json'}")


def connections_from(values: Mapping[str, str], hint: str = "set them in the environment") -> Connections:
    """Connections from app settings under the host's names (ServiceBusConnection, CosmosDBConnection,
    CosmosDatabaseName); ValueError naming what is missing, followed by ``hint``."""
    missing = [name for name in REQUIRED_SETTINGS if not values.get(name)]
    if missing:
        raise ValueError(f"missing setting(s) {', '.join(missing)}: {hint}")
    endpoint, key = parse_cosmos_connection(values["CosmosDBConnection"])
    return Connections(values["ServiceBusConnection"], endpoint, key,
                       values.get("CosmosDatabaseName") or "drone-delivery")
