"""The HTTP API's request and response bodies (DESIGN.md "HTTP API", Fabrikam field names)."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from contracts.messages import ConfirmationRequired, Location, PackageInfo
from contracts.model import Identifier


class DeliveryRequestBody(BaseModel):
    """`POST /api/deliveries` body. Unknown fields are refused so a typo is a 400, not silently dropped."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=False, extra="forbid", frozen=True)

    delivery_id: Identifier | None = None
    owner_id: str = Field(min_length=1, max_length=128)
    pickup_location: Location
    dropoff_location: Location
    deadline: str | None = Field(default=None, max_length=64)
    expedited: bool = False
    confirmation_required: ConfirmationRequired = ConfirmationRequired.NONE
    package_info: PackageInfo
