"""The declaration file: ${VAR} expansion, defaults and clear errors."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from devstack.eventgrid.core.config import DEFAULT_KEY, expand, load_config, parse_config
from devstack.eventgrid.core.errors import ConfigError


def topic(**overrides: Any) -> dict[str, Any]:
    return {"topics": [{"name": "delivery-events", "subscriptions": [
        {"name": "notifications", "endpointUrl": "http://127.0.0.1:7071/runtime/webhooks/EventGrid?functionName=f",
         **overrides}]}]}


def test_expansion_uses_environment_then_default() -> None:
    env = {"PORT": "9000", "EMPTY": ""}
    assert expand("http://h:${PORT}/x", env) == "http://h:9000/x"
    assert expand("${MISSING:-7071}", env) == "7071"
    assert expand("${EMPTY:-fallback}", env) == "fallback"
    assert expand({"a": ["${PORT}", 3, None]}, env) == {"a": ["9000", 3, None]}


def test_unset_variable_without_default_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match=r"HOST_PORT is not set"):
        expand("http://127.0.0.1:${HOST_PORT}/x", {})


def test_defaults_follow_azure() -> None:
    config = parse_config(topic(), {})
    [only] = config.topics
    assert only.key == DEFAULT_KEY and only.input_schema == "EventGridSchema"
    sub = only.subscriptions[0]
    assert (sub.retry_policy.max_delivery_attempts, sub.retry_policy.event_ttl_minutes) == (30, 1440)
    assert sub.filter.included_event_types is None
    assert config.topic("DELIVERY-EVENTS") is only and only.subscription("Notifications") is sub


def test_load_config_reads_a_file_and_expands(tmp_path: Path) -> None:
    path = tmp_path / "eventgrid.json"
    path.write_text(json.dumps(topic(endpointUrl="http://127.0.0.1:${HOST_PORT:-7071}/hook")))
    config = load_config(path, {"HOST_PORT": "8123"})
    assert config.topics[0].subscriptions[0].endpoint_url == "http://127.0.0.1:8123/hook"


def test_included_event_types_all_means_every_type() -> None:
    config = parse_config(topic(filter={"includedEventTypes": ["All"]}), {})
    assert config.topics[0].subscriptions[0].filter.included_event_types is None


@pytest.mark.parametrize(("raw", "message"), [
    ({"topic": []}, '"topics" array'),
    ({"topics": [{"name": "x"}]}, "3-50 letters"),
    ({"topics": [{"name": "abc", "inputSchema": "CustomInputSchema"}]}, "inputSchema 'CustomInputSchema'"),
    (topic(endpointUrl="ftp://x"), "http:// or https://"),
    (topic(retryPolicy={"maxDeliveryAttempts": 31}), "1 to 30"),
    (topic(retryPolicy={"eventTimeToLiveInMinutes": 0}), "1 to 1440"),
    (topic(filter={"advancedFilters": [{"operatorType": "Nope", "key": "k"}]}), "advancedFilters[0]"),
    (topic(eventDeliverySchema="CloudEventSchemaV1_0"), "only the topic's input schema"),
    ({"topics": [{"name": "abc"}, {"name": "ABC"}]}, "unique"),
])
def test_invalid_declarations_name_the_problem(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, {})
    assert message in str(caught.value)


def test_unreadable_or_invalid_json_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.json", {})
    bad = tmp_path / "bad.json"
    bad.write_text("{oops")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_config(bad, {})


def test_the_declaration_the_app_ships_is_valid() -> None:
    shipped = Path(__file__).resolve().parents[3] / "resources" / "eventgrid.json"
    config = load_config(shipped, {"FUNCTIONS_PORT": "7171"})
    topic = config.topic("delivery-events")  # the topic name docs/design.md fixes
    assert topic is not None and topic.subscriptions
    assert all(sub.endpoint_url.startswith("http") for sub in topic.subscriptions)
