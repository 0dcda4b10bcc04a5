"""Deliveries survive kill -9 and outages of the host, the broker, Cosmos DB and Event Grid: every invariant
of the choreography holds, checked from the services' own data (tests/support/faults.py).

One fresh stack per scenario: invariant 4 ("nothing left held") is stack-wide, so a scenario that breaks
must not fail the next one too, and a stack starts in ~2 s here — cheap next to a scenario's ~45 s.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.faults import Budget, Load, Scenario, fault_stack, render, run_scenario

# ≥ 100 deliveries, 8 clients, 30 % cancelled: ~45 s per scenario on the 2-core box, the file within ~4 min.
LOAD = Load(deliveries=100, clients=8, cancel_fraction=0.3)
# Generous next to a healthy run's ~20 s of settling. The stall must outlast the host's relay and
# waiting-list timers (5 s) and a session timer delivered late (seen: ~50 s): a stuck run stops after 45 s.
BUDGET = Budget(settle=120.0, stall=45.0)
SCENARIOS = ["eventgrid-down:8", "host-kill:2", "broker-kill:1", "cosmos-kill:1"]


@pytest.mark.timeout(240)
@pytest.mark.parametrize("spec", SCENARIOS)
def test_invariants_hold_through_faults(spec: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with fault_stack(tmp_path / "stack", LOAD) as stack:
        result = run_scenario(stack, Scenario.parse(spec), LOAD, BUDGET)
        log_tail = "" if result.ok else stack.log_tail(60)
    with capsys.disabled():  # the table row is the point of this test: show it in `make test` too
        print("\n" + render([result]))
    assert result.accepted == LOAD.deliveries, f"not every POST was accepted: {result.refused}"
    assert result.ok, f"{result.failure_report()}\n--- stack log (tail) ---\n{log_tail}"
