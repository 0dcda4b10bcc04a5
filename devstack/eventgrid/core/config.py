"""The topics/subscriptions declaration: ARM property names, ``${VAR}`` expansion, validation.

Format (one file, shipped by the app as ``resources/eventgrid.json``)::

    {"topics": [{"name", "key", "inputSchema": "EventGridSchema|CloudEventSchemaV1_0",
                 "subscriptions": [{"name", "endpointUrl", "filter": {...}, "retryPolicy": {...}}]}]}

Property names and limits follow the ARM resource ``Microsoft.EventGrid/topics/eventSubscriptions``
(https://learn.microsoft.com/azure/templates/microsoft.eventgrid/topics/eventsubscriptions).
"""
from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devstack.eventgrid.core.errors import ConfigError
from devstack.eventgrid.core.filters import AdvancedFilter, SubscriptionFilter, parse_advanced_filter

log = logging.getLogger(__name__)

EVENT_GRID_SCHEMA = "EventGridSchema"
CLOUD_EVENT_SCHEMA = "CloudEventSchemaV1_0"
SCHEMAS = (EVENT_GRID_SCHEMA, CLOUD_EVENT_SCHEMA)
DEFAULT_KEY = "ZGV2c3RhY2stZXZlbnRncmlkLWtleQ=="  # the project's well-known local topic key
# ARM: topic names are 3-50 characters of letters, digits and hyphens.
_TOPIC_NAME = re.compile(r"^[A-Za-z0-9-]{3,50}$")
# ARM: subscription names are 3-64 characters of letters, digits and hyphens.
_SUBSCRIPTION_NAME = re.compile(r"^[A-Za-z0-9-]{3,64}$")
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_MAX_ADVANCED_FILTERS = 25  # Event Grid's documented limit per subscription


@dataclass(frozen=True)
class RetryPolicy:
    """ARM ``retryPolicy``: Azure's defaults are 30 attempts and 1,440 minutes (24 h)."""

    max_delivery_attempts: int = 30
    event_ttl_minutes: int = 1440


@dataclass(frozen=True)
class Subscription:
    """One event subscription with a webhook destination."""

    name: str
    endpoint_url: str
    filter: SubscriptionFilter = field(default_factory=SubscriptionFilter)
    retry_policy: RetryPolicy = field(default_factory=RetryPolicy)


@dataclass(frozen=True)
class Topic:
    """One custom topic: its key, input schema and subscriptions."""

    name: str
    key: str
    input_schema: str
    subscriptions: tuple[Subscription, ...]

    def subscription(self, name: str) -> Subscription | None:
        """The subscription called ``name`` (case-insensitive, like ARM names), if any."""
        return next((s for s in self.subscriptions if s.name.lower() == name.lower()), None)


@dataclass(frozen=True)
class EventGridConfig:
    """Every declared topic."""

    topics: tuple[Topic, ...]

    def topic(self, name: str) -> Topic | None:
        """The topic called ``name`` (case-insensitive, like Azure resource names), if any."""
        return next((t for t in self.topics if t.name.lower() == name.lower()), None)


def expand(value: Any, env: Mapping[str, str]) -> Any:
    """Replace ``${VAR}`` / ``${VAR:-default}`` in every string inside ``value``."""
    if isinstance(value, str):
        return _VARIABLE.sub(lambda m: _lookup(m, env), value)
    if isinstance(value, list):
        return [expand(item, env) for item in value]
    if isinstance(value, dict):
        return {key: expand(item, env) for key, item in value.items()}
    return value


def _lookup(match: re.Match[str], env: Mapping[str, str]) -> str:
    name, default = match.group(1), match.group(2)
    value = env.get(name)
    if value:
        return value
    if default is not None:  # like the shell, ":-" also replaces a set-but-empty variable
        return default
    if value is not None:
        return value
    raise ConfigError(f"environment variable {name} is not set and ${{{name}}} has no default "
                      f"(write ${{{name}:-value}} to give one)")


def load_config(path: Path, env: Mapping[str, str] | None = None) -> EventGridConfig:
    """Read, expand and validate the declaration file at ``path``."""
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read config {path}: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise ConfigError(f"config {path} is not valid JSON: {exc}") from exc
    return parse_config(raw, os.environ if env is None else env)


def parse_config(raw: Any, env: Mapping[str, str]) -> EventGridConfig:
    """Validate an already-decoded declaration (after ``${VAR}`` expansion)."""
    raw = expand(raw, env)
    if not isinstance(raw, dict) or not isinstance(raw.get("topics"), list):
        raise ConfigError('config must be an object with a "topics" array')
    topics = tuple(_topic(item, f"topics[{i}]") for i, item in enumerate(raw["topics"]))
    names = [t.name.lower() for t in topics]
    if len(set(names)) != len(names):
        raise ConfigError(f"topic names must be unique (case-insensitive): {names}")
    return EventGridConfig(topics)


def _topic(raw: Any, where: str) -> Topic:
    obj = _object(raw, where, {"name", "key", "inputSchema", "subscriptions"})
    name = _string(obj, "name", where)
    if not _TOPIC_NAME.match(name):
        raise ConfigError(f"{where}.name {name!r}: 3-50 letters, digits or hyphens")
    schema = obj.get("inputSchema", EVENT_GRID_SCHEMA)
    if schema not in SCHEMAS:
        raise ConfigError(f"{where}.inputSchema {schema!r}: expected one of {list(SCHEMAS)}")
    key = obj.get("key", DEFAULT_KEY)
    if not isinstance(key, str) or not key:
        raise ConfigError(f"{where}.key must be a non-empty string")
    subs_raw = obj.get("subscriptions", [])
    if not isinstance(subs_raw, list):
        raise ConfigError(f"{where}.subscriptions must be an array")
    subs = tuple(_subscription(s, f"{where}.subscriptions[{i}]", schema) for i, s in enumerate(subs_raw))
    sub_names = [s.name.lower() for s in subs]
    if len(set(sub_names)) != len(sub_names):
        raise ConfigError(f"{where}: subscription names must be unique (case-insensitive)")
    return Topic(name, key, schema, subs)


def _subscription(raw: Any, where: str, topic_schema: str) -> Subscription:
    known = {"name", "endpointUrl", "filter", "retryPolicy", "eventDeliverySchema"}
    obj = _object(raw, where, known)
    name = _string(obj, "name", where)
    if not _SUBSCRIPTION_NAME.match(name):
        raise ConfigError(f"{where}.name {name!r}: 3-64 letters, digits or hyphens")
    url = _string(obj, "endpointUrl", where)
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"{where}.endpointUrl {url!r}: must be an http:// or https:// URL")
    delivery_schema = obj.get("eventDeliverySchema", topic_schema)
    if delivery_schema != topic_schema:
        # Schema conversion on delivery is not emulated; refusing beats silently sending another shape.
        raise ConfigError(f"{where}.eventDeliverySchema {delivery_schema!r}: only the topic's input "
                          f"schema ({topic_schema}) is supported")
    return Subscription(name, url, _filter(obj.get("filter", {}), f"{where}.filter"),
                        _retry_policy(obj.get("retryPolicy", {}), f"{where}.retryPolicy"))


def _filter(raw: Any, where: str) -> SubscriptionFilter:
    known = {"includedEventTypes", "subjectBeginsWith", "subjectEndsWith", "isSubjectCaseSensitive",
             "advancedFilters", "enableAdvancedFilteringOnArrays"}
    obj = _object(raw, where, known)
    types = obj.get("includedEventTypes")
    if types is not None and (not isinstance(types, list) or not all(isinstance(t, str) for t in types)):
        raise ConfigError(f"{where}.includedEventTypes must be an array of strings")
    begins, ends = obj.get("subjectBeginsWith", ""), obj.get("subjectEndsWith", "")
    if not isinstance(begins, str) or not isinstance(ends, str):
        raise ConfigError(f"{where}.subjectBeginsWith/subjectEndsWith must be strings")
    advanced_raw = obj.get("advancedFilters", [])
    if not isinstance(advanced_raw, list) or len(advanced_raw) > _MAX_ADVANCED_FILTERS:
        raise ConfigError(f"{where}.advancedFilters must be an array of at most {_MAX_ADVANCED_FILTERS}")
    advanced: list[AdvancedFilter] = []
    for i, item in enumerate(advanced_raw):
        try:
            advanced.append(parse_advanced_filter(item))
        except ValueError as exc:
            raise ConfigError(f"{where}.advancedFilters[{i}]: {exc}") from exc
    # "All" is how ARM spells "every event type".
    included = None if types is None or [t.lower() for t in types] == ["all"] else tuple(types)
    return SubscriptionFilter(included, begins, ends, bool(obj.get("isSubjectCaseSensitive", False)),
                              tuple(advanced), bool(obj.get("enableAdvancedFilteringOnArrays", False)))


def _retry_policy(raw: Any, where: str) -> RetryPolicy:
    obj = _object(raw, where, {"maxDeliveryAttempts", "eventTimeToLiveInMinutes"})
    attempts = obj.get("maxDeliveryAttempts", 30)
    ttl = obj.get("eventTimeToLiveInMinutes", 1440)
    # ARM limits: 1-30 attempts, 1-1440 minutes.
    if not isinstance(attempts, int) or isinstance(attempts, bool) or not 1 <= attempts <= 30:
        raise ConfigError(f"{where}.maxDeliveryAttempts {attempts!r}: an integer from 1 to 30")
    if not isinstance(ttl, int) or isinstance(ttl, bool) or not 1 <= ttl <= 1440:
        raise ConfigError(f"{where}.eventTimeToLiveInMinutes {ttl!r}: an integer from 1 to 1440")
    return RetryPolicy(attempts, ttl)


def _object(raw: Any, where: str, known: set[str]) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be an object")
    unknown = sorted(set(raw) - known)
    if unknown:
        # Warn rather than fail: ARM templates carry properties devstack does not emulate.
        log.warning("%s: ignoring unsupported properties %s", where, unknown)
    return raw


def _string(obj: dict[str, Any], key: str, where: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}.{key} is required and must be a non-empty string")
    return value
