"""The HTTP API's request and response bodies (docs/design.md "HTTP API", Fabrikam field names)."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from contracts.events import DeliveryState
from contracts.messages import ConfirmationRequired, Location, PackageInfo
from contracts.model import Contract, Identifier, UtcDateTime
from contracts.reasons import ReasonCode


class HistoryEntry(Contract):
    """One message the delivery saw: what, when, in which trace, and what it did."""

    message_type: str
    message_id: str | None = None
    at: UtcDateTime
    trace_id: str | None = None
    note: str


class DroneAssignment(Contract):
    """The drone a delivery flies with and its (time-scaled) legs."""

    drone_id: str
    seconds_to_pickup: float
    seconds_to_dropoff: float


# At the edge numbers and booleans are strict: pydantic's lax mode would take "2.5", true or 0 where the
# OpenAPI document (contracts/openapi.py) promises a JSON number or boolean, and the fuzzer
# (tests/e2e/test_api_fuzz.py) holds the API to its document. JSON integers still count as numbers.
class RequestedLocation(Location):
    """A pickup or drop-off point as a client sends it: WGS-84 degrees, as JSON numbers."""

    latitude: float = Field(ge=-90, le=90, strict=True)
    longitude: float = Field(ge=-180, le=180, strict=True)


class RequestedPackage(PackageInfo):
    """`packageInfo` as a client sends it: a weight that is not a positive number is refused at the edge (400).

    Only what no package can be is checked here; the configurable limit (`MaxPackageWeightKg`) stays the
    Package service's business rule and still ends the delivery as PackageRejected downstream."""

    weight: float = Field(gt=0, allow_inf_nan=False, strict=True)


class DeliveryRequestBody(BaseModel):
    """`POST /api/deliveries` body. Unknown fields are refused so a typo is a 400, not silently dropped."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=False, extra="forbid", frozen=True)

    delivery_id: Identifier | None = None
    # `\S` (a search, not a full match): an owner id of only blanks is as empty as "".
    owner_id: str = Field(min_length=1, max_length=128, pattern=r"\S")
    pickup_location: RequestedLocation
    dropoff_location: RequestedLocation
    deadline: str | None = Field(default=None, max_length=64)
    expedited: bool = Field(default=False, strict=True)
    confirmation_required: ConfirmationRequired = ConfirmationRequired.NONE
    package_info: RequestedPackage


class DeliveryAccepted(BaseModel):
    """`202` body of `POST /api/deliveries` and `DELETE /api/deliveries/{id}` (async request-reply)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)

    delivery_id: str
    status: Literal["Accepted", "CancellationRequested"]


class FieldError(BaseModel):
    """One bad field of a 400: its dotted camelCase path (`(body)` for the whole body) and why."""

    field: str
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details (`application/problem+json`), the body of every 4xx/5xx the API answers."""

    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = None


class DeliveryStatus(BaseModel):
    """`GET /api/deliveries/{id}` body: the Delivery service's view of one delivery (docs/app.md "HTTP API")."""

    # Unknown fields are refused so a field the handler adds without documenting it fails the contract test.
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True, extra="forbid")

    delivery_id: str
    state: DeliveryState
    reason: ReasonCode | None = None
    package: PackageInfo
    owner_id: str
    drone: DroneAssignment | None = None
    eta: UtcDateTime | None = None
    readiness_deadline_at: UtcDateTime | None = None
    trace_id: str | None = None
    history: list[HistoryEntry]
