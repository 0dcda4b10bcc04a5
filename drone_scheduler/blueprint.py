"""Drone Scheduler's trigger on the `deliveries/drone-scheduler` subscription (thin: parse -> handler -> settle)."""
from __future__ import annotations

import azure.functions as func
import azurefunctions.extensions.bindings.servicebus as servicebus

from adapters.bootstrap import dependencies
from adapters.triggers import RELAY_SCHEDULE
from contracts.names import DELIVERIES_TOPIC, DRONE_SCHEDULER_SUBSCRIPTION
from core import telemetry
from core.settings import SERVICE_BUS_CONNECTION
from core.settlement import on_contract, process
from drone_scheduler.fleet import FleetConfig
from drone_scheduler.handlers import handle_drone_message, serve_waiting

bp = func.Blueprint()


@bp.function_name("drone_scheduler_on_deliveries")
@bp.service_bus_topic_trigger(arg_name="msg", topic_name=DELIVERIES_TOPIC,
                              subscription_name=DRONE_SCHEDULER_SUBSCRIPTION,
                              connection=SERVICE_BUS_CONNECTION, is_sessions_enabled=False,
                              auto_complete_messages=False)
def drone_scheduler_on_deliveries(msg: servicebus.ServiceBusReceivedMessage,
                                  message_actions: servicebus.ServiceBusMessageActions) -> None:
    """DeliveryRequested -> DroneScheduled/DroneSchedulingFailed; outcomes release the drone."""
    deps = dependencies()
    fleet = FleetConfig.from_settings(deps.settings)
    process(msg, message_actions, on_contract(lambda message, received: handle_drone_message(
        message, received, deps.drones, deps.bus, deps.clock, fleet, deps.settings.transient_failure_step)),
        backoff=deps.backoff, service=telemetry.DRONE_SCHEDULER, destination=DELIVERIES_TOPIC,
        subscription=DRONE_SCHEDULER_SUBSCRIPTION)


@bp.function_name("drone_scheduler_waitlist")
@bp.timer_trigger(arg_name="timer", schedule=RELAY_SCHEDULE, run_on_startup=False, use_monitor=False)
def drone_scheduler_waitlist(timer: func.TimerRequest) -> None:
    """Serve requests waiting for a busy fleet, and give up on those that waited too long (NoDroneAvailable)."""
    deps = dependencies()  # first: the first call configures tracing, before any span starts
    with telemetry.timer_run(telemetry.DRONE_SCHEDULER, "drone_scheduler_waitlist"):
        serve_waiting(deps.drones, deps.bus, deps.clock, FleetConfig.from_settings(deps.settings))
