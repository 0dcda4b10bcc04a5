"""The waterfall: tree order, depth, offsets, and the gap at each hop between steps."""
from __future__ import annotations

from devstack.dashboard.core.spans import Span
from devstack.dashboard.core.timeline import waterfall

MS = 1_000_000


def span(span_id: str, parent: str, service: str, start_ms: float, end_ms: float, name: str = "") -> Span:
    return Span("t" * 32, span_id, parent, name or span_id, 1, int(start_ms * MS), int(end_ms * MS),
                attributes={"drone.service": service})


def test_rows_follow_the_tree_children_by_start_time() -> None:
    spans = [span("c2", "root", "package", 20, 30), span("root", "", "ingestion", 0, 10),
             span("c1", "root", "ingestion", 2, 4), span("g1", "c1", "delivery", 5, 6)]
    rows = waterfall(spans)
    assert [(row.span.span_id, row.depth) for row in rows] == [("root", 0), ("c1", 1), ("g1", 2), ("c2", 1)]
    assert [row.offset_ms for row in rows] == [0, 2, 5, 20]
    assert rows[3].duration_ms == 10


def test_a_hop_is_a_change_of_step_and_its_gap_is_the_wait_after_the_parent_ended() -> None:
    rows = {row.span.span_id: row for row in waterfall([
        span("send", "", "ingestion", 0, 3), span("consume", "send", "package", 12, 20),
        span("inner", "consume", "package", 13, 14)])}
    assert rows["consume"].hop_from == "ingestion" and rows["consume"].gap_ms == 9
    assert rows["inner"].hop_from is None and rows["inner"].gap_ms is None
    assert rows["send"].view()["hopFrom"] is None


def test_a_span_whose_parent_was_not_received_is_a_root() -> None:
    rows = waterfall([span("orphan", "missing", "delivery", 5, 6), span("root", "", "ingestion", 0, 1)])
    assert [(row.span.span_id, row.depth, row.hop_from) for row in rows] == [("root", 0, None), ("orphan", 0, None)]


def test_a_parent_cycle_in_bad_input_ends() -> None:
    rows = waterfall([span("a", "b", "x", 0, 1), span("b", "a", "x", 1, 2), span("r", "", "x", 0, 3)])
    assert [row.span.span_id for row in rows] == ["r"]


def test_no_spans_no_rows() -> None:
    assert waterfall([]) == []


def test_a_span_the_app_did_not_make_belongs_to_its_parents_step_and_is_no_hop() -> None:
    sdk = Span("t" * 32, "sdk", "consume", "ContainerProxy.read_item", 3, 13 * MS, 14 * MS, 2,
               resource_service="drone-delivery")
    rows = {row.span.span_id: row for row in waterfall([span("consume", "", "package", 12, 20), sdk])}
    assert rows["sdk"].service == "package" and rows["sdk"].hop_from is None
    assert rows["sdk"].view()["error"] is True
