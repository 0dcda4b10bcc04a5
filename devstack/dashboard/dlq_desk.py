"""The dashboard's dead-letter operations: the very functions `python -m devstack dlq` runs (devstack/dlq), on the
connection settings and topology the dashboard was started with. Blocking (Azure SDK) calls: the routes run them
on worker threads."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devstack.dlq.connections import Connections, connections_from
from devstack.dlq.operations import list_records, peek_broker, read_record, redrive
from devstack.dlq.topology import Target, dead_letter_paths, redrive_targets, target_of


@dataclass(frozen=True)
class Redriven:
    """Where a redriven record's message went, and its new MessageId."""

    record_id: str
    target: Target
    message_id: str


class DeadLetterDesk:
    """List Remediation's records, redrive one, peek the broker's dead-letter queues."""

    def __init__(self, conn: Connections, servicebus_config: Path) -> None:
        self.conn = conn
        self.targets = redrive_targets(servicebus_config)
        self.paths = dead_letter_paths(servicebus_config)

    def records(self, operator_only: bool = False) -> list[dict[str, Any]]:
        """What `dlq list [--operator]` lists: Remediation's records, newest first."""
        return list_records(self.conn, operator_only=operator_only)

    def redrive(self, record_id: str, etag: str) -> Redriven:
        """What `dlq redrive <recordId>` does (read the record, find its target, claim it with an ETag-conditional
        replace, send it with a new MessageId), except that the claim is conditional on ``etag``, the ETag the
        record had when the page listed it: a record redriven (or changed) since is refused with the Cosmos
        PreconditionFailed error, so a second click never sends the message twice."""
        record = {**read_record(self.conn, record_id), "_etag": etag}
        target = target_of(record, self.targets)
        return Redriven(record_id, target, redrive(self.conn, record, target))

    def in_broker(self, entities: set[str] | None = None) -> list[dict[str, Any]]:
        """What `dlq list --broker` lists (peeked, up to 100 per queue), for the entities named (lower-case
        ``queue`` or ``topic/subscriptions/name`` paths) or, with None, for all of them."""
        paths = [path for path in self.paths if entities is None or entity_path(path) in entities]
        return peek_broker(self.conn, paths) if paths else []


def entity_path(path: tuple[str, str | None]) -> str:
    """A (queue or topic, subscription) pair as the broker's admin endpoint names it, lower-cased."""
    topic_or_queue, subscription = path
    return (f"{topic_or_queue}/subscriptions/{subscription}" if subscription else topic_or_queue).lower()


def desk_from(environ: Mapping[str, str], servicebus_config: Path | None) -> tuple[DeadLetterDesk | None, str]:
    """The desk, or None and why the dead-letter panel is off (missing settings or topology); raises OSError,
    ValueError or KeyError when the topology file cannot be read."""
    if servicebus_config is None:
        return None, "the dashboard was started without --servicebus-config (devstack up passes it)"
    redrive_targets(servicebus_config)  # a topology that cannot be read is the user's mistake: raise, do not hide it
    try:
        conn = connections_from(environ, "set them in the dashboard's environment (devstack up does)")
    except ValueError as exc:
        return None, str(exc)
    return DeadLetterDesk(conn, servicebus_config), ""
