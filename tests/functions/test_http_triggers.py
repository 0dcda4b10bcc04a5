"""HTTP triggers run by the host as a subprocess: routing, methods, outputs, errors, timeouts, settings."""
from __future__ import annotations

import json
from collections.abc import Iterator
from email.message import Message
from pathlib import Path

import pytest

from tests.functions.sample_apps import http, prepare_app
from tests.support.functions_host import FunctionsHost, run_host


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FunctionsHost]:
    tmp = tmp_path_factory.mktemp("http")
    app_dir = prepare_app("http_app", tmp, {"FROM_LOCAL_SETTINGS": "local value", "OVERRIDDEN_BY_ENV": "local",
                                            "AzureWebJobs.switched_off.Disabled": "true"})
    with run_host(app_dir, {"OVERRIDDEN_BY_ENV": "environment"}) as running:
        yield running


def get(host: FunctionsHost, path: str, **kwargs: object) -> tuple[int, Message, bytes]:
    return http("GET", host.base_url + path, **kwargs)  # type: ignore[arg-type]


def test_typed_route_parameter_and_query(host: FunctionsHost) -> None:
    status, headers, body = get(host, "/v1/items/42?q=drones")
    assert status == 200
    assert headers["Content-Type"].startswith("application/json")
    assert json.loads(body) == {"id": "42", "q": "drones"}


def test_constraint_picks_between_routes_and_unmatched_constraint_is_404(host: FunctionsHost) -> None:
    assert get(host, "/v1/items/widget")[2] == b"name=widget"
    assert get(host, "/v1/items/12ab")[0] == 404


def test_optional_and_catch_all_parameters(host: FunctionsHost) -> None:
    assert get(host, "/v1/greet/ada")[2] == b"hello ada"
    assert get(host, "/v1/greet")[2] == b"hello nobody"
    assert get(host, "/v1/files/a/b/c.txt")[2] == b"a/b/c.txt"


def test_method_filter_answers_405_with_allow(host: FunctionsHost) -> None:
    status, headers, _ = get(host, "/v1/echo")
    assert status == 405
    assert headers["Allow"] == "POST, PUT"
    status, headers, body = http("POST", host.base_url + "/v1/echo", body=b"\x00payload")
    assert (status, body, headers["X-Method"]) == (201, b"\x00payload", "POST")


def test_unknown_route_and_wrong_prefix_are_404(host: FunctionsHost) -> None:
    assert get(host, "/v1/nothing-here")[0] == 404
    assert get(host, "/api/items/1")[0] == 404


def test_several_set_cookie_headers_survive(host: FunctionsHost) -> None:
    _, headers, _ = get(host, "/v1/cookies")
    assert sorted(headers.get_all("Set-Cookie")) == ["a=1; Path=/", "b=2; HttpOnly"]


def test_named_http_output(host: FunctionsHost) -> None:
    status, _, body = get(host, "/v1/named")
    assert (status, body) == (202, b"from named output")


def test_unhandled_exception_is_500_logged_with_invocation_id_and_host_keeps_running(host: FunctionsHost) -> None:
    assert get(host, "/v1/boom")[0] == 500
    log = host.log_text()
    assert "Executed 'Functions.boom' (Failed, Id=" in log
    assert "boom on purpose" in log
    assert get(host, "/v1/greet/again")[0] == 200


def test_async_function_beyond_function_timeout_fails(host: FunctionsHost) -> None:
    assert get(host, "/v1/slow?seconds=0.1")[2] == b"slept"
    assert get(host, "/v1/slow?seconds=10")[0] == 500  # host.json functionTimeout is 3 s
    assert "exceeded functionTimeout" in host.log_text()


def test_local_settings_reach_the_environment_and_the_real_environment_wins(host: FunctionsHost) -> None:
    assert get(host, "/v1/setting/FROM_LOCAL_SETTINGS")[2] == b"local value"
    assert get(host, "/v1/setting/OVERRIDDEN_BY_ENV")[2] == b"environment"


def test_disabled_function_is_not_served(host: FunctionsHost) -> None:
    assert get(host, "/v1/switched-off")[0] == 404
    assert "switched_off is disabled" in host.log_text()


def test_keys_not_enforced_without_enable_auth(host: FunctionsHost) -> None:
    assert get(host, "/v1/keyed")[0] == 200
    assert get(host, "/v1/admin-only")[0] == 200


def test_enable_auth_requires_keys_per_level(tmp_path: Path) -> None:
    app_dir = prepare_app("http_app", tmp_path)
    keys = {"FUNCTIONS_MASTER_KEY": "master-secret", "FUNCTIONS_HOST_KEY": "host-secret"}
    with run_host(app_dir, keys, extra_args=["--enable-auth"]) as host:
        assert get(host, "/v1/keyed")[0] == 401
        assert get(host, "/v1/keyed?code=wrong")[0] == 401
        assert get(host, "/v1/keyed?code=host-secret")[0] == 200
        assert get(host, "/v1/keyed", headers={"x-functions-key": "master-secret"})[0] == 200
        assert get(host, "/v1/admin-only?code=host-secret")[0] == 401
        assert get(host, "/v1/admin-only", headers={"x-functions-key": "master-secret"})[0] == 200
        assert get(host, "/v1/greet/anonymous")[0] == 200


def test_host_status_lists_the_enabled_functions(host: FunctionsHost) -> None:
    status, _, body = get(host, "/admin/host/status")
    document = json.loads(body)
    assert status == 200 and document["state"] == "Running"
    assert "get_item" in document["functions"] and "keyed" in document["functions"]
    assert "switched_off" not in document["functions"]
