"""A minimal signed REST client, for requests the SDK refuses to send (malformed JSON, forbidden ids).

It signs as the Cosmos DB REST docs describe ("Access control on Cosmos DB resources"), written
independently of the emulator's code so the emulator's auth is checked against the documented algorithm.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import urllib.error
import urllib.parse
import urllib.request
from email.utils import formatdate


def signed_headers(key: str, verb: str, resource_type: str, resource_link: str) -> dict[str, str]:
    """Date and Authorization headers for one request."""
    date = formatdate(usegmt=True)
    text = f"{verb.lower()}\n{resource_type.lower()}\n{resource_link}\n{date.lower()}\n\n"
    sig = base64.b64encode(hmac.new(base64.b64decode(key), text.encode(), hashlib.sha256).digest()).decode()
    token = urllib.parse.quote(f"type=master&ver=1.0&sig={sig}", safe="-_.!~*'()")
    return {"x-ms-date": date, "authorization": token, "x-ms-version": "2020-07-15"}


def request(endpoint: str, key: str, verb: str, path: str, resource_type: str, resource_link: str,
            body: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, dict]:
    """Send one request; returns (status, parsed JSON body or {})."""
    all_headers = {**signed_headers(key, verb, resource_type, resource_link), **(headers or {})}
    if body is not None:
        all_headers.setdefault("content-type", "application/json")
    req = urllib.request.Request(endpoint.rstrip("/") + path, data=body, method=verb.upper(), headers=all_headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    return status, json.loads(raw) if raw else {}
