"""`devstack up` with a dashboard port: one more child, started before the host, which exports to it; the broker's
admin port and what the dashboard is told to read dead letters and entity depths."""
from __future__ import annotations

from pathlib import Path

import pytest

from devstack.stack.cli import parse_args, settings_from
from devstack.stack.services import stack_services
from devstack.stack.settings import Ports, StackSettings
from devstack.stack.supervisor import StackError, Supervisor


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


def test_the_broker_gets_an_admin_port_and_the_dashboard_its_url_and_the_hosts_connections() -> None:
    local = StackSettings(app_dir=Path("/app"), data_dir=Path("/data"),
                          ports=Ports(1001, 1002, 1003, 1004, 7777, servicebus_admin=1005),
                          app_settings={"CosmosDatabaseName": "db", "Unrelated": "x"})
    specs = {spec.name: spec for spec in stack_services(local)}
    broker, board = specs["servicebus"], specs["dashboard"]
    assert broker.argv[broker.argv.index("--admin-port") + 1] == "1005"
    assert broker.extra_ports == (("servicebus-admin", 1005),)
    assert board.argv[board.argv.index("--servicebus-admin-url") + 1] == "http://127.0.0.1:1005"
    assert board.argv[board.argv.index("--servicebus-config") + 1] == "/app/resources/Config.json"
    assert board.argv[board.argv.index("--eventgrid-config") + 1] == "/app/resources/eventgrid.json"
    host = specs["host"].env
    for name in ("ServiceBusConnection", "CosmosDBConnection", "CosmosDatabaseName"):
        assert board.env[name] == host[name]  # the same settings the host gets
    assert "Unrelated" not in board.env
    assert board.env["EVENTGRID_TOPIC_KEY"] == specs["eventgrid"].env["EVENTGRID_TOPIC_KEY"]
    assert list(local.endpoints())[:2] == ["servicebus", "servicebus-admin"]
    assert local.endpoints()["servicebus-admin"] == "http://127.0.0.1:1005/entities"


def test_without_an_admin_port_the_broker_and_dashboard_run_as_before() -> None:
    specs = {spec.name: spec for spec in stack_services(settings(7777))}
    assert "--admin-port" not in specs["servicebus"].argv and specs["servicebus"].extra_ports == ()
    assert "--servicebus-admin-url" not in specs["dashboard"].argv
    assert "servicebus-admin" not in settings(7777).endpoints()


def test_up_puts_the_admin_port_next_to_the_brokers_unless_told() -> None:
    assert settings_from(parse_args([])).ports.servicebus_admin == 5673
    assert settings_from(parse_args(["--servicebus-port", "15672"])).ports.servicebus_admin == 15673
    assert settings_from(parse_args(["--servicebus-admin-port", "9999"])).ports.servicebus_admin == 9999
    assert settings_from(parse_args(["--servicebus-admin-port", "0"])).ports.servicebus_admin is None


def test_an_admin_port_given_twice_is_refused_naming_its_flag() -> None:
    ports = Ports(1001, 1002, 1003, 1004, None, servicebus_admin=1002)
    supervisor = Supervisor(stack_services(StackSettings(app_dir=Path("/app"), data_dir=Path("/data"), ports=ports)),
                            lambda name, line: None)
    with pytest.raises(StackError, match="port 1002 is given to both servicebus-admin and cosmos"):
        supervisor.check_ports()
