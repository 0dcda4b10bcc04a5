"""Drone Scheduler's handlers: plain functions on ports (no Azure SDK).

A busy fleet is back-pressure, not failure (docs/app.md "Drone Scheduler"): when suitable drones exist but all
are flying, the request goes on a waiting list (recorded first, then the message completes); a released drone
serves the oldest waiting request it suits, and the waiting-list timer gives up on a request that waited past
its time with NoDroneAvailable. NoDroneAvailable at once means no drone of the fleet could ever carry it."""
from __future__ import annotations

import logging
from datetime import timedelta

from contracts.messages import (
    AnyMessage,
    DeliveryOutcome,
    DeliveryRequested,
    DroneScheduled,
    DroneSchedulingFailed,
    Step,
)
from contracts.reasons import ReasonCode
from core.outbound import to_inbox
from core.ports import BatchFailed, Clock, MessageBus, TransientFault
from core.settlement import Complete, DeadLetter, Outcome, Received
from drone_scheduler.documents import ReservationDocument, WaitingRequest
from drone_scheduler.fleet import FleetConfig, by_distance, distance_km, flight_seconds, is_suitable, seed_fleet
from drone_scheduler.repository import (
    CONFLICT,
    DRONE_CHANGED,
    NOT_FOUND,
    PRECONDITION_FAILED,
    RESERVATION_EXISTS,
    WAITING_GONE,
    DroneRepository,
    reservation_id,
    waiting_id,
)

log = logging.getLogger(__name__)
STEP = Step.DRONE_SCHEDULER


def handle_drone_message(message: AnyMessage, received: Received, drones: DroneRepository, bus: MessageBus,
                         clock: Clock, fleet: FleetConfig, fault_step: str | None = None) -> Outcome:
    """Handle what the `deliveries/drone-scheduler` subscription delivers."""
    if isinstance(message, DeliveryRequested):
        if fault_step == STEP:
            raise TransientFault(f"FaultInjection__TransientFailureStep={STEP}")
        drones.seed_once(seed_fleet(drones.fleet_id, fleet.size, fleet.base))
        return _on_requested(message, received, drones, bus, clock, fleet)
    if isinstance(message, DeliveryOutcome):
        outcome = _on_ended(message, drones, clock)
        _serve_quietly(drones, bus, clock, fleet)  # a drone may have come free: the waiting list goes first
        return outcome
    return DeadLetter(ReasonCode.INVALID_MESSAGE, f"{message.message_type} is not for the {STEP} subscription")


def _on_requested(message: DeliveryRequested, received: Received, drones: DroneRepository, bus: MessageBus,
                  clock: Clock, fleet: FleetConfig) -> Outcome:
    if drones.is_ended(message.delivery_id):
        return Complete("delivery already ended; request refused (a compensation overtook it)")
    # Reserve straight away: the batch's create answers "this delivery has a reservation already" itself (409: a
    # redelivery, or a compensation's tombstone), so the common case costs no read of the reservation. With no
    # drone free to try, ours may still exist (a redelivery while the fleet is busy): look it up then.
    reservation = (_reserve_nearest(message, drones, clock, fleet)
                   or drones.reservation(message.delivery_id))
    if reservation is not None and reservation.is_released:
        # The compensation won the race past the ended check above: its tombstone made our create fail (409).
        return Complete("delivery already ended (reservation released); request refused")
    if reservation is None or reservation.drone_id is None:
        if any(is_suitable(drone, message.package_info) for drone, _ in drones.fleet()):
            give_up_at = clock() + timedelta(seconds=fleet.wait_seconds)
            drones.wait(WaitingRequest(id=waiting_id(message.delivery_id), fleet_id=drones.fleet_id,
                                       delivery_id=message.delivery_id, request=message,
                                       traceparent=received.traceparent, created_at=clock(), give_up_at=give_up_at))
            return Complete(f"every suitable drone is flying; waiting for one until {give_up_at.isoformat()}")
        info = message.package_info
        detail = f"no drone of the fleet carries a {info.size} package of {info.weight} kg"
        _report_failure(message.delivery_id, detail, received.traceparent, bus, clock)
        return DeadLetter(ReasonCode.NO_DRONE_AVAILABLE, detail)
    _report_scheduled(reservation, received.traceparent, bus, clock)
    return Complete(f"drone {reservation.drone_id} reserved")


def serve_waiting(drones: DroneRepository, bus: MessageBus, clock: Clock, fleet: FleetConfig) -> int:
    """Serve the waiting list, oldest first: reserve a freed drone for each request it suits, give up on those that
    waited too long (NoDroneAvailable), drop those whose delivery ended. Returns how many were served."""
    served = 0
    for waiting in drones.waiting():
        if drones.is_ended(waiting.delivery_id):
            drones.drop_waiting(waiting.delivery_id)
        elif clock() >= waiting.give_up_at:
            detail = f"every suitable drone stayed busy for {fleet.wait_seconds:g} s"
            _report_failure(waiting.delivery_id, detail, waiting.traceparent, bus, clock)
            drones.drop_waiting(waiting.delivery_id)  # after the report: a crash in between re-sends the same id
        else:
            reservation = _reserve_nearest(waiting.request, drones, clock, fleet, served=True)
            if reservation is None:
                continue
            if not reservation.is_released:
                _report_scheduled(reservation, waiting.traceparent, bus, clock)
                served += 1
            drones.drop_waiting(waiting.delivery_id)  # already gone when the batch took it; idempotent
    return served


def _serve_quietly(drones: DroneRepository, bus: MessageBus, clock: Clock, fleet: FleetConfig) -> None:
    try:
        serve_waiting(drones, bus, clock, fleet)
    except Exception:
        log.warning("serving the waiting list after a release failed; the timer retries", exc_info=True)


def _report_scheduled(reservation: ReservationDocument, traceparent: str | None, bus: MessageBus, clock: Clock) -> None:
    scheduled = DroneScheduled(delivery_id=reservation.delivery_id, occurred_at=clock(),
                               drone_id=reservation.drone_id or "", seconds_to_pickup=reservation.seconds_to_pickup,
                               seconds_to_dropoff=reservation.seconds_to_dropoff)
    bus.send([to_inbox(scheduled, traceparent)])


def _report_failure(delivery_id: str, detail: str, traceparent: str | None, bus: MessageBus, clock: Clock) -> None:
    failed = DroneSchedulingFailed(delivery_id=delivery_id, occurred_at=clock(), detail=detail)
    bus.send([to_inbox(failed, traceparent)])


def _reserve_nearest(message: DeliveryRequested, drones: DroneRepository, clock: Clock,
                     fleet: FleetConfig, served: bool = False) -> ReservationDocument | None:
    """Try suitable drones nearest first; a 412 means another delivery won that drone, so try the next.
    Returns the delivery's reservation (possibly a released tombstone), or None when no drone is left.
    ``served``: the request comes off the waiting list, in the same batch (a 404 there: another instance served it)."""
    suitable = [(d, etag) for d, etag in drones.available() if is_suitable(d, message.package_info)]
    to_dropoff = distance_km(message.pickup_location, message.dropoff_location)
    for drone, etag in by_distance(suitable, message.pickup_location):
        to_pickup = distance_km(drone.location, message.pickup_location)
        reservation = ReservationDocument(
            id=reservation_id(message.delivery_id), fleet_id=drones.fleet_id, delivery_id=message.delivery_id,
            drone_id=drone.id, created_at=clock(),
            seconds_to_pickup=flight_seconds(to_pickup, fleet.speed_kmh, fleet.time_scale),
            seconds_to_dropoff=flight_seconds(to_dropoff, fleet.speed_kmh, fleet.time_scale),
        )
        try:
            drones.reserve(reservation, drone, etag, served=served)
            return reservation
        except BatchFailed as failed:
            if (failed.index, failed.status) == (RESERVATION_EXISTS, CONFLICT):
                return _existing_reservation(message.delivery_id, drones)
            if (failed.index, failed.status) == (WAITING_GONE, NOT_FOUND):
                return None  # served (or given up) by someone else meanwhile
            if (failed.index, failed.status) != (DRONE_CHANGED, PRECONDITION_FAILED):
                raise  # throttling, timeouts, a vanished drone...: transient, retried by the broker
            log.info("drone %s taken concurrently; trying the next", drone.id)
    return None


def _existing_reservation(delivery_id: str, drones: DroneRepository) -> ReservationDocument:
    """After a 409 on our create: a concurrent redelivery of ours reserved (reuse it) or a compensation released."""
    return _existing_with_etag(delivery_id, drones)[0]


def _existing_with_etag(delivery_id: str, drones: DroneRepository) -> tuple[ReservationDocument, str]:
    existing = drones.reservation_with_etag(delivery_id)
    if existing is None:
        raise TransientFault(f"{reservation_id(delivery_id)} exists (409) but cannot be read; retrying")
    return existing


def _release(message: DeliveryOutcome, drones: DroneRepository,
             clock: Clock) -> Outcome:
    found = drones.reservation_with_etag(message.delivery_id)
    if found is None and drones.tombstone(message.delivery_id, clock()):
        # A request still in flight may have passed its ended check already; the tombstone makes its create fail.
        return Complete("no drone held for this delivery; reservation tombstoned")
    reservation, reservation_etag = found or _existing_with_etag(message.delivery_id, drones)
    if reservation.is_released:
        return Complete("drone already released for this delivery")
    held = drones.drone(reservation.drone_id) if reservation.drone_id else None
    drone, etag = held if held else (None, None)
    drones.release(reservation, reservation_etag, drone, etag, clock())
    return Complete(f"drone {reservation.drone_id} released")


def _on_ended(message: DeliveryOutcome, drones: DroneRepository,
              clock: Clock) -> Outcome:
    # Marker first: a DeliveryRequested that arrives after the compensation is refused, not served.
    drones.mark_ended(message.delivery_id, message.message_type, clock())
    drones.drop_waiting(message.delivery_id)
    return _release(message, drones, clock)
