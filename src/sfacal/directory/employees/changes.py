"""What else happens when an employee's settings are saved: the one hook the engine listens on.

Every path that saves an employee -- the employee screens, the personal settings, the bulk change
behind the push API and the CSV import, the JUST.SFA user mapping -- calls
:func:`settings_changed` after saving. The engine subscribes at start-up
(:class:`sfacal.engine.apps.EngineConfig`) with
:func:`sfacal.engine.sync.on_employee_settings_changed`, which holds the rules (E4 sync start, P3/S2
exclusions, E2 mailbox, P4 back-fill, a new employee's catch-up). The directory so never imports
the engine, and the rules stay in one place.

Guarantees (each has a test):

* every subscriber is called once per change, in the order it subscribed; what they started is
  answered together (a set of names such as ``"backfill"``);
* subscribing the same function twice has no effect (an app's ``ready`` may run twice in tests);
* without a subscriber a change is saved and nothing else happens (a process without the engine).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from datetime import datetime
from typing import Any, Protocol

from sfacal.directory.employees.models import Employee

__all__ = ["Listener", "settings_changed", "subscribe", "unsubscribe"]


class Listener(Protocol):
    def __call__(
        self, employee: Employee, before: Mapping[str, Any] | None, *, now: datetime | None = None
    ) -> Collection[str]: ...


_listeners: list[Callable[..., Collection[str]]] = []


def subscribe(listener: Listener) -> None:
    """Call ``listener`` after every saved change of an employee's settings."""
    if listener not in _listeners:
        _listeners.append(listener)


def unsubscribe(listener: Listener) -> None:
    if listener in _listeners:
        _listeners.remove(listener)


def settings_changed(
    employee: Employee, before: Mapping[str, Any] | None, *, now: datetime | None = None
) -> set[str]:
    """Tell the subscribers that ``employee`` was saved; ``before`` holds the settings fields as
    they were (empty: the employee was just created). Answers what the subscribers started."""
    started: set[str] = set()
    for listener in list(_listeners):
        started.update(listener(employee, before, now=now))
    return started
