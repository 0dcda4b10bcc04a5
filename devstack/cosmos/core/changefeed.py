"""Change feed, latest-version mode (docs: "Change feed in Azure Cosmos DB", pull model).

Every write advances the container's logical sequence number (LSN) and stamps the item with it, so the
feed is "items whose last write is after LSN n", in LSN order; an item changed twice shows once, in its
latest version, as the service does. The continuation handed to the client is the LSN as an etag.
Deletes (and TTL expiry) do not appear, as in latest-version mode.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime

from devstack.cosmos.core.documents import PAGE_CONTENT_BYTES
from devstack.cosmos.core.errors import BadRequest
from devstack.cosmos.core.ports import Clock, Store
from devstack.cosmos.core.records import ContainerRecord, Scope

DEFAULT_PAGE = 100
#: An LSN continuation: ASCII digits (str.isdigit also accepts '²', which int() refuses), at most the
#: 19 of a 64-bit LSN, so int() never meets its 4,300-digit limit.
_LSN = re.compile(r"[0-9]{1,19}")


@dataclass(frozen=True)
class ChangePage:
    """Changed items (JSON text) and the etag to continue from; empty means "not modified" (304)."""

    documents: list[str]
    etag: str


def lsn_etag(lsn: int) -> str:
    """The etag form of an LSN."""
    return f'"{lsn}"'


def _parse_etag(value: str) -> int:
    text = value.strip().strip('"')
    if not _LSN.fullmatch(text):
        raise BadRequest(f"change feed continuation (If-None-Match) {value[:40]!r} is not one this emulator "
                         "issued")
    return int(text)


def read_changes(store: Store, clock: Clock, container: ContainerRecord, if_none_match: str | None,
                 if_modified_since: str | None, scope: Scope, max_items: int | None) -> ChangePage:
    """One page of the change feed after the point named by ``If-None-Match`` (etag, ``*`` = now)."""
    if if_none_match == "*":
        return ChangePage([], lsn_etag(store.last_lsn(container.rid)))
    after = _parse_etag(if_none_match) if if_none_match else 0
    since = _parse_time(if_modified_since) if if_modified_since and not if_none_match else None
    limit = max_items if max_items and max_items > 0 else DEFAULT_PAGE
    documents: list[str] = []
    size = 0
    while len(documents) < limit:
        batch = store.changes_after(container.rid, after, scope, clock.now(), limit)
        if not batch:
            break
        for item in batch:
            if since is None or json.loads(item.body).get("_ts", 0) >= since:
                cost = len(item.body.encode("utf-8")) + 1  # with its comma
                if documents and size + cost > PAGE_CONTENT_BYTES:
                    # The documented 4 MB response limit: the page ends before this item, which the
                    # returned etag (the LSN of the last item sent) leads the next page to.
                    return ChangePage(documents, lsn_etag(after))
                documents.append(item.body)
                size += cost
            after = item.lsn
            if len(documents) == limit:
                break
    return ChangePage(documents, lsn_etag(after))


def _parse_time(value: str) -> float:
    try:
        parsed: datetime = parsedate_to_datetime(value)
    except (TypeError, ValueError) as exc:
        raise BadRequest(f"If-Modified-Since {value!r} is not an HTTP date") from exc
    return parsed.timestamp()
