"""The Cosmos adapter reads what requests would take from the environment once, when the client is built, and
never on each request: without a proxy it sends through urllib3 directly (adapters/http_transport.py), with one
through the SDK's requests transport with Session.trust_env off."""
from __future__ import annotations

import pytest
from requests.utils import DEFAULT_CA_BUNDLE_PATH

from adapters.cosmos import _transport, account_endpoint
from adapters.http_transport import Urllib3Transport

ENDPOINT = "https://account.documents.azure.com:443/"
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def test_the_session_never_walks_the_environment_per_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    transport = _transport(ENDPOINT)
    transport.open()
    assert transport.session is not None and transport.session.trust_env is False


def test_a_proxy_for_the_endpoint_is_taken_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    transport = _transport(ENDPOINT)
    assert transport.session is not None and transport.session.proxies.get("https") == "http://proxy.example:3128"


def test_no_proxy_excludes_the_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", ".documents.azure.com")
    assert isinstance(_transport(ENDPOINT), Urllib3Transport)


def test_without_a_proxy_requests_is_not_in_the_path() -> None:
    assert isinstance(_transport(ENDPOINT, {}), Urllib3Transport)


@pytest.mark.parametrize("name", ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"])
def test_a_ca_bundle_is_the_transport_verify(name: str) -> None:
    transport = _transport(ENDPOINT, {name: "/tmp/bundle.pem"})
    assert isinstance(transport, Urllib3Transport) and transport.verify == "/tmp/bundle.pem"


def test_without_a_bundle_the_certificates_requests_would_use_verify() -> None:
    transport = _transport(ENDPOINT, {})
    assert isinstance(transport, Urllib3Transport) and transport.verify == DEFAULT_CA_BUNDLE_PATH


def test_the_account_endpoint_is_read_from_the_connection_string() -> None:
    connection = "AccountEndpoint=http://127.0.0.1:8081/;AccountKey=a2V5;"
    assert account_endpoint(connection) == "http://127.0.0.1:8081/"
