"""Logging set-up shared by every devstack command (one readable line per event)."""
from __future__ import annotations

import logging


def configure(level: str | int = "INFO", name: str = "devstack") -> None:
    """Log to stderr as ``time level logger: message``; ``name`` prefixes nothing, it only documents."""
    logging.basicConfig(
        level=level if isinstance(level, int) else level.upper(),
        format="%(asctime)s %(levelname)-5s %(name)s: %(message)s",
    )
