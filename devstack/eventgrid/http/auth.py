"""Publisher authentication: ``aeg-sas-key`` and ``aeg-sas-token``.

The token format is the one ``azure.eventgrid.generate_sas`` builds (azure-eventgrid 4.22,
``_legacy/_helpers.py``): ``r=<url-encoded "<endpoint>?apiVersion=<v>">&e=<url-encoded expiry>&s=<url-encoded
base64 HMAC-SHA256(base64-decoded key, "r=...&e=...")>`` — see also
https://learn.microsoft.com/azure/event-grid/authenticate-with-access-keys-shared-access-signatures.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import unquote, urlsplit

from devstack.eventgrid.core.errors import Unauthorized

KEY_HEADER = "aeg-sas-key"
TOKEN_HEADER = "aeg-sas-token"


def authenticate(headers: Mapping[str, str], topic_key: str, request_path: str, now: datetime) -> None:
    """Raise ``Unauthorized`` unless the headers carry the topic's key or a valid SAS token for it."""
    key = headers.get(KEY_HEADER)
    token = headers.get(TOKEN_HEADER)
    if key is not None:
        if not hmac.compare_digest(_utf8(key, KEY_HEADER), topic_key.encode()):
            raise Unauthorized(f"the {KEY_HEADER} header does not match the topic's key")
        return
    if token is not None:
        _utf8(token, TOKEN_HEADER)
        verify_token(token, topic_key, request_path, now)
        return
    raise Unauthorized(f"the request needs an {KEY_HEADER} or {TOKEN_HEADER} header")


def _utf8(value: str, header: str) -> bytes:
    """The header's bytes; aiohttp keeps bytes that are not UTF-8 as lone surrogates, which no key matches."""
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError:
        raise Unauthorized(f"the {header} header is not valid UTF-8") from None


def verify_token(token: str, topic_key: str, request_path: str, now: datetime) -> None:
    """Check a SAS token's signature, expiry and resource (the topic's endpoint path)."""
    unsigned, sep, signature = token.rpartition("&s=")
    fields = dict(part.split("=", 1) for part in unsigned.split("&") if "=" in part)
    if not sep or "r" not in fields or "e" not in fields:
        raise Unauthorized("the aeg-sas-token is malformed: expected r=<resource>&e=<expiry>&s=<signature>")
    try:
        secret = base64.b64decode(topic_key, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise Unauthorized("the topic's key is not base64, so it cannot sign SAS tokens") from exc
    expected = base64.b64encode(hmac.new(secret, unsigned.encode("ascii", "replace"), hashlib.sha256).digest())
    if not hmac.compare_digest(expected, unquote(signature).encode()):
        raise Unauthorized("the aeg-sas-token signature is not valid for this topic's key")
    if _parse_expiry(unquote(fields["e"])) <= now:
        raise Unauthorized("the aeg-sas-token has expired")
    try:
        resource_path = urlsplit(unquote(fields["r"])).path.rstrip("/").lower()
    except ValueError as exc:  # e.g. "http://[" (an unterminated IPv6 host)
        raise Unauthorized(f"the aeg-sas-token resource is not a URL: {exc}") from None
    # The host is not compared: localhost and 127.0.0.1 name the same local endpoint.
    if resource_path != request_path.rstrip("/").lower():
        raise Unauthorized(f"the aeg-sas-token was issued for {resource_path!r}, not {request_path!r}")


def _parse_expiry(text: str) -> datetime:
    """``str(datetime)`` (what the Python SDK sends) or .NET's ``M/d/yyyy h:mm:ss tt``; naive = UTC."""
    for parse in (datetime.fromisoformat, lambda t: datetime.strptime(t, "%m/%d/%Y %I:%M:%S %p")):
        try:
            value = parse(text)
        except ValueError:
            continue
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    raise Unauthorized(f"the aeg-sas-token expiry {text!r} is not a date")
