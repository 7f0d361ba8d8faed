"""The JUST.SFA source (J1–J4, T1).

Public API (the Django-bound names are imported lazily, so the pure parts work without Django):

* settings: :class:`JustSfaSettings` (``from_config``, ``from_connection``), ``CONFIG_KEYS``;
* "Save and test": :func:`check_connection` (settings) and :func:`check_saved_connection`
  (a ``SourceConnection``; records ``last_test_*``);
* records API: :class:`RecordsClient`, :func:`limiter_for`, :class:`RateLimiter`, :class:`Budget`,
  the budget stores (:class:`MemoryBudgetStore`, :class:`FileBudgetStore`,
  :class:`RedisBudgetStore`, :func:`default_store`);
* normalising: :func:`record_change`, :func:`parse_datetime` (every answer variant public clients
  show, read by the field-element settings); :mod:`.preview`: the first records as read, for
  "Save and test";
* write-back proof: :mod:`.writeback_test` (:func:`~.writeback_test.record_writeback_test`);
* the :class:`~sfacal.sources.base.Source`: :class:`JustSfaSource` (``write_back``, ``poll``,
  ``check_connection``), :func:`write_back_item`;
* Django-bound: :func:`poll` / :func:`poll_connection` (periodic poll), :func:`receive` (the
  webhook view, mounted at ``hooks/justsfa/<token>``), :func:`webhook_path`,
  :func:`sync_mapping_to_employee` / :func:`unlink_mapping` (J3).

See ``docs/justsfa-setup.md``.
"""

from __future__ import annotations

from typing import Any

from .check import check_connection, check_saved_connection
from .client import RecordItem, RecordsClient, limiter_for
from .parse import EXTRA_RECORD_KEY, parse_datetime, record_change
from .ratelimit import (
    Budget,
    BudgetStore,
    FileBudgetStore,
    MemoryBudgetStore,
    RateLimiter,
    RedisBudgetStore,
    default_store,
)
from .settings import CONFIG_KEYS, JustSfaSettings
from .source import JustSfaSource, write_back_item

__all__ = [
    "CONFIG_KEYS",
    "EXTRA_RECORD_KEY",
    "Budget",
    "BudgetStore",
    "FileBudgetStore",
    "JustSfaSettings",
    "JustSfaSource",
    "MemoryBudgetStore",
    "RateLimiter",
    "RecordItem",
    "RecordsClient",
    "RedisBudgetStore",
    "check_connection",
    "check_saved_connection",
    "default_store",
    "limiter_for",
    "parse_datetime",
    "poll",
    "poll_connection",
    "receive",
    "record_change",
    "sync_mapping_to_employee",
    "unlink_mapping",
    "webhook_path",
    "write_back_item",
]

_LAZY = {
    "poll": "polling",
    "poll_connection": "polling",
    "receive": "webhook",
    "sync_mapping_to_employee": "mapping",
    "unlink_mapping": "mapping",
}


def webhook_path(connection: Any) -> str:
    """The path of a connection's webhook URL (prefix it with the public base URL)."""
    from django.urls import reverse

    return reverse("justsfa:webhook", kwargs={"token": connection.webhook_token})


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(name)
    import importlib

    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
