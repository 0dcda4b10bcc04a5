"""The app's functions on in-memory fakes, installed for one test (a module may override ``deps`` with its own
Settings, as test_triggers_settle.py does)."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from adapters import bootstrap
from adapters.memory import ManualClock
from tests.unit.app.support import T0


@pytest.fixture()
def deps() -> Iterator[bootstrap.Dependencies]:
    installed = bootstrap.in_memory(clock=ManualClock(T0))
    bootstrap.install(installed)
    yield installed
    bootstrap.install(None)
