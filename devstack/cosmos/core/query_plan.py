"""The query plan the SDK asks for before running a query without a partition key or the cross-partition flag.

The emulator has one partition key range and runs the whole query on it, so the plan is pass-through
(no client-side ORDER BY, DISTINCT, TOP or OFFSET: the SDK only concatenates pages) — except for
``SELECT VALUE <aggregate>(...)``. There the plan declares the aggregate and rewrites the projection to
``[{"item": ...}]``, as the service does: the SDK's document producer treats a ``None`` result as "no
item" (azure/cosmos/_execution_context/document_producer.py ``peek``), so a bare ``null`` aggregate
would vanish, while the wrapped one reaches the SDK's aggregator (endpoint_component.py
``_QueryExecutionAggregateEndpointComponent``), which answers ``None`` as Azure does.
"""
from __future__ import annotations

import re
from typing import Any

from devstack.cosmos.query import Query, parse_query
from devstack.cosmos.query.nodes import Call

#: The SDK's names for aggregates (azure/cosmos/_execution_context/endpoint_component.py).
_AGGREGATES = {"COUNT": "Count", "SUM": "Sum", "MIN": "Min", "MAX": "Max", "AVG": "Average"}
_TRAILING_FROM = re.compile(r"\s*\bFROM\s*$", re.IGNORECASE)


def query_plan(text: str, full_range: dict[str, Any]) -> dict[str, Any]:
    """The ``partitionedQueryExecutionInfo`` for ``text`` over the single key range ``full_range``."""
    aggregates, rewritten = _value_aggregate(parse_query(text))
    return {
        "partitionedQueryExecutionInfoVersion": 2,
        "queryInfo": {"distinctType": "None", "top": None, "offset": None, "limit": None, "orderBy": [],
                      "orderByExpressions": [], "groupByExpressions": [], "groupByAliases": [],
                      "aggregates": aggregates, "groupByAliasToAggregateType": {}, "rewrittenQuery": rewritten,
                      "hasSelectValue": bool(aggregates), "hasNonStreamingOrderBy": False},
        "queryRanges": [full_range],
    }


def _value_aggregate(query: Query) -> tuple[list[str], str]:
    """``(["Min"], 'SELECT VALUE [{"item": MIN(c.n)}] FROM c ...')`` for a plain VALUE aggregate, else ``([], "")``."""
    call = query.select_value
    plain = not (query.distinct or query.top or query.group_by or query.order_by or query.offset or query.limit)
    if not (isinstance(call, Call) and call.name in _AGGREGATES and plain and query.source is not None):
        return [], ""
    text = query.text
    segment = text[call.pos:query.source.pos]  # "MIN(c.n) FROM "
    match = _TRAILING_FROM.search(segment)
    if match is None:
        return [], ""
    call_text = segment[:match.start()]
    if call.name == "AVG":  # the SDK averages {"sum", "count"} pairs (aggregators.py _AverageAggregator)
        argument = call_text[call_text.index("(") + 1:call_text.rindex(")")]
        call_text = f'{{"sum": SUM({argument}), "count": COUNT({argument})}}'
    rewritten = f'{text[:call.pos]}[{{"item": {call_text}}}]{text[call.pos + match.start():]}'
    return [_AGGREGATES[call.name]], rewritten
