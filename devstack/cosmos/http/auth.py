"""Master-key authorization (docs: "Access control in the Azure Cosmos DB SQL API", REST).

The client signs ``"{verb}\\n{resourceType}\\n{resourceLink}\\n{x-ms-date}\\n\\n"`` (verb, type and date in
lower case) with HMAC-SHA256 under the base64-decoded key and sends
``type=master&ver=1.0&sig=<base64>``, URL-encoded, in ``Authorization`` (azure/cosmos/auth.py).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qs, unquote

from devstack.cosmos.http.paths import ResourcePath

#: The Cosmos DB emulator's published well-known key.
EMULATOR_KEY = "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw=="
#: Documented: master-key tokens tolerate 15 minutes of clock skew.
MAX_SKEW_SECONDS = 15 * 60


class Unauthorized(Exception):
    """The request is not signed with the account key (HTTP 401)."""


def sign(key: str, verb: str, resource_type: str, resource_link: str, date: str) -> str:
    """The base64 HMAC-SHA256 signature of one request."""
    text = f"{verb.lower()}\n{resource_type.lower()}\n{resource_link}\n{date.lower()}\n\n"
    digest = hmac.new(base64.b64decode(key), text.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


class MasterKeyAuth:
    """Checks request signatures against one account key."""

    def __init__(self, key: str = EMULATOR_KEY, max_skew: float = MAX_SKEW_SECONDS) -> None:
        base64.b64decode(key, validate=True)  # fail at start-up, not on the first request
        self._key = key
        self._max_skew = max_skew

    def verify(self, verb: str, path: ResourcePath, headers: Mapping[str, str], now: float) -> None:
        """Raise Unauthorized unless the Authorization header signs this request with the key."""
        header = headers.get("authorization")
        if not header:
            raise Unauthorized("the Authorization header is missing")
        fields = parse_qs(unquote(header), keep_blank_values=True)
        if fields.get("type") != ["master"] or "sig" not in fields:
            raise Unauthorized("only master-key authorization (type=master) is supported")
        date = headers.get("x-ms-date") or headers.get("date") or ""
        self._check_date(date, now)
        # parse_qs turns '+' into ' '; signatures are base64, so put them back.
        given = fields["sig"][0].replace(" ", "+")
        expected = sign(self._key, verb, path.resource_type, path.auth_link(), date)
        if not hmac.compare_digest(given, expected):
            raise Unauthorized("the MAC signature found in the HTTP request is not the same as the computed "
                               "signature; check the account key")

    def _check_date(self, date: str, now: float) -> None:
        try:
            sent_at = parsedate_to_datetime(date)
        except (TypeError, ValueError):
            raise Unauthorized(f"the x-ms-date header {date!r} is not an RFC 1123 date") from None
        # RFC 1123 dates in HTTP are GMT (RFC 9110 §5.6.7); without a zone the instant is ambiguous
        # (Python would read it as the server's local time), so such a date is refused.
        if sent_at.tzinfo is None or sent_at.utcoffset():
            raise Unauthorized(f"the x-ms-date header {date!r} must be in GMT, "
                               "e.g. 'Fri, 27 Nov 2026 16:00:00 GMT'")
        sent = sent_at.timestamp()
        if abs(now - sent) > self._max_skew:
            raise Unauthorized(f"the request date {date} is more than {int(self._max_skew)} seconds from the "
                               "server's clock")
