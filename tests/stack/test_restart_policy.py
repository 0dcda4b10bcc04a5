"""The restart back-off on its own (no processes): 1 s doubling to 30 s, reset after a stable run."""
from __future__ import annotations

import pytest

from devstack.stack.restarts import Backoff, RestartPolicy


def test_delays_double_up_to_the_maximum_while_the_child_keeps_crashing() -> None:
    backoff = Backoff(RestartPolicy())
    assert [backoff.after_exit(uptime=0.5) for _ in range(8)] == [1, 2, 4, 8, 16, 30, 30, 30]


def test_a_run_that_stayed_up_long_enough_starts_the_back_off_again() -> None:
    backoff = Backoff(RestartPolicy(stable_after=60))
    for _ in range(5):
        backoff.after_exit(uptime=1)
    assert backoff.after_exit(uptime=59) == 30
    assert backoff.after_exit(uptime=60) == 1
    assert backoff.after_exit(uptime=0) == 2


def test_each_service_has_its_own_back_off() -> None:
    policy = RestartPolicy(initial=0.5, maximum=4)
    crashing, other = Backoff(policy), Backoff(policy)
    assert [crashing.after_exit(0) for _ in range(5)] == [0.5, 1, 2, 4, 4]
    assert other.after_exit(0) == 0.5


@pytest.mark.parametrize("initial, maximum", [(0, 30), (-1, 30), (31, 30)])
def test_nonsense_delays_are_refused(initial: float, maximum: float) -> None:
    with pytest.raises(ValueError, match="0 < initial <= maximum"):
        RestartPolicy(initial=initial, maximum=maximum)
