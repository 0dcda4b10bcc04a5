"""Resource ids (client-chosen names), _rid values (service-assigned) and etags."""
from __future__ import annotations

import base64
import random
import re
import uuid

from devstack.cosmos.core.errors import BadRequest

# Documented: '/', '\\', '?' and '#' are not allowed in an id; the SDK also refuses tabs and line breaks
# (azure/cosmos/_base.py _VALID_COSMOS_RESOURCE) and ids ending in a space or newline.
_FORBIDDEN_ID_CHARS = re.compile(r"[/\\?#\t\r\n]")
MAX_ITEM_ID_BYTES = 1023
MAX_NAME_CHARS = 255


def validate_id(value: object, what: str) -> str:
    """Return ``value`` if it is an acceptable id for a ``what`` (item, database, container)."""
    if not isinstance(value, str) or not value:
        raise BadRequest(f"the {what} id must be a non-empty string")
    bad = _FORBIDDEN_ID_CHARS.search(value)
    if bad:
        raise BadRequest(f"the {what} id {value!r} contains the invalid character {bad.group()!r}")
    if value.endswith(" "):
        raise BadRequest(f"the {what} id {value!r} must not end with a space")
    if what == "item" and len(value.encode("utf-8")) > MAX_ITEM_ID_BYTES:
        raise BadRequest(f"the item id is longer than {MAX_ITEM_ID_BYTES} bytes")
    if what != "item" and len(value) > MAX_NAME_CHARS:
        raise BadRequest(f"the {what} id is longer than {MAX_NAME_CHARS} characters")
    return value


def _encode_rid(raw: bytes) -> str:
    # Cosmos DB _rid values are base64 with '/' replaced by '-' so they fit in URL paths.
    return base64.b64encode(raw).decode("ascii").replace("/", "-")


def new_database_rid() -> str:
    """A database _rid: 4 bytes, 8 base64 characters (the SDK relies on that length, _base.IsNameBased)."""
    return _encode_rid(random.getrandbits(32).to_bytes(4, "big"))


def new_container_rid(database_rid: str) -> str:
    """A container _rid: the database's 4 bytes followed by 4 of its own."""
    db_bytes = base64.b64decode(database_rid.replace("-", "/"))
    # The high bit marks a collection in real _rids; keeping it avoids all-zero ids.
    own = (random.getrandbits(31) | 0x80000000).to_bytes(4, "big")
    return _encode_rid(db_bytes + own)


def new_item_rid(container_rid: str, sequence: int) -> str:
    """An item _rid: the container's 8 bytes followed by the item's 8-byte sequence number."""
    coll_bytes = base64.b64decode(container_rid.replace("-", "/"))
    return _encode_rid(coll_bytes + sequence.to_bytes(8, "little"))


def new_etag() -> str:
    """A fresh, quoted entity tag, the form Cosmos DB uses for ``_etag``."""
    return f'"{uuid.uuid4()}"'
