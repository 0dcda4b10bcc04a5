"""Package's handlers: plain functions on ports (no Azure SDK)."""
from __future__ import annotations

import logging

from adapters.outbound import to_inbox
from adapters.ports import Clock, MessageBus, TransientFault
from adapters.repositories import PackageRepository
from adapters.settlement import Complete, DeadLetter, Outcome, Received
from contracts.documents import PackageDocument, PackageStatus
from contracts.messages import (
    AnyMessage, DeliveryCancelled, DeliveryFailed, DeliveryRequested, DeliveryShipped, PackageReady, PackageRejected,
)
from contracts.reasons import ReasonCode

log = logging.getLogger(__name__)
STEP = "package"


def handle_package_message(message: AnyMessage, received: Received, packages: PackageRepository, bus: MessageBus,
                           clock: Clock, max_weight_kg: float, fault_step: str | None = None) -> Outcome:
    """Handle what the `deliveries/package` subscription delivers."""
    if isinstance(message, DeliveryRequested):
        if fault_step == STEP:
            raise TransientFault("FaultInjection__TransientFailureStep=package")
        return _on_requested(message, received, packages, bus, clock, max_weight_kg)
    if isinstance(message, (DeliveryShipped, DeliveryFailed, DeliveryCancelled)):
        return _on_ended(message, packages, clock)
    return DeadLetter(ReasonCode.INVALID_MESSAGE, f"{message.message_type} is not for the package subscription")


def _on_requested(message: DeliveryRequested, received: Received, packages: PackageRepository, bus: MessageBus,
                  clock: Clock, max_weight_kg: float) -> Outcome:
    if packages.is_ended(message.delivery_id):
        return Complete("delivery already ended; request refused (a compensation overtook it)")
    info = message.package_info
    problem = rejection(info.weight, max_weight_kg)
    existing = packages.get(info.package_id)
    if problem is None and existing is not None and existing.delivery_id != message.delivery_id:
        problem = f"package {info.package_id} belongs to delivery {existing.delivery_id}"
    if problem is not None:
        rejected = PackageRejected(delivery_id=message.delivery_id, occurred_at=clock(), package_id=info.package_id,
                                   detail=problem)
        bus.send([to_inbox(rejected, received.traceparent)])
        return DeadLetter(ReasonCode.PACKAGE_REJECTED, problem)
    packages.upsert(PackageDocument(id=info.package_id, delivery_id=message.delivery_id, size=info.size,
                                    weight=info.weight, tag=info.tag, status=PackageStatus.READY, updated_at=clock()))
    ready = PackageReady(delivery_id=message.delivery_id, occurred_at=clock(), package_id=info.package_id)
    bus.send([to_inbox(ready, received.traceparent)])
    return Complete("package ready")


def rejection(weight_kg: float, max_weight_kg: float) -> str | None:
    """Why Package refuses a package of this weight, or None (DESIGN.md "Domain rules")."""
    if weight_kg <= 0:
        return f"weight {weight_kg} kg must be above 0"
    if weight_kg > max_weight_kg:
        return f"weight {weight_kg} kg is over the {max_weight_kg} kg limit"
    return None


def _on_ended(message: DeliveryShipped | DeliveryFailed | DeliveryCancelled, packages: PackageRepository,
              clock: Clock) -> Outcome:
    # Marker first: a DeliveryRequested retried after this point is refused even if no package exists yet.
    packages.mark_ended(message.delivery_id, message.message_type, clock())
    package = packages.get(message.package_id)
    if package is None or package.delivery_id != message.delivery_id:
        return Complete("no package held for this delivery")
    status = PackageStatus.CLOSED if isinstance(message, DeliveryShipped) else PackageStatus.CANCELLED
    if package.status is not status:
        packages.upsert(package.model_copy(update={"status": status, "updated_at": clock()}))
    return Complete(f"package {status.value.lower()}")
