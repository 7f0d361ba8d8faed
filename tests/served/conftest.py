"""Fixtures of the served-stack suite: one served product with both emulators for the package,
one Chromium per module; a walk's steps run in file order and share what earlier steps made.

A step (a test marked ``walk_step``) that fails stops the walk: the steps after it are skipped,
naming the step that broke, instead of failing for a reason that is not theirs. The tests of
single defects (issue 13) are not steps: they check without stopping the walk (nor do ``xfail``
tests, should one be needed).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

# The module-scoped Chromium of the browser tests, as the fixture ``chromium``.
from tests.e2e.conftest import browser as chromium  # noqa: F401
from tests.served.harness import ServedStack
from tests.served.receiver import Receiver
from tests.served.walker import Trail, Visits, Walk

os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")

SUPER_ADMIN = "root"
PASSWORD = "Served-walk-2025!"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "walk_step: a step of the served walk (later steps need it)")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if (
        report.failed
        and item.get_closest_marker("walk_step") is not None
        and item.get_closest_marker("xfail") is None
    ):
        vars(getattr(item, "module", None)).setdefault("_walk_broken", item.name)


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("walk_step") is not None:
        broken = getattr(getattr(item, "module", None), "_walk_broken", None)
        if broken:
            pytest.skip(f"the walk stopped at {broken}")


@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedStack]:
    served = ServedStack(tmp_path_factory.mktemp("served"))
    try:
        served.start_emulators()
        served.start_serve()
        # The schema exists once ``serve`` answers (it migrates first).
        served.sfacal("createadmin", SUPER_ADMIN, "--password", PASSWORD)
        yield served
    finally:
        served.stop()


@pytest.fixture(scope="package")
def trail() -> Trail:
    return Trail()


@pytest.fixture(scope="package")
def visits(trail: Trail) -> Visits:
    return trail.visits


@pytest.fixture(scope="module")
def walk(
    chromium: Any,  # noqa: F811
    stack: ServedStack,
    trail: Trail,
) -> Iterator[Walk]:
    done = Walk(chromium, stack, trail)
    yield done
    done.close()


@pytest.fixture(scope="package")
def receiver() -> Iterator[Receiver]:
    """The SFA's receiver of push write-backs (outside the product)."""
    r = Receiver()
    yield r
    r.close()


@pytest.fixture(scope="package")
def http(stack: ServedStack, visits: Visits) -> Iterator[httpx.Client]:
    """Plain HTTP to the served product (machine APIs), every answer recorded as visited."""

    def record(response: httpx.Response) -> None:
        visits.add(response.request.method, str(response.request.url))

    with httpx.Client(
        base_url=stack.web_url, timeout=30, trust_env=False, event_hooks={"response": [record]}
    ) as client:
        yield client
