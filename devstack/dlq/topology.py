"""Where a dead letter goes back to, read from the Service Bus topology file the app ships."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class UnknownEntity(ValueError):
    """A record names an entity the topology does not have."""


@dataclass(frozen=True)
class Target:
    """A redrive destination: a queue, or the topic that feeds a subscription."""

    entity: str
    kind: str  # "queue" | "topic"


def redrive_targets(config_path: Path) -> dict[str, Target]:
    """Entity name (queue, or subscription as Remediation names it) → where to resend.

    Service Bus cannot send to a subscription, so a subscription's dead letter goes back to its
    topic (as Service Bus Explorer's "resubmit" does); every subscription of the topic sees it again,
    which the app tolerates because every handler is idempotent and refuses ended deliveries.
    """
    config = json.loads(config_path.read_text())
    targets: dict[str, Target] = {}
    for namespace in config["UserConfig"]["Namespaces"]:
        for queue in namespace.get("Queues", []):
            targets[queue["Name"]] = Target(queue["Name"], "queue")
        for topic in namespace.get("Topics", []):
            for subscription in topic.get("Subscriptions", []):
                target = Target(topic["Name"], "topic")
                targets[subscription["Name"]] = target
                targets[f"{topic['Name']}/{subscription['Name']}"] = target
    return targets


def target_of(record: dict[str, Any], targets: dict[str, Target]) -> Target:
    """Where one of Remediation's records goes back to; UnknownEntity (a ValueError) when the topology has no such
    entity."""
    target = targets.get(record.get("entity", ""))
    if target is None:
        raise UnknownEntity(f"unknown entity {record.get('entity')!r}")
    return target


def dead_letter_paths(config_path: Path) -> list[tuple[str, str | None]]:
    """(queue or topic, subscription or None) for every entity that has a dead-letter queue."""
    config = json.loads(config_path.read_text())
    paths: list[tuple[str, str | None]] = []
    for namespace in config["UserConfig"]["Namespaces"]:
        paths += [(queue["Name"], None) for queue in namespace.get("Queues", [])]
        for topic in namespace.get("Topics", []):
            paths += [(topic["Name"], sub["Name"]) for sub in topic.get("Subscriptions", [])]
    return paths
