"""The one hook between a saved employee and the engine (sfacal.directory.employees.changes)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from sfacal.directory.employees import changes
from sfacal.engine import sync


@pytest.fixture
def isolated() -> Iterator[list[Any]]:
    saved = list(changes._listeners)
    changes._listeners.clear()
    try:
        yield changes._listeners
    finally:
        changes._listeners[:] = saved


def test_the_engine_listens_once_the_apps_are_ready() -> None:
    assert sync.on_employee_settings_changed in changes._listeners


def test_listeners_are_called_in_order_and_their_work_answered_together(isolated: list[Any]) -> None:
    calls: list[tuple[str, Any, Any]] = []

    def first(employee: Any, before: Any, *, now: Any = None) -> list[str]:
        calls.append(("first", employee, before))
        return ["backfill"]

    def second(employee: Any, before: Any, *, now: Any = None) -> list[str]:
        calls.append(("second", employee, before))
        return ["replan"]

    changes.subscribe(first)
    changes.subscribe(second)
    changes.subscribe(first)  # a second subscription changes nothing
    assert changes.settings_changed("emp", {"state": "off"}) == {"backfill", "replan"}  # type: ignore[arg-type]
    assert calls == [("first", "emp", {"state": "off"}), ("second", "emp", {"state": "off"})]
    changes.unsubscribe(second)
    assert changes.settings_changed("emp", {}) == {"backfill"}  # type: ignore[arg-type]


def test_without_a_listener_nothing_else_happens(isolated: list[Any]) -> None:
    assert changes.settings_changed("emp", {}) == set()  # type: ignore[arg-type]
