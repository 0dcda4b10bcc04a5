"""One real stack (Service Bus, Cosmos DB, Event Grid, Functions host running this app) per session."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.api import Api
from tests.support.stack import RunningStack, running_stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    with running_stack(tmp_path_factory.mktemp("e2e-stack")) as started:
        yield started


@pytest.fixture(scope="session")
def api(stack: RunningStack) -> Api:
    return Api(stack.base_url)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    """On failure, attach the end of the merged stack log: the cause is usually there."""
    outcome = yield
    report = outcome.get_result()
    stack_fixture = item.funcargs.get("stack") if hasattr(item, "funcargs") else None
    if report.failed and isinstance(stack_fixture, RunningStack):
        report.sections.append(("stack log (tail)", stack_fixture.log_tail(120)))
