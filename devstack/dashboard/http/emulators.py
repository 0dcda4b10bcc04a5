"""What the dashboard asks the stack's emulators over their own HTTP APIs (only Event Grid's ``/health`` so far)."""
from __future__ import annotations

from typing import Any

import aiohttp

TIMEOUT = aiohttp.ClientTimeout(total=2)


async def eventgrid_status(url: str) -> dict[str, Any]:
    """Event Grid's pending deliveries (devstack/eventgrid ``GET /health``), or the reason it could not be read."""
    try:
        async with aiohttp.ClientSession(timeout=TIMEOUT) as session, \
                session.get(url.rstrip("/") + "/health") as reply:
            reply.raise_for_status()
            return {"pending": int((await reply.json())["pending"])}
    except (aiohttp.ClientError, TimeoutError, KeyError, ValueError) as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}
