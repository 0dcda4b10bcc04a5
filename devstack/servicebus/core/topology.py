"""Parse the official Service Bus emulator's Config.json into entity settings.

Format: https://learn.microsoft.com/azure/service-bus-messaging/overview-emulator (Config.json):
``UserConfig.Namespaces[].Queues[]/Topics[].Subscriptions[].Rules[]``, durations in ISO-8601.
Names are case-insensitive on Service Bus, so every lookup key is lower-cased.
"""
from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devstack.servicebus.core.errors import TopologyError
from devstack.servicebus.core.filters import CorrelationFilter, RuleFilter, SqlRuleFilter, TrueFilter

# Azure defaults (docs: Service Bus quotas / queue properties).
DEFAULT_LOCK_SECONDS = 60.0
MAX_LOCK_SECONDS = 300.0
DEFAULT_MAX_DELIVERY_COUNT = 10
DEFAULT_DUP_WINDOW_SECONDS = 600.0

_DURATION = re.compile(
    r"^P(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)


def parse_duration(text: str) -> float:
    """Seconds in an ISO-8601 duration such as ``PT1M`` or ``P14D``."""
    match = _DURATION.match(text.strip()) if isinstance(text, str) else None
    if not match or text.strip() in ("P", "PT"):
        raise TopologyError(f"not an ISO-8601 duration: {text!r}")
    parts = {k: float(v) for k, v in match.groupdict().items() if v}
    return (parts.get("weeks", 0) * 604800 + parts.get("days", 0) * 86400
            + parts.get("hours", 0) * 3600 + parts.get("minutes", 0) * 60 + parts.get("seconds", 0))


@dataclass(frozen=True)
class Rule:
    """A named subscription rule."""

    name: str
    filter: RuleFilter


@dataclass
class EntitySettings:
    """Settings of a queue or a subscription (anything a receiver reads from)."""

    path: str
    lock_duration: float = DEFAULT_LOCK_SECONDS
    max_delivery_count: int = DEFAULT_MAX_DELIVERY_COUNT
    default_ttl: float | None = None
    dead_letter_on_expiry: bool = False
    requires_session: bool = False
    forward_to: str | None = None
    forward_dead_letters_to: str | None = None
    requires_duplicate_detection: bool = False
    duplicate_window: float = DEFAULT_DUP_WINDOW_SECONDS
    rules: list[Rule] = field(default_factory=list)


@dataclass
class TopicSettings:
    """Settings of a topic and its subscriptions."""

    path: str
    default_ttl: float | None = None
    requires_duplicate_detection: bool = False
    duplicate_window: float = DEFAULT_DUP_WINDOW_SECONDS
    subscriptions: list[EntitySettings] = field(default_factory=list)


@dataclass
class Topology:
    """Every entity the broker serves."""

    queues: dict[str, EntitySettings] = field(default_factory=dict)
    topics: dict[str, TopicSettings] = field(default_factory=dict)


def load_topology(source: Path | str | Mapping[str, Any]) -> Topology:
    """Read a Config.json (path or already-parsed dict)."""
    if isinstance(source, Mapping):
        document: Any = source
    else:
        try:
            document = json.loads(Path(source).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise TopologyError(f"cannot read topology {source}: {exc}") from exc
    namespaces = _get(document, "UserConfig", dict).get("Namespaces", [])
    topology = Topology()
    for namespace in namespaces:
        for queue in namespace.get("Queues", []) or []:
            settings = _entity(_name(queue), queue.get("Properties") or {})
            topology.queues[settings.path.lower()] = settings
        for topic in namespace.get("Topics", []) or []:
            parsed = _topic(topic)
            topology.topics[parsed.path.lower()] = parsed
    _check_forwarding(topology)
    return topology


def _get(document: Any, key: str, kind: type) -> Any:
    value = document.get(key) if isinstance(document, Mapping) else None
    if not isinstance(value, kind):
        raise TopologyError(f"topology needs {key!r} ({kind.__name__})")
    return value


def _name(node: Mapping[str, Any]) -> str:
    name = node.get("Name")
    if not isinstance(name, str) or not name.strip():
        raise TopologyError(f"entity without a Name: {node!r}")
    return name.strip()


def _entity(path: str, props: Mapping[str, Any]) -> EntitySettings:
    lock = parse_duration(props["LockDuration"]) if props.get("LockDuration") else DEFAULT_LOCK_SECONDS
    if not 0 < lock <= MAX_LOCK_SECONDS:
        raise TopologyError(f"{path}: LockDuration must be in (0, 5 min], got {props['LockDuration']}")
    return EntitySettings(
        path=path,
        lock_duration=lock,
        max_delivery_count=int(props.get("MaxDeliveryCount") or DEFAULT_MAX_DELIVERY_COUNT),
        default_ttl=_optional_duration(props.get("DefaultMessageTimeToLive")),
        dead_letter_on_expiry=bool(props.get("DeadLetteringOnMessageExpiration", False)),
        requires_session=bool(props.get("RequiresSession", False)),
        forward_to=(props.get("ForwardTo") or None),
        forward_dead_letters_to=(props.get("ForwardDeadLetteredMessagesTo") or None),
        requires_duplicate_detection=bool(props.get("RequiresDuplicateDetection", False)),
        duplicate_window=_optional_duration(props.get("DuplicateDetectionHistoryTimeWindow"))
        or DEFAULT_DUP_WINDOW_SECONDS,
    )


def _optional_duration(value: Any) -> float | None:
    return parse_duration(value) if value else None


def _topic(node: Mapping[str, Any]) -> TopicSettings:
    path = _name(node)
    props = node.get("Properties") or {}
    topic = TopicSettings(
        path=path,
        default_ttl=_optional_duration(props.get("DefaultMessageTimeToLive")),
        requires_duplicate_detection=bool(props.get("RequiresDuplicateDetection", False)),
        duplicate_window=_optional_duration(props.get("DuplicateDetectionHistoryTimeWindow"))
        or DEFAULT_DUP_WINDOW_SECONDS,
    )
    for sub in node.get("Subscriptions", []) or []:
        settings = _entity(f"{path}/Subscriptions/{_name(sub)}", sub.get("Properties") or {})
        settings.rules = [_rule(settings.path, rule) for rule in sub.get("Rules", []) or []]
        if not settings.rules:
            # A subscription created without rules gets the default TrueFilter rule ($Default).
            settings.rules = [Rule("$Default", TrueFilter())]
        topic.subscriptions.append(settings)
    return topic


def _rule(where: str, node: Mapping[str, Any]) -> Rule:
    name = node.get("Name") or "$Default"
    props = node.get("Properties") or {}
    kind = str(props.get("FilterType", "")).lower()
    if props.get("Action"):
        raise TopologyError(f"{where} rule {name}: rule actions are not supported by devstack")
    if kind == "correlation":
        return Rule(name, CorrelationFilter.from_config(props.get("CorrelationFilter") or {}))
    if kind == "sql":
        expression = (props.get("SqlFilter") or {}).get("SqlExpression")
        if not isinstance(expression, str):
            raise TopologyError(f"{where} rule {name}: SqlFilter.SqlExpression is required")
        try:
            return Rule(name, SqlRuleFilter(expression))
        except ValueError as exc:
            raise TopologyError(f"{where} rule {name}: {exc}") from exc
    raise TopologyError(f"{where} rule {name}: FilterType must be Correlation or Sql")


def _check_forwarding(topology: Topology) -> None:
    receivables = list(topology.queues.values()) + [
        s for t in topology.topics.values() for s in t.subscriptions]
    for entity in receivables:
        for target in (entity.forward_to, entity.forward_dead_letters_to):
            # Auto-forwarding targets a queue or topic in the same namespace (docs: auto-forwarding).
            if target and target.lower() not in topology.queues and target.lower() not in topology.topics:
                raise TopologyError(f"{entity.path}: forwarding target {target!r} is not a queue or topic")
