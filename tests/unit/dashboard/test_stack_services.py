"""`devstack up` with a dashboard port: one more child, started before the host, which exports to it."""
from __future__ import annotations

from pathlib import Path

from devstack.stack.services import stack_services
from devstack.stack.settings import Ports, StackSettings


def settings(dashboard: int | None, **app_settings: str) -> StackSettings:
    return StackSettings(app_dir=Path("/app"), data_dir=Path("/data"),
                         ports=Ports(1001, 1002, 1003, 1004, dashboard), app_settings=app_settings)


def host_env(specs: list) -> dict[str, str]:
    return next(spec for spec in specs if spec.name == "host").env


def test_the_dashboard_starts_before_the_host_and_the_host_exports_to_it() -> None:
    specs = stack_services(settings(7777))
    assert [spec.name for spec in specs] == ["servicebus", "cosmos", "eventgrid", "dashboard", "host"]
    dashboard = specs[3]
    assert dashboard.port == 7777
    assert dashboard.argv[:3] == ["dashboard", "--port", "7777"]
    assert dashboard.argv[dashboard.argv.index("--data-dir") + 1] == "/data/dashboard"
    assert dashboard.argv[dashboard.argv.index("--eventgrid-url") + 1] == "http://127.0.0.1:1003"
    assert host_env(specs)["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://127.0.0.1:7777"
    assert host_env(specs)["OTEL_EXPORTER_OTLP_PROTOCOL"] == "http/protobuf"
    assert settings(7777).endpoints()["dashboard"] == "http://127.0.0.1:7777/"


def test_without_a_dashboard_port_the_stack_is_the_four_services_and_exports_nothing() -> None:
    specs = stack_services(settings(None))
    assert [spec.name for spec in specs] == ["servicebus", "cosmos", "eventgrid", "host"]
    assert "OTEL_EXPORTER_OTLP_ENDPOINT" not in host_env(specs)
    assert "dashboard" not in settings(None).endpoints()


def test_an_endpoint_the_user_chose_wins() -> None:
    local = settings(7777, OTEL_EXPORTER_OTLP_ENDPOINT="http://collector:4318")
    assert host_env(stack_services(local))["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://collector:4318"
    assert "OTEL_EXPORTER_OTLP_PROTOCOL" not in host_env(stack_services(local))
    assert settings(7777).telemetry_settings({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://mine:4318"}) == {}
    assert settings(7777).telemetry_settings({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://mine:4318/v1/traces"}) == {}
