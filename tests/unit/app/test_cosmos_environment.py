"""The Cosmos adapter skips requests' per-request environment lookup only when there is nothing to find."""
from __future__ import annotations

import pytest

from adapters.cosmos import ENVIRONMENT_SETTINGS, _transport, uses_environment_settings


def test_no_proxy_or_ca_bundle_means_no_environment_lookup() -> None:
    assert not uses_environment_settings({"PATH": "/usr/bin", "HOME": "/root", "HTTPS_PROXY": ""})


@pytest.mark.parametrize("name", [*ENVIRONMENT_SETTINGS, *(n.lower() for n in ENVIRONMENT_SETTINGS)])
def test_any_proxy_or_ca_bundle_variable_keeps_it(name: str) -> None:
    assert uses_environment_settings({name: "http://proxy.example:3128"})


def test_the_transport_follows_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENVIRONMENT_SETTINGS:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    assert _transport()._use_env_settings is False  # azure-core's flag, copied to requests' Session.trust_env
    monkeypatch.setenv("https_proxy", "http://proxy.example:3128")
    assert _transport()._use_env_settings is True
