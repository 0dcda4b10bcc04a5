"""Service Bus subscription SQL filters: compile once, match each message.

Follows "Subscription Rule SQL Filter Syntax"
(learn.microsoft.com/azure/service-bus-messaging/service-bus-messaging-sql-filter). Pipeline:
lexer (sql_filter.lexer) -> Pratt parser (sql_filter.parser) -> syntax tree (sql_filter.ast) ->
tree-walking evaluator (sql_filter.evaluator, sql_filter.values). See docs/servicebus-sql-filters.md.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from devstack.servicebus.core.sql_filter.ast import Predicate
from devstack.servicebus.core.sql_filter.errors import SqlFilterError
from devstack.servicebus.core.sql_filter.evaluator import Evaluator
from devstack.servicebus.core.sql_filter.parser import SYSTEM_PROPERTIES, parse
from devstack.servicebus.core.sql_filter.values import EvaluationError

__all__ = [
    "SYSTEM_PROPERTIES",
    "FilterOutcome",
    "SqlFilter",
    "SqlFilterError",
    "compile_sql_filter",
]

logger = logging.getLogger(__name__)

# SqlRuleFilter docs: "Max allowed length of sql expression is 1024 chars."
MAX_EXPRESSION_LENGTH = 1024


@dataclass(frozen=True)
class FilterOutcome:
    """Result of evaluating a filter: matched, and the runtime error if evaluation failed."""

    matched: bool
    error: str | None = None


class SqlFilter:
    """A compiled SQL filter; `matches` never raises."""

    def __init__(self, expression: str, tree: Predicate) -> None:
        self.expression = expression
        self._tree = tree

    def __repr__(self) -> str:
        return f"SqlFilter({self.expression!r})"

    def matches(self, system: Mapping[str, Any], user: Mapping[str, Any]) -> bool:
        """True only if the filter evaluates to TRUE (FALSE, UNKNOWN and errors do not match)."""
        return self.evaluate(system, user).matched

    def evaluate(self, system: Mapping[str, Any], user: Mapping[str, Any]) -> FilterOutcome:
        """Evaluate against one message, reporting a runtime error instead of raising it.

        Real Service Bus counts an evaluation error as a filter exception (a subscription may
        dead-letter such messages: DeadLetteringOnFilterEvaluationExceptions), so the broker may
        want the reason, not just "no match".
        """
        try:
            result = Evaluator(system, user).evaluate(self._tree)
        except EvaluationError as error:
            logger.debug("filter %r did not match: %s", self.expression, error)
            return FilterOutcome(False, str(error))
        except Exception as error:
            logger.warning("filter %r failed on a message: %r", self.expression, error)
            return FilterOutcome(False, f"{type(error).__name__}: {error}")
        return FilterOutcome(result is True)


def compile_sql_filter(expression: str) -> SqlFilter:
    """Parse and check a filter; raise SqlFilterError (with a position) if it is invalid."""
    if not isinstance(expression, str):
        raise SqlFilterError(f"a SQL filter must be a string, not {type(expression).__name__}")
    if len(expression) > MAX_EXPRESSION_LENGTH:
        raise SqlFilterError(
            f"the filter is {len(expression)} characters long, above the maximum of "
            f"{MAX_EXPRESSION_LENGTH}",
            MAX_EXPRESSION_LENGTH,
        )
    if not expression.strip():
        raise SqlFilterError("empty SQL filter expression", 0)
    return SqlFilter(expression, parse(expression))
