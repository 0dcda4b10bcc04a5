"""A small asynchronous client of the app's public HTTP API (`/api/deliveries`)."""
from __future__ import annotations

import asyncio
import random
import time
import uuid
from dataclasses import dataclass
from typing import Any

import aiohttp

TERMINAL_STATES = frozenset({"Shipped", "Failed", "Cancelled"})


@dataclass(frozen=True)
class Reply:
    """Status code and decoded JSON body (None when the body is not JSON)."""

    status: int
    body: Any
    headers: dict[str, str]


def delivery_request(delivery_id: str | None = None, *, weight: float = 2.5, size: str = "Small",
                     rng: random.Random | None = None) -> dict[str, Any]:
    """A valid request body in the Fabrikam reference's shape, near the default fleet."""
    rng = rng or random.Random()
    delivery_id = delivery_id or f"demo-{uuid.uuid4().hex[:12]}"

    def near() -> dict[str, float]:
        # Around the app's default fleet base (FleetBaseLatitude/Longitude, Seattle): short flights.
        return {"latitude": round(47.62 + rng.uniform(-0.02, 0.02), 5),
                "longitude": round(-122.32 + rng.uniform(-0.02, 0.02), 5)}

    return {"deliveryId": delivery_id, "ownerId": "demo-owner", "pickupLocation": near(),
            "dropoffLocation": near(), "expedited": False, "confirmationRequired": "None",
            "packageInfo": {"packageId": f"pkg-{delivery_id}", "size": size, "weight": weight,
                            "tag": "demo"}}


class DeliveriesClient:
    """POST / GET / DELETE on `<base_url>/api/deliveries`."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str, route_prefix: str = "api") -> None:
        self.session = session
        self.url = f"{base_url.rstrip('/')}/{route_prefix}/deliveries"

    async def _call(self, method: str, url: str, **kwargs: Any) -> Reply:
        async with self.session.request(method, url, **kwargs) as response:
            try:
                body: Any = await response.json(content_type=None)
            except ValueError:
                body = None
            return Reply(response.status, body, dict(response.headers))

    async def submit(self, body: Any) -> Reply:
        """POST a delivery request (any JSON, so invalid ones can be shown too)."""
        return await self._call("POST", self.url, json=body)

    async def submit_raw(self, data: bytes, content_type: str) -> Reply:
        """POST bytes as they are (malformed JSON, wrong content type)."""
        return await self._call("POST", self.url, data=data, headers={"Content-Type": content_type})

    async def get(self, delivery_id: str) -> Reply:
        """GET a delivery's status document."""
        return await self._call("GET", f"{self.url}/{delivery_id}")

    async def cancel(self, delivery_id: str) -> Reply:
        """DELETE: request cancellation."""
        return await self._call("DELETE", f"{self.url}/{delivery_id}")

    async def wait_for(self, delivery_id: str, states: frozenset[str] | set[str], wait_seconds: float,
                       interval: float = 0.25) -> Reply:
        """Poll GET until the delivery is in one of ``states`` or ``wait_seconds`` pass; the last reply either way."""
        deadline = time.monotonic() + wait_seconds
        reply = await self.get(delivery_id)
        while state_of(reply) not in states and time.monotonic() < deadline:
            await asyncio.sleep(interval)
            reply = await self.get(delivery_id)
        return reply


def state_of(reply: Reply) -> str | None:
    """The delivery's state in a GET reply, None before it exists."""
    if reply.status != 200 or not isinstance(reply.body, dict):
        return None
    return reply.body.get("state") or reply.body.get("status")
