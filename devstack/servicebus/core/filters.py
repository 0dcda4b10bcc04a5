"""Subscription rule filters: TrueFilter, CorrelationFilter and SQL filters.

Semantics follow "Topic filters and actions" (learn.microsoft.com/azure/service-bus-messaging/
topic-filters): a correlation filter matches when every field it sets equals the message's value
(Label is the subject); a message is copied to a subscription when any of its rules matches.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class MessageFacts:
    """What filters see of a message: broker system properties and application properties."""

    system: Mapping[str, Any]
    user: Mapping[str, Any]


class RuleFilter(Protocol):
    """Anything that decides whether a message goes to a subscription."""

    def matches(self, facts: MessageFacts) -> bool:
        """True when the message should be copied to the subscription."""
        ...


class TrueFilter:
    """The default rule (``1=1``): matches everything."""

    def matches(self, facts: MessageFacts) -> bool:
        """Always true."""
        return True


# Config.json CorrelationFilter field -> system property name used by SQL filters / MessageFacts.
_CORRELATION_FIELDS = {
    "ContentType": "ContentType", "CorrelationId": "CorrelationId", "Label": "Label",
    "MessageId": "MessageId", "ReplyTo": "ReplyTo", "ReplyToSessionId": "ReplyToSessionId",
    "SessionId": "SessionId", "To": "To",
}


@dataclass(frozen=True)
class CorrelationFilter:
    """Exact match on every system and user property the filter names."""

    system: Mapping[str, Any] = field(default_factory=dict)
    user: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_config(cls, node: Mapping[str, Any]) -> CorrelationFilter:
        """Build from a Config.json ``CorrelationFilter`` object."""
        unknown = set(node) - set(_CORRELATION_FIELDS) - {"Properties"}
        if unknown:
            raise ValueError(f"unknown CorrelationFilter fields: {sorted(unknown)}")
        system = {_CORRELATION_FIELDS[k]: v for k, v in node.items() if k != "Properties" and v is not None}
        return cls(system=system, user=dict(node.get("Properties") or {}))

    def matches(self, facts: MessageFacts) -> bool:
        """True when every named field is present and equal."""
        return all(facts.system.get(name) == expected for name, expected in self.system.items()) and \
            all(name in facts.user and facts.user[name] == expected for name, expected in self.user.items())


class SqlRuleFilter:
    """A ``FilterType: Sql`` rule, evaluated by the SQL filter engine (core/sql_filter/)."""

    def __init__(self, expression: str) -> None:
        # Imported here so a topology without SQL rules never depends on the engine.
        from devstack.servicebus.core.sql_filter import compile_sql_filter

        self.expression = expression
        self._compiled = compile_sql_filter(expression)

    def matches(self, facts: MessageFacts) -> bool:
        """Evaluate the expression against the message."""
        return bool(self._compiled.matches(facts.system, facts.user))
