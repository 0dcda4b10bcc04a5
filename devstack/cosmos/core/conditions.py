"""Patch filter conditions (``"FROM c WHERE ..."``) evaluated with the emulator's SQL engine."""
from __future__ import annotations

from typing import Any

from devstack.cosmos.core.errors import BadRequest
from devstack.cosmos.query import QueryError, execute_query, parse_query


def condition_holds(condition: str, document: dict[str, Any]) -> bool:
    """Whether ``document`` satisfies a patch ``condition`` such as ``FROM c WHERE c.status = 'idle'``."""
    text = condition.strip()
    if text.upper().startswith("FROM"):
        text = "SELECT VALUE 1 " + text
    try:
        return bool(execute_query(parse_query(text), [document], {}))
    except QueryError as exc:
        raise BadRequest(f"invalid patch condition {condition!r}: {exc}") from None
