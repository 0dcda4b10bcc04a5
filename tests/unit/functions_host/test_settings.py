"""host.json options, TimeSpans, app settings precedence, binding expressions, disabled functions."""
from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from devstack.functions_host.errors import StartupError
from devstack.functions_host.settings import AppSettings, HostOptions, load_host_json, parse_timespan


@pytest.mark.parametrize(("text", "seconds"), [("00:05:00", 300), ("00:00:01.5", 1.5), ("1.02:00:00", 93600)])
def test_timespans(text: str, seconds: float) -> None:
    assert parse_timespan(text) == seconds


def test_bad_timespan_is_a_startup_error() -> None:
    with pytest.raises(StartupError, match="TimeSpan"):
        parse_timespan("5 minutes")


def test_host_json_options(tmp_path: Path) -> None:
    (tmp_path / "host.json").write_text(json.dumps({
        "version": "2.0", "functionTimeout": "00:00:30", "logging": {"logLevel": {"default": "Warning"}},
        "extensions": {"http": {"routePrefix": "/v2/"}, "serviceBus": {
            "prefetchCount": 5, "autoCompleteMessages": False, "maxConcurrentCalls": 3, "maxConcurrentSessions": 2,
            "sessionIdleTimeout": "00:00:02", "maxAutoLockRenewalDuration": "00:01:00",
            "clientRetryOptions": {"mode": "Exponential", "maxRetries": 2, "delay": "00:00:00.50",
                                   "maxDelay": "00:00:30"}}}}))
    options = load_host_json(tmp_path)
    assert (options.route_prefix, options.function_timeout, options.log_level) == ("v2", 30.0, logging.WARNING)
    sb = options.service_bus
    assert (sb.prefetch_count, sb.auto_complete_messages, sb.max_concurrent_calls, sb.max_concurrent_sessions,
            sb.session_idle_timeout, sb.max_auto_lock_renewal_duration) == (5, False, 3, 2, 2.0, 60.0)
    assert sb.client_retry == {"retry_total": 2, "retry_backoff_factor": 0.5, "retry_backoff_max": 30.0,
                               "retry_mode": "exponential"}


def test_missing_host_json_means_defaults_and_unbounded_timeout(tmp_path: Path) -> None:
    assert load_host_json(tmp_path) == HostOptions()
    (tmp_path / "host.json").write_text('{"functionTimeout": "-1", "extensions": {"http": {"routePrefix": ""}}}')
    assert (load_host_json(tmp_path).function_timeout, load_host_json(tmp_path).route_prefix) == (None, "")


def test_invalid_host_json_is_a_startup_error(tmp_path: Path) -> None:
    (tmp_path / "host.json").write_text("{nope")
    with pytest.raises(StartupError, match=r"host\.json: not valid JSON"):
        load_host_json(tmp_path)


def test_environment_wins_over_local_settings(tmp_path: Path) -> None:
    (tmp_path / "local.settings.json").write_text(json.dumps({"Values": {"A": "local", "B": "local", "N": 5}}))
    settings = AppSettings.load(tmp_path, {"B": "env"})
    assert (settings.get("A"), settings.get("B"), settings.get("N")) == ("local", "env", "5")
    environ: dict[str, str] = {"B": "env"}
    settings.export_to(environ)
    assert environ == {"A": "local", "B": "env", "N": "5"}


def test_binding_expressions_and_missing_settings() -> None:
    settings = AppSettings({"Queue": "orders"})
    assert settings.expand("%Queue%/sub", needed_by="f") == "orders/sub"
    with pytest.raises(StartupError, match="function 'x' needs app setting 'Missing'"):
        settings.expand("%Missing%", needed_by="function 'x'")


@pytest.mark.parametrize("key", ["AzureWebJobs.f.Disabled", "AzureWebJobs__f__Disabled"])
def test_disabled_setting(key: str) -> None:
    assert AppSettings({key: "true"}).is_disabled("f")
    assert AppSettings({key: "1"}).is_disabled("f")
    assert not AppSettings({key: "false"}).is_disabled("f")
    assert not AppSettings({key: "true"}).is_disabled("g")


def test_app_settings_override_host_json_values(tmp_path: Path) -> None:
    (tmp_path / "host.json").write_text(json.dumps({"extensions": {"serviceBus": {"sessionIdleTimeout": "00:00:05",
                                                                                  "maxConcurrentSessions": 8}}}))
    options = load_host_json(tmp_path, {
        "AzureFunctionsJobHost__extensions__serviceBus__sessionIdleTimeout": "00:00:01",
        "AzureFunctionsJobHost__Extensions__ServiceBus__MaxConcurrentSessions": "2",
        "AzureFunctionsJobHost__extensions__http__routePrefix": "",
        "AzureFunctionsJobHost__functionTimeout": "00:00:09",
        "Unrelated": "x"})
    assert (options.service_bus.session_idle_timeout, options.service_bus.max_concurrent_sessions) == (1.0, 2)
    assert (options.route_prefix, options.function_timeout) == ("", 9.0)


def test_try_timeout_is_how_long_a_session_accept_waits(tmp_path: Path) -> None:
    assert load_host_json(tmp_path).service_bus.try_timeout == 60.0  # ServiceBusRetryOptions.TryTimeout default
    (tmp_path / "host.json").write_text(json.dumps({"extensions": {"serviceBus": {
        "clientRetryOptions": {"tryTimeout": "00:00:20"}}}}))
    sb = load_host_json(tmp_path).service_bus
    assert sb.try_timeout == 20.0
    assert "try_timeout" not in sb.client_retry  # not an azure-servicebus client keyword
