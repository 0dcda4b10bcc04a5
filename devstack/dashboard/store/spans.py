"""SQLite span store: every span received, plus one summary row per trace, bounded to the newest ``max_spans``.

Exporters retry a batch they think failed (https://opentelemetry.io/docs/specs/otlp/#retrying), so a span already
stored (same trace and span id) is ignored rather than counted twice.
"""
from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from devstack.dashboard.core.deliveries import TraceSummary
from devstack.dashboard.core.spans import Span

DEFAULT_MAX_SPANS = 200_000

SCHEMA = """
CREATE TABLE IF NOT EXISTS spans (
    id INTEGER PRIMARY KEY,
    trace_id TEXT NOT NULL,
    span_id TEXT NOT NULL,
    parent_span_id TEXT NOT NULL,
    name TEXT NOT NULL,
    kind INTEGER NOT NULL,
    start_ns INTEGER NOT NULL,
    end_ns INTEGER NOT NULL,
    status_code INTEGER NOT NULL,
    status_message TEXT NOT NULL,
    attributes_json TEXT NOT NULL,
    resource_service TEXT NOT NULL,
    UNIQUE (trace_id, span_id)
);
CREATE TABLE IF NOT EXISTS traces (
    trace_id TEXT PRIMARY KEY,
    delivery_id TEXT NOT NULL,
    root_name TEXT NOT NULL,
    start_ns INTEGER NOT NULL,
    end_ns INTEGER NOT NULL,
    span_count INTEGER NOT NULL,
    error_count INTEGER NOT NULL,
    services_json TEXT NOT NULL,
    last_service TEXT NOT NULL,
    last_span_row INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS traces_recent ON traces (start_ns);
CREATE INDEX IF NOT EXISTS traces_delivery ON traces (delivery_id);
"""

_SPAN_COLUMNS = ("trace_id, span_id, parent_span_id, name, kind, start_ns, end_ns, status_code, status_message, "
                 "attributes_json, resource_service")
_TRACE_COLUMNS = ("trace_id, delivery_id, root_name, start_ns, end_ns, span_count, error_count, services_json, "
                  "last_service")


class SpanStore:
    """Spans and per-trace summaries in one SQLite file (or ``:memory:``)."""

    def __init__(self, path: Path | str, max_spans: int = DEFAULT_MAX_SPANS) -> None:
        self.max_spans = max_spans
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    def add(self, spans: Sequence[Span]) -> int:
        """Store new spans (duplicates ignored), update their traces' summaries, prune; returns how many were new."""
        with self._lock:
            self._db.execute("BEGIN")
            try:
                added = [(self._insert(span), span) for span in spans]
                fresh = [(row, span) for row, span in added if row is not None]
                for trace_id in dict.fromkeys(span.trace_id for _, span in fresh):
                    self._summarise(trace_id, [(row, span) for row, span in fresh if span.trace_id == trace_id])
                self._prune()
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return len(fresh)

    def _insert(self, span: Span) -> int | None:
        cursor = self._db.execute(
            f"INSERT OR IGNORE INTO spans ({_SPAN_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (span.trace_id, span.span_id, span.parent_span_id, span.name, span.kind, span.start_ns, span.end_ns,
             span.status_code, span.status_message, json.dumps(span.attributes, default=str), span.resource_service))
        return cursor.lastrowid if cursor.rowcount == 1 else None

    def _summarise(self, trace_id: str, added: list[tuple[int, Span]]) -> None:
        old = self.summary(trace_id)
        spans = [span for _, span in added]
        services = list(old.services) if old else []
        steps = [span.step for span in sorted(spans, key=_start) if span.step]
        services += [s for s in dict.fromkeys(steps) if s not in services]
        roots = [span.name for span in spans if not span.parent_span_id]
        end = max([span.end_ns for span in spans] + ([old.end_ns] if old else []))
        latest = max((span for span in spans if span.step), key=lambda span: span.end_ns, default=None)
        last = old.last_service if old else ""
        if latest is not None and (not old or latest.end_ns >= old.end_ns or not last):
            last = latest.service
        delivery = (old.delivery_id if old else "") or next((s.delivery_id for s in spans if s.delivery_id), "")
        self._db.execute(
            f"INSERT OR REPLACE INTO traces ({_TRACE_COLUMNS}, last_span_row) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (trace_id, delivery, roots[0] if roots else (old.root_name if old else min(spans, key=_start).name),
             min([span.start_ns for span in spans] + ([old.start_ns] if old else [])), end,
             (old.span_count if old else 0) + len(spans),
             (old.error_count if old else 0) + sum(span.marks_failure for span in spans), json.dumps(services),
             last, max(row for row, _ in added)))

    def _prune(self) -> None:
        # Rows are only ever deleted from the oldest end, so ids stay contiguous and max(id) - cap is the cut-off.
        (newest,) = self._db.execute("SELECT coalesce(max(id), 0) FROM spans").fetchone()
        cutoff = newest - self.max_spans
        if cutoff > 0:
            self._db.execute("DELETE FROM spans WHERE id <= ?", (cutoff,))
            self._db.execute("DELETE FROM traces WHERE last_span_row <= ?", (cutoff,))

    def span_count(self) -> int:
        """Spans stored now."""
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM spans").fetchone()[0])

    def summary(self, trace_id: str) -> TraceSummary | None:
        """One trace's summary, or None."""
        row = self._db.execute(f"SELECT {_TRACE_COLUMNS} FROM traces WHERE trace_id = ?", (trace_id,)).fetchone()
        return _summary(row) if row else None

    def recent(self, limit: int = 50, deliveries_only: bool = True, delivery_id: str = "") -> list[TraceSummary]:
        """The newest traces first (only those naming a delivery, unless asked otherwise)."""
        where, params = ["1 = 1"], []
        if deliveries_only:
            where.append("delivery_id != ''")
        if delivery_id:
            where.append("delivery_id = ?")
            params.append(delivery_id)
        with self._lock:
            rows = self._db.execute(f"SELECT {_TRACE_COLUMNS} FROM traces WHERE {' AND '.join(where)} "
                                    "ORDER BY start_ns DESC LIMIT ?", (*params, limit)).fetchall()
        return [_summary(row) for row in rows]

    def spans(self, trace_id: str) -> list[Span]:
        """Every stored span of one trace, by start time."""
        with self._lock:
            rows = self._db.execute(f"SELECT {_SPAN_COLUMNS} FROM spans WHERE trace_id = ? ORDER BY start_ns",
                                    (trace_id,)).fetchall()
        return [_span(row) for row in rows]


def _start(span: Span) -> int:
    return span.start_ns


def _summary(row: Iterable[Any]) -> TraceSummary:
    trace_id, delivery, root, start, end, count, errors, services, last = row
    return TraceSummary(trace_id, delivery, root, start, end, count, errors, tuple(json.loads(services)), last)


def _span(row: Iterable[Any]) -> Span:
    trace_id, span_id, parent, name, kind, start, end, code, message, attributes, resource = row
    return Span(trace_id, span_id, parent, name, kind, start, end, code, message, json.loads(attributes), resource)
