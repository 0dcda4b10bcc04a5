"""Claims-based security: validate SAS tokens put on ``$cbs`` (Service Bus SAS authentication).

Token format and signature: learn.microsoft.com/azure/service-bus-messaging/service-bus-sas
("SharedAccessSignature sr=<url-encoded resource>&sig=<HMAC-SHA256 of 'url-encoded-resource\\nexpiry'>
&se=<expiry>&skn=<key name>").
"""
from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote_plus, urlsplit

_MAX_EXPIRY_DIGITS = 12  # Unix seconds stay below 10**12 for the next 30,000 years


class TokenRejected(Exception):
    """The token is malformed, signed with another key, or expired."""


@dataclass(frozen=True)
class Grant:
    """What an accepted token allows: the resource (host-less path prefix) until ``expires_at``."""

    resource: str
    expires_at: float

    def covers(self, path: str, now: float) -> bool:
        """True when the grant is still valid for the entity path."""
        if now >= self.expires_at:
            return False
        prefix = self.resource.strip("/").lower()
        target = path.strip("/").lower()
        return prefix == "" or target == prefix or target.startswith(prefix + "/")


@dataclass(frozen=True)
class SasKey:
    """A shared access policy: key name and key."""

    name: str
    key: str

    def validate(self, token: str, now: float) -> Grant:
        """Check a SAS token's key name, signature and expiry; returns what it grants."""
        prefix = "SharedAccessSignature "
        if not isinstance(token, str) or not token.startswith(prefix):
            raise TokenRejected("not a SharedAccessSignature token")
        fields = dict(parse_qsl(token[len(prefix):], keep_blank_values=True))
        try:
            resource, signature, expiry, key_name = fields["sr"], fields["sig"], fields["se"], fields["skn"]
        except KeyError as exc:
            raise TokenRejected("token needs sr, sig, se and skn") from exc
        # `se` is Unix seconds: a few digits. Bounding it first keeps int() cheap and float() finite
        # (a 400-digit value overflowed float and surfaced as amqp:internal-error, not a 401).
        if not (expiry.isascii() and expiry.isdigit() and len(expiry) <= _MAX_EXPIRY_DIGITS):
            raise TokenRejected("se must be the expiry in Unix seconds")
        expires_at = float(int(expiry))
        if key_name != self.name:
            raise TokenRejected(f"unknown key name {key_name!r}")
        to_sign = f"{quote_plus(resource)}\n{expiry}".encode()
        expected = base64.b64encode(hmac.new(self.key.encode(), to_sign, hashlib.sha256).digest())
        # compare_digest takes str only when both are ASCII: compare bytes so any `sig` is just wrong.
        if not hmac.compare_digest(expected, signature.encode("utf-8", "surrogatepass")):
            raise TokenRejected("InvalidSignature: the token has an invalid signature")
        if expires_at <= now:
            raise TokenRejected("ExpiredToken: the token is expired")
        return Grant(resource_path(resource), expires_at)


def resource_path(uri: str) -> str:
    """The entity path of ``sb://host:port/path`` or ``amqps://host/path`` (or a bare path)."""
    if "://" in uri:
        return urlsplit(uri).path.strip("/")
    return uri.strip("/")
