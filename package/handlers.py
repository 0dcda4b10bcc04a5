"""Package's handlers: plain functions on ports (no Azure SDK)."""
from __future__ import annotations

import logging

from contracts.messages import (
    AnyMessage,
    DeliveryOutcome,
    DeliveryRequested,
    PackageReady,
    PackageRejected,
    Step,
)
from contracts.reasons import ReasonCode
from core.outbound import to_inbox
from core.ports import Clock, Conflict, MessageBus, TransientFault
from core.settlement import Complete, DeadLetter, Outcome, Received
from package.documents import PackageDocument, PackageStatus
from package.repository import PackageRepository

log = logging.getLogger(__name__)
STEP = Step.PACKAGE


def handle_package_message(message: AnyMessage, received: Received, packages: PackageRepository, bus: MessageBus,
                           clock: Clock, max_weight_kg: float, fault_step: str | None = None) -> Outcome:
    """Handle what the `deliveries/package` subscription delivers."""
    if isinstance(message, DeliveryRequested):
        if fault_step == STEP:
            raise TransientFault(f"FaultInjection__TransientFailureStep={STEP}")
        return _on_requested(message, received, packages, bus, clock, max_weight_kg)
    if isinstance(message, DeliveryOutcome):
        return _on_ended(message, packages, clock)
    return DeadLetter(ReasonCode.INVALID_MESSAGE, f"{message.message_type} is not for the {STEP} subscription")


def _on_requested(message: DeliveryRequested, received: Received, packages: PackageRepository, bus: MessageBus,
                  clock: Clock, max_weight_kg: float) -> Outcome:
    if packages.is_ended(message.delivery_id):
        return Complete("delivery already ended; request refused (a compensation overtook it)")
    info = message.package_info
    problem = rejection(info.weight, max_weight_kg)
    if problem is not None:
        return _reject(message, problem, received, bus, clock)
    # A new package is the common case: create it straight away (create-if-absent), and read only when the id
    # exists already (Conflict): a redelivery, a concurrent copy, or a package sent again.
    try:
        if not _store_ready(message, packages, clock, None):
            return Complete("delivery ended while the package was stored; package cancelled, request refused")
        return _report_ready(message, received, bus, clock)
    except Conflict:
        pass
    found = packages.get_with_etag(info.package_id)
    existing, etag = found if found else (None, None)
    rebind = existing is not None and existing.delivery_id != message.delivery_id
    if rebind and existing.status is PackageStatus.READY:  # type: ignore[union-attr]
        # Held by a live delivery. Once that delivery ended (Closed/Cancelled) the package may be sent again.
        problem = f"package {info.package_id} belongs to delivery {existing.delivery_id}"  # type: ignore[union-attr]
        return _reject(message, problem, received, bus, clock)
    if existing is not None and not rebind and existing.status is not PackageStatus.READY:
        # Closed/Cancelled for this very delivery: it ended, and the compensation got here between our checks.
        return Complete(f"package already {existing.status.value.lower()}; request refused (the delivery ended)")
    if (existing is None or rebind) and not _store_ready(message, packages, clock, etag if rebind else None):
        return Complete("delivery ended while the package was stored; package cancelled, request refused")
    return _report_ready(message, received, bus, clock)


def _reject(message: DeliveryRequested, problem: str, received: Received, bus: MessageBus, clock: Clock) -> Outcome:
    rejected = PackageRejected(delivery_id=message.delivery_id, occurred_at=clock(),
                               package_id=message.package_info.package_id, detail=problem)
    bus.send([to_inbox(rejected, received.traceparent)])
    return DeadLetter(ReasonCode.PACKAGE_REJECTED, problem)


def _report_ready(message: DeliveryRequested, received: Received, bus: MessageBus, clock: Clock) -> Outcome:
    ready = PackageReady(delivery_id=message.delivery_id, occurred_at=clock(),
                         package_id=message.package_info.package_id)
    bus.send([to_inbox(ready, received.traceparent)])
    return Complete("package ready")


def _store_ready(message: DeliveryRequested, packages: PackageRepository, clock: Clock,
                 previous_etag: str | None) -> bool:
    """Create the package (create-if-absent; Conflict if the id exists), or take over
    the document of a package whose earlier delivery ended (ETag-conditional: two new deliveries racing for it
    cannot both win, the loser's retry finds it Ready for the other). False if this delivery turned out to have
    ended meanwhile, in which case the package is finished at once."""
    info = message.package_info
    package = PackageDocument(id=info.package_id, delivery_id=message.delivery_id, size=info.size, weight=info.weight,
                              tag=info.tag, status=PackageStatus.READY, updated_at=clock())
    etag = packages.create(package) if previous_etag is None else packages.replace(package, previous_etag)
    # The compensation writes its marker before it looks for the package; we look for the marker after writing
    # the package. So whichever of the two came second sees the other: the package cannot stay Ready.
    outcome = packages.ended_outcome(message.delivery_id)
    if outcome is None:
        return True
    _finish(package, etag, _final_status(outcome), packages, clock)
    return False


def rejection(weight_kg: float, max_weight_kg: float) -> str | None:
    """Why Package refuses a package of this weight, or None (docs/design.md "Domain rules")."""
    if weight_kg <= 0:
        return f"weight {weight_kg} kg must be above 0"
    if weight_kg > max_weight_kg:
        return f"weight {weight_kg} kg is over the {max_weight_kg} kg limit"
    return None


def _final_status(outcome: str) -> PackageStatus:
    """A shipped delivery closes its package; any other end cancels it (``outcome``: the terminal message type)."""
    return PackageStatus.CLOSED if outcome == "DeliveryShipped" else PackageStatus.CANCELLED


def _on_ended(message: DeliveryOutcome, packages: PackageRepository,
              clock: Clock) -> Outcome:
    # Marker first: a DeliveryRequested retried after this point is refused even if no package exists yet.
    packages.mark_ended(message.delivery_id, message.message_type, clock())
    found = packages.get_with_etag(message.package_id)
    if found is None or found[0].delivery_id != message.delivery_id:
        return Complete("no package held for this delivery")
    package, etag = found
    status = _final_status(message.message_type)
    if package.status is not status:
        _finish(package, etag, status, packages, clock)
    return Complete(f"package {status.value.lower()}")


def _finish(package: PackageDocument, etag: str, status: PackageStatus, packages: PackageRepository,
            clock: Clock) -> None:
    # ETag-conditional: a concurrent writer makes this raise PreconditionFailed (transient: the retry re-reads).
    packages.replace(package.model_copy(update={"status": status, "updated_at": clock()}), etag)
