"""Resource paths: ``/dbs/{db}/colls/{coll}/docs/{id}`` and the rid-based form the SDK uses for ``_self``."""
from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from urllib.parse import unquote

from devstack.cosmos.core.errors import BadRequest


@dataclass(frozen=True)
class ResourcePath:
    """A request path split into segments; odd length = a feed (``.../docs``), even = one resource."""

    segments: tuple[str, ...]

    @classmethod
    def parse(cls, raw_path: str) -> ResourcePath:
        """Split and percent-decode a raw URL path (ids may contain spaces, quoted by the SDK)."""
        path = raw_path.split("?", 1)[0]
        return cls(tuple(unquote(s) for s in path.strip("/").split("/") if s != ""))

    @property
    def is_feed(self) -> bool:
        """Whether the path names a collection of resources rather than one."""
        return len(self.segments) % 2 == 1

    @property
    def is_partition_delete(self) -> bool:
        """``/dbs/{db}/colls/{coll}/operations/partitionkeydelete``: delete every item of one partition key."""
        return len(self.segments) == 6 and self.segments[4:] == ("operations", "partitionkeydelete")

    @property
    def resource_type(self) -> str:
        """``dbs``, ``colls``, ``docs``, ``pkranges``... ('' for the account)."""
        if not self.segments:
            return ""
        if self.is_partition_delete:
            return "colls"  # the SDK signs this operation as its container (azure/cosmos/_base.py)
        return self.segments[-1] if self.is_feed else self.segments[-2]

    @property
    def is_name_based(self) -> bool:
        """Mirror of the SDK's rule (azure/cosmos/_base.py IsNameBased): a 4-byte base64 database id is a _rid."""
        if len(self.segments) < 2 or self.segments[0].lower() != "dbs":
            return False
        database = self.segments[1]
        return len(database) != 8 or not _is_rid(database)

    def auth_link(self) -> str:
        """The resource link signed by master-key auth: the full name path, or the owning _rid in lower case."""
        owner = self.segments[:-1] if self.is_feed else self.segments
        if self.is_partition_delete:
            owner = self.segments[:4]
        if not owner:
            return ""
        if self.is_name_based:
            return "/".join(owner)
        return owner[-1].lower()

    def kinds(self) -> tuple[str, ...]:
        """The resource types along the path, e.g. ('dbs', 'colls', 'docs'); validates the layout."""
        kinds = self.segments[0::2]
        expected = ("dbs", "colls", "docs")
        for index, kind in enumerate(kinds):
            allowed = expected[index] if index < len(expected) else None
            if index == 2 and (kind in ("pkranges", "docs") or self.is_partition_delete):
                continue
            if kind != allowed:
                raise BadRequest(f"unsupported resource path /{'/'.join(self.segments)}")
        return kinds


def _is_rid(value: str) -> bool:
    try:
        return len(base64.standard_b64decode(value.replace("-", "/"))) == 4
    except (binascii.Error, ValueError):
        return False
