"""W3C Trace Context (https://www.w3.org/TR/trace-context/): one trace per delivery, one span per hop."""
from __future__ import annotations

import re
import secrets

_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")


def new_traceparent() -> str:
    """A fresh sampled traceparent (a new trace)."""
    return f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"


def is_valid(traceparent: str | None) -> bool:
    """True for a version-00 traceparent whose ids are not all zeros (spec section 3.2.2)."""
    match = _TRACEPARENT.match(traceparent or "")
    return bool(match) and set(match.group(1)) != {"0"} and set(match.group(2)) != {"0"}


def child_of(traceparent: str | None) -> str:
    """A traceparent for the next hop: same trace id, new span id; a new trace if the parent is invalid."""
    if not is_valid(traceparent):
        return new_traceparent()
    _, trace_id, _, flags = traceparent.split("-")  # type: ignore[union-attr]
    return f"00-{trace_id}-{secrets.token_hex(8)}-{flags}"


def trace_id_of(traceparent: str | None) -> str | None:
    """The trace id part, or None."""
    return traceparent.split("-")[1] if is_valid(traceparent) else None  # type: ignore[union-attr]
