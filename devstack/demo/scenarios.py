"""What the demo shows: many deliveries to Shipped, then one line per interesting case."""
from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from devstack.demo.client import TERMINAL_STATES, DeliveriesClient, Reply, delivery_request, state_of

STAGES = ["Requested", "AwaitingReadiness", "Scheduled", "InTransit", "Shipped"]
Progress = Callable[[str, str | None], None]  # (delivery id, state) after each poll


@dataclass(frozen=True)
class Outcome:
    """One line of the final table: what we did, what we expected, what happened."""

    scenario: str
    expected: str
    observed: str

    @property
    def ok(self) -> bool:
        """Whether what happened is what the design says should."""
        return self.observed.startswith(self.expected)


def describe(reply: Reply) -> str:
    """`state (reason)` of a GET reply."""
    body = reply.body if isinstance(reply.body, dict) else {}
    state, reason = state_of(reply), body.get("reason")
    return f"{state} ({reason})" if reason else str(state)


async def ship_many(client: DeliveriesClient, count: int, wait_seconds: float, progress: Progress,
                    seed: int | None = None) -> dict[str, str | None]:
    """Submit ``count`` deliveries all at once and follow each until it ends. No throttle: more deliveries than
    drones is back-pressure (the app's waiting list), not failure."""
    rng = random.Random(seed)
    # Up to 5 kg: every drone of the default fleet can carry it.
    bodies = [delivery_request(rng=rng, weight=round(rng.uniform(0.5, 5), 1)) for _ in range(count)]
    for body in bodies:
        progress(body["deliveryId"], None)

    async def ship(body: dict[str, Any]) -> tuple[str, str | None]:
        delivery_id = body["deliveryId"]
        reply = await client.submit(body)
        if reply.status != 202:
            raise RuntimeError(f"the API refused a valid request ({delivery_id}): {reply.status} {reply.body}")
        deadline = asyncio.get_running_loop().time() + wait_seconds
        state: str | None = None
        while state not in TERMINAL_STATES and asyncio.get_running_loop().time() < deadline:
            state = state_of(await client.get(delivery_id))
            progress(delivery_id, state)
            await asyncio.sleep(0.5)
        return delivery_id, state

    return dict(await asyncio.gather(*(ship(body) for body in bodies)))


async def invalid_request(client: DeliveriesClient) -> Outcome:
    """A request with bad fields: 400 problem+json naming each."""
    body: dict[str, Any] = delivery_request()
    body["packageInfo"]["size"] = "Huge"
    body["pickupLocation"] = {"latitude": 123}
    reply = await client.submit(body)
    errors = reply.body.get("errors", []) if isinstance(reply.body, dict) else []
    fields = ", ".join(str(error.get("field")) for error in errors if isinstance(error, dict))
    return Outcome("invalid request", "400", f"{reply.status}: {fields or reply.body}")


async def too_heavy(client: DeliveriesClient, wait_seconds: float) -> Outcome:
    """A package no drone can carry: the package step rejects it and the saga compensates."""
    body = delivery_request(weight=40.0, size="Large")
    await client.submit(body)
    reply = await client.wait_for(body["deliveryId"], TERMINAL_STATES, wait_seconds)
    return Outcome("package of 40 kg", "Failed (PackageRejected)", describe(reply))


async def cancel_early(client: DeliveriesClient, wait_seconds: float) -> Outcome:
    """Cancel as soon as the delivery exists: Cancelled, and the drone is released."""
    body = delivery_request()
    await client.submit(body)
    await client.wait_for(body["deliveryId"], set(STAGES) | TERMINAL_STATES, wait_seconds)
    await client.cancel(body["deliveryId"])
    reply = await client.wait_for(body["deliveryId"], TERMINAL_STATES, wait_seconds)
    return Outcome("cancel before pickup", "Cancelled", describe(reply))


async def duplicate_post(client: DeliveriesClient, wait_seconds: float) -> Outcome:
    """The same request twice: both accepted, one delivery (first wins)."""
    body = delivery_request()
    first, second = await client.submit(body), await client.submit(body)
    reply = await client.wait_for(body["deliveryId"], TERMINAL_STATES, wait_seconds)
    history = reply.body.get("history", []) if isinstance(reply.body, dict) else []
    requested = sum(1 for entry in history if "DeliveryRequested" in str(entry))
    return Outcome("duplicate POST", "202/202, 1 request, Shipped",
                   f"{first.status}/{second.status}, {requested} request, {describe(reply)}")


async def edge_cases(client: DeliveriesClient, wait_seconds: float) -> list[Outcome]:
    """The four single-line scenarios, run concurrently."""
    return list(await asyncio.gather(invalid_request(client), too_heavy(client, wait_seconds),
                                     cancel_early(client, wait_seconds), duplicate_post(client, wait_seconds)))
