"""A trace as a waterfall: spans in tree order, each offset from the trace's start, and the gap at each hop.

A span the app did not make (an Azure SDK call, no ``drone.service``) belongs to the step of its nearest ancestor
that names one. A *hop* is a span whose step differs from its parent's: a message or event crossing from one step to
the next. Its gap is the time between the parent's end (the send finished) and the child's start (the message was
picked up), i.e. the time spent in the broker or in Event Grid's queue.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from devstack.dashboard.core.spans import KIND_NAMES, Span


@dataclass(frozen=True)
class Row:
    """One bar of the waterfall."""

    span: Span
    service: str           # the span's step, inherited from its parent when the span names none
    depth: int
    offset_ms: float
    duration_ms: float
    hop_from: str | None   # the parent's service when this span is a hop, else None
    gap_ms: float | None   # parent end → this start, for a hop

    def view(self) -> dict[str, Any]:
        """JSON-ready form for the page."""
        span = self.span
        return {"spanId": span.span_id, "parentSpanId": span.parent_span_id, "name": span.name,
                "kind": KIND_NAMES.get(span.kind, str(span.kind)), "service": self.service,
                "depth": self.depth, "offsetMs": round(self.offset_ms, 3), "durationMs": round(self.duration_ms, 3),
                "hopFrom": self.hop_from, "gapMs": None if self.gap_ms is None else round(self.gap_ms, 3),
                "error": span.is_error, "statusMessage": span.status_message, "attributes": span.attributes}


def waterfall(spans: Sequence[Span]) -> list[Row]:
    """Depth-first rows, children by start time; spans whose parent is missing become roots."""
    if not spans:
        return []
    by_id = {span.span_id: span for span in spans}
    children: dict[str, list[Span]] = {}
    roots: list[Span] = []
    for span in spans:
        if span.parent_span_id and span.parent_span_id in by_id and span.parent_span_id != span.span_id:
            children.setdefault(span.parent_span_id, []).append(span)
        else:
            roots.append(span)
    origin = min(span.start_ns for span in spans)
    rows: list[Row] = []
    stack: list[tuple[Span, int, Row | None]] = [(root, 0, None) for root in sorted(roots, key=_start, reverse=True)]
    seen: set[str] = set()
    while stack:
        span, depth, parent = stack.pop()
        if span.span_id in seen:
            continue  # a cycle in malformed input must not loop forever
        seen.add(span.span_id)
        row = _row(span, depth, origin, parent)
        rows.append(row)
        stack += [(child, depth + 1, row)
                  for child in sorted(children.get(span.span_id, []), key=_start, reverse=True)]
    return rows


def _start(span: Span) -> int:
    return span.start_ns


def _row(span: Span, depth: int, origin: int, parent: Row | None) -> Row:
    service = span.step or (parent.service if parent is not None else span.service)
    hop = parent is not None and parent.service != service
    return Row(span, service, depth, (span.start_ns - origin) / 1e6, max(span.end_ns - span.start_ns, 0) / 1e6,
               parent.service if hop and parent else None,
               (span.start_ns - parent.span.end_ns) / 1e6 if hop and parent else None)
