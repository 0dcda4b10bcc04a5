"""A synchronous client of the app's HTTP API for end-to-end tests (stdlib only)."""
from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Any

from tests.support.stack import eventually

TERMINAL = {"Shipped", "Failed", "Cancelled"}


@dataclass(frozen=True)
class Reply:
    """Status, headers and decoded body of one HTTP exchange."""

    status: int
    headers: dict[str, str]  # names lower-cased
    body: Any


def new_delivery(weight: float = 2.0, size: str = "Small", delivery_id: str | None = None) -> dict[str, Any]:
    """A valid request body near the seeded fleet (Seattle)."""
    delivery_id = delivery_id or f"e2e-{uuid.uuid4().hex[:12]}"
    return {"deliveryId": delivery_id, "ownerId": "owner-e2e",
            "pickupLocation": {"latitude": 47.615, "longitude": -122.33},
            "dropoffLocation": {"latitude": 47.625, "longitude": -122.34},
            "expedited": False, "confirmationRequired": "None",
            "packageInfo": {"packageId": f"pkg-{delivery_id}", "size": size, "weight": weight}}


class Api:
    """POST/GET/DELETE /api/deliveries on one host."""

    def __init__(self, base_url: str) -> None:
        self.url = f"{base_url}/api/deliveries"

    def _call(self, method: str, url: str, data: bytes | None = None,
              headers: dict[str, str] | None = None) -> Reply:
        request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, raw, hdrs = response.status, response.read(), response.headers
        except urllib.error.HTTPError as error:
            status, raw, hdrs = error.code, error.read(), error.headers
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        return Reply(status, {key.lower(): value for key, value in hdrs.items()}, body)

    def post(self, body: Any, headers: dict[str, str] | None = None) -> Reply:
        """POST a JSON body."""
        return self._call("POST", self.url, json.dumps(body).encode(),
                          {"Content-Type": "application/json", **(headers or {})})

    def get(self, delivery_id: str) -> Reply:
        """GET one delivery."""
        return self._call("GET", f"{self.url}/{delivery_id}")

    def delete(self, delivery_id: str) -> Reply:
        """Request cancellation."""
        return self._call("DELETE", f"{self.url}/{delivery_id}")

    def state(self, delivery_id: str) -> str | None:
        """The delivery's state, None while unknown."""
        reply = self.get(delivery_id)
        return reply.body.get("state") if reply.status == 200 else None

    def wait_for_state(self, delivery_id: str, states: set[str], timeout: float = 45.0) -> dict[str, Any]:
        """Poll until the delivery is in one of ``states``; its document."""
        reply = eventually(lambda: self.get(delivery_id),
                           lambda r: r.status == 200 and r.body.get("state") in states,
                           timeout, f"{delivery_id} to reach {sorted(states)}")
        return reply.body

    def ended(self, delivery_id: str, timeout: float = 45.0) -> dict[str, Any]:
        """Poll until the delivery is terminal; its document."""
        return self.wait_for_state(delivery_id, TERMINAL, timeout)
