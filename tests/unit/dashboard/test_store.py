"""The SQLite span store: summaries built across batches, duplicates ignored, bounded to the newest spans."""
from __future__ import annotations

from pathlib import Path

from devstack.dashboard.core.spans import Span
from devstack.dashboard.store.spans import SpanStore

MS = 1_000_000


def span(trace: str, span_id: str, parent: str = "", service: str = "ingestion", start_ms: int = 0,
         end_ms: int = 1, delivery: str = "", error: bool = False) -> Span:
    attributes = {"drone.service": service, **({"delivery.id": delivery} if delivery else {})}
    return Span(trace, span_id, parent, f"op {span_id}", 1, start_ms * MS, end_ms * MS, 2 if error else 0, "",
                attributes)


def test_a_trace_summary_grows_with_each_batch(tmp_path: Path) -> None:
    store = SpanStore(tmp_path / "spans.sqlite3")
    assert store.add([span("a", "s2", "s1", "package", 10, 20, delivery="d-1")]) == 1
    first = store.summary("a")
    assert first is not None and first.delivery_id == "d-1" and first.root_name == "op s2"
    store.add([span("a", "s1", start_ms=0, end_ms=5), span("a", "s3", "s2", "notifications", 30, 40, error=True)])
    summary = store.summary("a")
    assert summary is not None
    assert (summary.root_name, summary.start_ns, summary.end_ns) == ("op s1", 0, 40 * MS)
    assert (summary.span_count, summary.error_count) == (3, 1)
    assert summary.services == ("package", "ingestion", "notifications")
    assert summary.last_service == "notifications"
    assert [s.span_id for s in store.spans("a")] == ["s1", "s2", "s3"]
    store.close()


def test_a_resent_span_is_stored_once(tmp_path: Path) -> None:
    store = SpanStore(tmp_path / "spans.sqlite3")
    batch = [span("a", "s1", delivery="d"), span("a", "s2", "s1")]
    assert store.add(batch) == 2
    assert store.add(batch) == 0
    assert store.span_count() == 2 and store.summary("a").span_count == 2  # type: ignore[union-attr]


def test_only_the_newest_spans_are_kept(tmp_path: Path) -> None:
    store = SpanStore(tmp_path / "spans.sqlite3", max_spans=5)
    for n in range(4):
        store.add([span(f"t{n}", "s1", delivery=f"d{n}", start_ms=n), span(f"t{n}", "s2", "s1", start_ms=n)])
    assert store.span_count() == 5
    assert store.spans("t0") == [] and store.summary("t0") is None
    assert [t.trace_id for t in store.recent()] == ["t3", "t2", "t1"]


def test_recent_lists_deliveries_newest_first_and_filters() -> None:
    store = SpanStore(":memory:")
    store.add([span("old", "a", delivery="d-1", start_ms=1), span("new", "b", delivery="d-2", start_ms=2),
               span("timer", "c", start_ms=3)])
    assert [t.trace_id for t in store.recent()] == ["new", "old"]
    assert [t.trace_id for t in store.recent(deliveries_only=False)] == ["timer", "new", "old"]
    assert [t.trace_id for t in store.recent(delivery_id="d-1")] == ["old"]
    assert [t.trace_id for t in store.recent(limit=1)] == ["new"]


def test_spans_survive_a_reopen(tmp_path: Path) -> None:
    store = SpanStore(tmp_path / "spans.sqlite3")
    store.add([span("a", "s1", delivery="d", end_ms=3)])
    store.close()
    again = SpanStore(tmp_path / "spans.sqlite3")
    assert again.spans("a")[0].attributes == {"drone.service": "ingestion", "delivery.id": "d"}
    again.close()


def test_only_the_apps_own_errors_fail_a_delivery_and_only_its_steps_are_listed() -> None:
    store = SpanStore(":memory:")
    sdk_404 = Span("a", "sdk", "s1", "ContainerProxy.read_item", 3, 2 * MS, 3 * MS, 2, "NotFound", {},
                   "drone-delivery")
    store.add([span("a", "s1", delivery="d", end_ms=5), sdk_404])
    summary = store.summary("a")
    assert summary is not None and summary.error_count == 0
    assert summary.services == ("ingestion",) and summary.last_service == "ingestion"
    store.add([span("a", "s2", "s1", "delivery", 6, 7, error=True)])
    assert store.summary("a").error_count == 1  # type: ignore[union-attr]
