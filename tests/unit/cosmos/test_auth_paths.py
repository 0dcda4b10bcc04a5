"""Master-key signatures and resource paths, checked against the SDK's own signing code."""
from __future__ import annotations

import urllib.parse
from email.utils import formatdate

import pytest
from azure.cosmos import auth as sdk_auth

from devstack.cosmos.core.errors import BadRequest
from devstack.cosmos.http.auth import EMULATOR_KEY, MasterKeyAuth, Unauthorized
from devstack.cosmos.http.paths import ResourcePath

NOW = 1_700_000_000.0


class _Connection:
    """What the SDK's signing function reads from a client connection."""

    master_key = EMULATOR_KEY
    resource_tokens = None


def _sdk_headers(verb: str, resource_type: str, link: str, name_based: bool, date: str) -> dict[str, str]:
    headers = {"x-ms-date": date}
    token = sdk_auth._get_authorization_header(_Connection(), verb, "", link, name_based, resource_type, headers)
    headers["authorization"] = urllib.parse.quote(token, "-_.!~*'()")
    return headers


@pytest.mark.parametrize("verb, raw_path, resource_type, link, name_based", [
    ("get", "/", "", "", False),
    ("post", "/dbs", "dbs", "", False),
    ("get", "/dbs/drone-delivery/", "dbs", "dbs/drone-delivery", True),
    ("post", "/dbs/drone-delivery/colls/drones/docs/", "docs", "dbs/drone-delivery/colls/drones", True),
    ("get", "/dbs/drone-delivery/colls/drones/docs/with%20space/", "docs",
     "dbs/drone-delivery/colls/drones/docs/with space", True),
    ("put", "/dbs/bOHjIg==/colls/bOHjIqSjZtk=/docs/bOHjIqSjZtkBAAAAAAAAAA==/", "docs", "bOHjIqSjZtkBAAAAAAAAAA==",
     False),
])
def test_sdk_signatures_verify(verb: str, raw_path: str, resource_type: str, link: str, name_based: bool) -> None:
    date = formatdate(NOW, usegmt=True)
    path = ResourcePath.parse(raw_path)
    assert path.resource_type == resource_type
    MasterKeyAuth().verify(verb.upper(), path, _sdk_headers(verb, resource_type, link, name_based, date), NOW)


def test_wrong_key_wrong_resource_and_stale_date_fail() -> None:
    date = formatdate(NOW, usegmt=True)
    path = ResourcePath.parse("/dbs/a/colls/b")
    headers = _sdk_headers("get", "colls", "dbs/a/colls/b", True, date)
    with pytest.raises(Unauthorized):
        MasterKeyAuth("c2VjcmV0").verify("GET", path, headers, NOW)
    with pytest.raises(Unauthorized):
        MasterKeyAuth().verify("GET", ResourcePath.parse("/dbs/a/colls/c"), headers, NOW)
    with pytest.raises(Unauthorized):
        MasterKeyAuth().verify("DELETE", path, headers, NOW)
    with pytest.raises(Unauthorized, match="seconds"):
        MasterKeyAuth().verify("GET", path, headers, NOW + 16 * 60)
    for broken in ({}, {"authorization": "type=resource&ver=1.0&sig=x", "x-ms-date": date},
                   {"authorization": headers["authorization"], "x-ms-date": "yesterday"}):
        with pytest.raises(Unauthorized):
            MasterKeyAuth().verify("GET", path, broken, NOW)


def test_a_date_must_be_gmt() -> None:
    path = ResourcePath.parse("/dbs/a/colls/b")
    gmt = formatdate(NOW, usegmt=True)  # e.g. "Fri, 27 Nov 2026 16:00:00 GMT"
    for date in (gmt.removesuffix(" GMT"), gmt.replace("GMT", "-0000"), gmt.replace("GMT", "+0100")):
        with pytest.raises(Unauthorized, match="GMT"):
            MasterKeyAuth().verify("GET", path, _sdk_headers("get", "colls", "dbs/a/colls/b", True, date), NOW)
    for date in (gmt, gmt.replace("GMT", "UTC"), gmt.replace("GMT", "+0000")):
        MasterKeyAuth().verify("GET", path, _sdk_headers("get", "colls", "dbs/a/colls/b", True, date), NOW)


def test_path_kinds() -> None:
    assert ResourcePath.parse("/dbs/a/colls/b/docs/c").kinds() == ("dbs", "colls", "docs")
    assert ResourcePath.parse("/dbs/a/colls/b/pkranges").is_feed
    for bad in ("/users", "/dbs/a/users", "/dbs/a/colls/b/sprocs", "/dbs/a/colls/b/docs/c/attachments"):
        with pytest.raises(BadRequest):
            ResourcePath.parse(bad).kinds()
