"""The pydantic base every contract shares: camelCase on the wire, snake_case in Python."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints, TypeAdapter
from pydantic.alias_generators import to_camel

# Ids end up in Cosmos ids and MessageIds (`{deliveryId}:{type}`): Cosmos forbids / \ ? # in ids and ':'
# separates MessageId parts, so only a conservative alphabet is accepted.
IDENTIFIER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
Identifier = Annotated[str, StringConstraints(pattern=IDENTIFIER_PATTERN)]


def _aware(value: datetime) -> datetime:
    # Naive timestamps are ambiguous across hosts; the wire format is always UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


UtcDateTime = Annotated[datetime, AfterValidator(_aware)]


def wire_time(value: datetime) -> str:
    """A timestamp exactly as contracts serialize it, for comparisons inside queries (ISO 8601, UTC)."""
    return str(_WIRE_TIME.dump_python(_aware(value), mode="json"))


class Contract(BaseModel):
    """Base of every message and document: camelCase aliases, immutable, tolerant of unknown fields."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True, extra="ignore")

    def to_json_dict(self) -> dict[str, Any]:
        """The wire form: camelCase keys, JSON-compatible values."""
        return self.model_dump(mode="json", by_alias=True)


_WIRE_TIME: TypeAdapter[datetime] = TypeAdapter(datetime)
