"""HTTP results handlers return (adapters/http.py maps them to ``func.HttpResponse`` at the edge).

Errors are RFC 9457 problem details (``application/problem+json``) so clients get one shape for every 4xx.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PROBLEM_JSON = "application/problem+json"


@dataclass(frozen=True)
class HttpResult:
    """Status, JSON body and headers, independent of the Functions types."""

    status: int
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


def problem(status: int, title: str, detail: str, **extensions: Any) -> HttpResult:
    """An RFC 9457 problem-details result."""
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extensions}
    return HttpResult(status, body, content_type=PROBLEM_JSON)

