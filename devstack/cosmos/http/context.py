"""What a handler sees of a request: parsed path, headers, body, and reply helpers."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from multidict import CIMultiDictProxy

from devstack.cosmos.core.account import Account
from devstack.cosmos.core.documents import dumps, parse_json
from devstack.cosmos.core.errors import BadRequest
from devstack.cosmos.http.paths import ResourcePath


@dataclass
class RequestContext:
    """One REST call."""

    account: Account
    method: str
    path: ResourcePath
    headers: CIMultiDictProxy[str]
    body: bytes
    base_url: str

    def header(self, name: str) -> str | None:
        """A request header, or None."""
        return self.headers.get(name)

    def flag(self, name: str) -> bool:
        """A boolean header such as ``x-ms-documentdb-isquery: True``."""
        return (self.headers.get(name) or "").strip().lower() == "true"

    def json(self) -> Any:
        """The body as JSON; a 400 if it is not."""
        if not self.body:
            raise BadRequest("the request needs a JSON body")
        return parse_json(self.body)

    def int_header(self, name: str) -> int | None:
        """An integer header such as ``x-ms-max-item-count``."""
        value = self.headers.get(name)
        if value is None or value == "":
            return None
        try:
            return int(value)
        except ValueError:
            raise BadRequest(f"header {name} must be an integer, got {value!r}") from None

    @property
    def by_rid(self) -> bool:
        """Whether the path addresses resources by _rid rather than by id."""
        return not self.path.is_name_based


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """A JSON reply."""
    text = body if isinstance(body, str) else dumps(body)
    return web.Response(status=status, text=text, content_type="application/json", headers=headers)


def feed_body(rid: str, key: str, documents: list[str]) -> str:
    """A feed page ``{"_rid", "<key>": [...], "_count"}`` built from already-serialised documents."""
    return f'{{"_rid":{json.dumps(rid)},"{key}":[{",".join(documents)}],"_count":{len(documents)}}}'
