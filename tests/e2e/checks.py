"""What end-to-end tests look at inside the stack (through the real Cosmos SDK)."""
from __future__ import annotations

from typing import Any

from tests.support.stack import RunningStack, eventually


def drone_held_by(stack: RunningStack, delivery_id: str) -> list[dict[str, Any]]:
    """Drones still reserved for a delivery (none once it has been released)."""
    return stack.query("drones", "SELECT * FROM c WHERE c.kind = 'drone' AND c.reservedFor = @id", id=delivery_id)


def wait_released(stack: RunningStack, delivery_id: str, timeout: float = 30.0) -> None:
    """The delivery's drone (if it had one) becomes available again: the compensation ran."""
    eventually(lambda: drone_held_by(stack, delivery_id), lambda held: held == [], timeout,
               f"the drone of {delivery_id} to be released")


def wait_package(stack: RunningStack, package_id: str, status: str, timeout: float = 30.0) -> dict[str, Any]:
    """The package document reaches ``status`` (Closed after shipping, Cancelled on compensation)."""
    rows = eventually(lambda: stack.query("packages", "SELECT * FROM c WHERE c.id = @id", id=package_id),
                      lambda rows: len(rows) == 1 and rows[0].get("status") == status, timeout,
                      f"package {package_id} to be {status}")
    return rows[0]


def notifications_for(stack: RunningStack, delivery_id: str) -> list[dict[str, Any]]:
    """Notifications recorded for a delivery (one per delivery event)."""
    return stack.query("notifications", "SELECT * FROM c WHERE c.deliveryId = @id", id=delivery_id)


def settled_notifications(stack: RunningStack, delivery_id: str, timeout: float = 30.0) -> list[dict[str, Any]]:
    """A delivery's notifications once Event Grid has nothing left to deliver: a count taken then is
    final (a duplicate delivery would already be recorded), unlike one taken at the first arrival."""
    eventually(lambda: notifications_for(stack, delivery_id), lambda n: len(n) >= 1, timeout,
               f"a notification for {delivery_id}")
    eventually(stack.eventgrid_pending, lambda pending: pending == 0, timeout, "Event Grid's outbox to drain")
    return notifications_for(stack, delivery_id)


def dead_letter_records(stack: RunningStack, message_id: str) -> list[dict[str, Any]]:
    """Remediation's records of dead letters with this MessageId, on any entity."""
    return stack.query("deadletters", "SELECT * FROM c WHERE c.messageId = @id", id=message_id)


def history_types(document: dict[str, Any]) -> list[str]:
    """The message types in a delivery's history, in order."""
    return [entry["messageType"] for entry in document.get("history", [])]
