"""aeg-sas-key and aeg-sas-token checks, with tokens made by the SDK's own generate_sas."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from azure.eventgrid import generate_sas

from devstack.eventgrid.core.errors import Unauthorized
from devstack.eventgrid.http.auth import authenticate

KEY = "ZGV2c3RhY2stZXZlbnRncmlkLWtleQ=="
PATH = "/topics/delivery-events/api/events"
ENDPOINT = "http://localhost:9090" + PATH
NOW = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)


def token(key: str = KEY, endpoint: str = ENDPOINT, expires: datetime = NOW + timedelta(hours=1)) -> str:
    return generate_sas(endpoint, key, expires)


def test_matching_key_passes_and_wrong_or_missing_key_fails() -> None:
    authenticate({"aeg-sas-key": KEY}, KEY, PATH, NOW)
    with pytest.raises(Unauthorized, match="does not match"):
        authenticate({"aeg-sas-key": "other"}, KEY, PATH, NOW)
    with pytest.raises(Unauthorized, match="needs an aeg-sas-key or aeg-sas-token"):
        authenticate({}, KEY, PATH, NOW)


def test_sdk_generated_token_passes_whatever_host_it_names() -> None:
    authenticate({"aeg-sas-token": token()}, KEY, PATH, NOW)
    authenticate({"aeg-sas-token": token(endpoint="http://127.0.0.1:1" + PATH)}, KEY, PATH, NOW)
    naive_expiry = (NOW + timedelta(hours=1)).replace(tzinfo=None)
    authenticate({"aeg-sas-token": token(expires=naive_expiry)}, KEY, PATH, NOW)


@pytest.mark.parametrize(("bad_token", "message"), [
    (token(key="b3RoZXIta2V5"), "signature is not valid"),
    (token(expires=NOW - timedelta(seconds=1)), "expired"),
    (token(endpoint="http://localhost:9090/topics/other/api/events"), "issued for"),
    ("garbage", "malformed"),
])
def test_bad_tokens_are_refused_with_the_reason(bad_token: str, message: str) -> None:
    with pytest.raises(Unauthorized) as caught:
        authenticate({"aeg-sas-token": bad_token}, KEY, PATH, NOW)
    assert message in str(caught.value)
