"""What the saga router routes by: the Service Bus topology of resources/Config.json (the official emulator's
format) and, from the app's own binding metadata, which function handles which entity.

Entity paths: a queue is its name, a subscription is ``{topic}/{subscription}``, and a dead-letter queue is
``{entity}/$deadletterqueue`` — the same names the app's trigger bindings use. Service Bus names are
case-insensitive, so paths are compared lower-cased.
"""
from __future__ import annotations

import inspect
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from contracts.names import DEAD_LETTER_SUFFIX

ROOT = Path(__file__).resolve().parents[2]
CONFIG_JSON = ROOT / "resources" / "Config.json"
HOST_JSON = ROOT / "host.json"
DEFAULT_MAX_DELIVERY_COUNT = 10  # Azure's default when Config.json leaves it out (Service Bus quotas)
DEFAULT_LOCK_SECONDS = 60.0


class TopologyError(Exception):
    """Config.json or the app's bindings ask for something the router does not (or the broker would not) do."""


@dataclass(frozen=True)
class Facts:
    """What a subscription rule sees of a message: broker properties (by their SQL-filter names) and user ones."""

    system: Mapping[str, Any]
    user: Mapping[str, Any]


@dataclass(frozen=True)
class Rule:
    """One subscription rule: every ``system`` and ``user`` property it names must equal the message's."""

    name: str
    system: Mapping[str, Any] = field(default_factory=dict)
    user: Mapping[str, Any] = field(default_factory=dict)

    def matches(self, facts: Facts) -> bool:
        """A correlation filter (and our SQL subset) is a conjunction of equalities; the default rule has none."""
        return all(facts.system.get(k) == v for k, v in self.system.items()) and \
            all(k in facts.user and facts.user[k] == v for k, v in self.user.items())


@dataclass(frozen=True)
class Entity:
    """A queue, a subscription or a dead-letter queue: what a receiver reads from."""

    path: str
    max_delivery_count: int | None = DEFAULT_MAX_DELIVERY_COUNT  # None: a dead-letter queue never moves messages on
    requires_session: bool = False
    forward_to: str | None = None
    lock_seconds: float = DEFAULT_LOCK_SECONDS
    ttl_seconds: float | None = None
    dead_letter_on_expiry: bool = False
    rules: tuple[Rule, ...] = ()


@dataclass
class Topology:
    """Queues, topics and their subscriptions, as Config.json declares them."""

    queues: dict[str, Entity] = field(default_factory=dict)
    subscriptions: dict[str, list[Entity]] = field(default_factory=dict)  # topic -> its subscriptions

    def entity(self, path: str) -> Entity:
        """The receivable entity at ``path`` (a dead-letter queue included)."""
        key = normalize(path)
        if key.endswith("/" + DEAD_LETTER_SUFFIX):
            self.entity(key[: -len(DEAD_LETTER_SUFFIX) - 1])
            # Dead-letter queues are not session-aware, keep messages until received, and never forward.
            return Entity(path=key, max_delivery_count=None)
        found = self.queues.get(key) or next(
            (s for subs in self.subscriptions.values() for s in subs if s.path == key), None)
        if found is None:
            raise TopologyError(f"no queue or subscription {path!r} in Config.json")
        return found

    def targets(self, path: str, facts: Facts) -> list[Entity]:
        """Where a message sent to ``path`` lands: the queue, or each subscription of the topic with a matching rule."""
        key = normalize(path)
        if key in self.queues:
            return [self.queues[key]]
        if key in self.subscriptions:
            # A message is copied to a subscription when any of its rules matches (docs: "Topic filters").
            return [s for s in self.subscriptions[key] if any(rule.matches(facts) for rule in s.rules)]
        raise TopologyError(f"no queue or topic {path!r} in Config.json (the broker would refuse the send)")

    def receivables(self) -> list[Entity]:
        """Every queue and subscription, in declaration order."""
        return list(self.queues.values()) + [s for subs in self.subscriptions.values() for s in subs]


def normalize(path: str) -> str:
    """Lower-case, and accept the SDK's ``topic/Subscriptions/sub`` spelling too."""
    return re.sub(r"/subscriptions/", "/", path.strip().lower())


def dead_letter_path(path: str) -> str:
    """The dead-letter queue of an entity."""
    key = normalize(path)
    return key if key.endswith("/" + DEAD_LETTER_SUFFIX) else f"{key}/{DEAD_LETTER_SUFFIX}"


def load_topology(source: Path | Mapping[str, Any] = CONFIG_JSON) -> Topology:
    """Parse a Config.json (path or parsed document)."""
    document = source if isinstance(source, Mapping) else json.loads(Path(source).read_text())
    topology = Topology()
    for namespace in document["UserConfig"]["Namespaces"]:
        for queue in namespace.get("Queues") or []:
            entity = _entity(queue["Name"], queue.get("Properties") or {}, None)
            topology.queues[entity.path] = entity
        for topic in namespace.get("Topics") or []:
            name = normalize(topic["Name"])
            topic_ttl = _seconds((topic.get("Properties") or {}).get("DefaultMessageTimeToLive"))
            topology.subscriptions[name] = [
                _entity(f"{name}/{sub['Name']}", sub.get("Properties") or {}, topic_ttl,
                        tuple(_rule(r) for r in sub.get("Rules") or []) or (Rule("$Default"),))
                for sub in topic.get("Subscriptions") or []]
    for entity in topology.receivables():
        target = entity.forward_to
        if target and target not in topology.queues and target not in topology.subscriptions:
            raise TopologyError(f"{entity.path}: ForwardTo {entity.forward_to!r} is not a queue or topic")
    return topology


def _entity(path: str, props: Mapping[str, Any], topic_ttl: float | None, rules: tuple[Rule, ...] = ()) -> Entity:
    if props.get("ForwardDeadLetteredMessagesTo"):
        raise TopologyError(f"{path}: ForwardDeadLetteredMessagesTo is not supported by the saga router")
    ttls = [t for t in (topic_ttl, _seconds(props.get("DefaultMessageTimeToLive"))) if t is not None]
    return Entity(
        path=normalize(path), max_delivery_count=int(props.get("MaxDeliveryCount") or DEFAULT_MAX_DELIVERY_COUNT),
        requires_session=bool(props.get("RequiresSession")),
        forward_to=normalize(props["ForwardTo"]) if props.get("ForwardTo") else None,
        lock_seconds=_seconds(props.get("LockDuration")) or DEFAULT_LOCK_SECONDS,
        # A subscription's messages live no longer than the topic's TTL allows (the smaller one wins).
        ttl_seconds=min(ttls) if ttls else None,
        dead_letter_on_expiry=bool(props.get("DeadLetteringOnMessageExpiration")), rules=rules)


# Config.json CorrelationFilter fields -> the broker property names SQL filters use (sys.Label is the subject).
_CORRELATION = {"Label": "Label", "MessageId": "MessageId", "SessionId": "SessionId", "CorrelationId": "CorrelationId",
                "ContentType": "ContentType", "To": "To", "ReplyTo": "ReplyTo", "ReplyToSessionId": "ReplyToSessionId"}
# The SQL subset: `name = 'text'` (or a number) joined by AND; `sys.X` names a broker property, `user.x` or a
# bare name an application property. Anything else is refused loudly rather than guessed at.
_EQUALITY = re.compile(r"^\s*((?:sys\.|user\.)?[A-Za-z_][\w.-]*)\s*=\s*('(?:[^']|'')*'|-?\d+(?:\.\d+)?)\s*$")


def _rule(node: Mapping[str, Any]) -> Rule:
    name, props = node.get("Name") or "$Default", node.get("Properties") or {}
    kind = str(props.get("FilterType", "")).lower()
    if props.get("Action"):
        raise TopologyError(f"rule {name}: rule actions are not supported by the saga router")
    if kind == "correlation":
        fields = dict(props.get("CorrelationFilter") or {})
        user = dict(fields.pop("Properties", None) or {})
        unknown = set(fields) - set(_CORRELATION)
        if unknown:
            raise TopologyError(f"rule {name}: unknown CorrelationFilter fields {sorted(unknown)}")
        return Rule(name, {_CORRELATION[k]: v for k, v in fields.items() if v is not None}, user)
    if kind == "sql":
        return _sql_rule(name, str((props.get("SqlFilter") or {}).get("SqlExpression", "")))
    raise TopologyError(f"rule {name}: FilterType must be Correlation or Sql, got {props.get('FilterType')!r}")


def _sql_rule(name: str, expression: str) -> Rule:
    if expression.strip() == "1=1":
        return Rule(name)
    system: dict[str, Any] = {}
    user: dict[str, Any] = {}
    for term in re.split(r"\s+AND\s+", expression, flags=re.IGNORECASE):
        match = _EQUALITY.match(term)
        if not match:
            raise TopologyError(f"rule {name}: SQL filter {expression!r} is outside the router's subset "
                                "(`name = 'value'` terms joined by AND)")
        prop, raw = match.groups()
        value: Any = raw[1:-1].replace("''", "'") if raw.startswith("'") else float(raw) if "." in raw else int(raw)
        if prop.lower().startswith("sys."):
            system[prop[4:]] = value
        else:
            user[prop[5:] if prop.lower().startswith("user.") else prop] = value
    return Rule(name, system, user)


_DURATION = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$")


def _seconds(text: str | None) -> float | None:
    if not text:
        return None
    match = _DURATION.match(text.strip())
    if not match:
        raise TopologyError(f"not an ISO-8601 duration the router reads: {text!r}")
    days, hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
    return days * 86400 + hours * 3600 + minutes * 60 + seconds


@dataclass(frozen=True)
class Handler:
    """One function of the app, as the host indexed it: its trigger, output bindings and the Python callable."""

    name: str
    trigger: Mapping[str, Any]
    outputs: tuple[Mapping[str, Any], ...]
    call: Any

    @property
    def arg_names(self) -> list[str]:
        """The user function's parameters (the host binds by name)."""
        return list(inspect.signature(self.call).parameters)


@dataclass
class Catalog:
    """The app's functions grouped by trigger kind; Service Bus ones by the entity path they listen on."""

    service_bus: dict[str, Handler] = field(default_factory=dict)
    event_grid: list[Handler] = field(default_factory=list)
    timers: list[Handler] = field(default_factory=list)
    http: list[Handler] = field(default_factory=list)


def catalog(functions: Iterable[Any], topology: Topology) -> Catalog:
    """Index ``app.get_functions()`` by trigger, checking each Service Bus trigger against Config.json."""
    found = Catalog()
    for function in functions:
        trigger = function.get_trigger().get_dict_repr()
        outputs = tuple(b.get_dict_repr() for b in function.get_bindings()
                        if getattr(b.get_dict_repr()["direction"], "name", "") == "OUT")
        handler = Handler(function.get_function_name(), trigger, outputs, function.get_user_function())
        kind = trigger["type"]
        if kind == "serviceBusTrigger":
            path = normalize(trigger.get("queueName") or f"{trigger['topicName']}/{trigger['subscriptionName']}")
            entity = topology.entity(path)
            if bool(trigger.get("isSessionsEnabled")) != entity.requires_session:
                # The host would fail to start this listener (a session receiver on a non-session entity or vice versa).
                raise TopologyError(f"{handler.name}: isSessionsEnabled={trigger.get('isSessionsEnabled')} but "
                                    f"{path} RequiresSession={entity.requires_session}")
            if path in found.service_bus:
                raise TopologyError(f"{handler.name} and {found.service_bus[path].name} both listen on {path}")
            found.service_bus[path] = handler
        elif kind == "eventGridTrigger":
            found.event_grid.append(handler)
        elif kind == "timerTrigger":
            found.timers.append(handler)
        elif kind == "httpTrigger":
            found.http.append(handler)
        else:
            raise TopologyError(f"{handler.name}: trigger type {kind!r} is not routed by the saga router")
    return found


def route_prefix(host_json: Path = HOST_JSON) -> str:
    """host.json's extensions.http.routePrefix ('api' when absent, the Functions default)."""
    if not host_json.exists():
        return "api"
    return str(json.loads(host_json.read_text()).get("extensions", {}).get("http", {}).get("routePrefix", "api"))


def event_type_filters(eventgrid_json: Path = ROOT / "resources" / "eventgrid.json") -> dict[str, frozenset[str]]:
    """functionName -> includedEventTypes, from the Event Grid subscriptions whose webhook names a function."""
    if not eventgrid_json.exists():
        return {}
    filters: dict[str, frozenset[str]] = {}
    for topic in json.loads(eventgrid_json.read_text()).get("topics", []):
        for sub in topic.get("subscriptions", []):
            match = re.search(r"[?&]functionName=([^&]+)", sub.get("endpointUrl", ""))
            included = (sub.get("filter") or {}).get("includedEventTypes")
            if match and included:
                filters[match.group(1)] = frozenset(included)
    return filters
