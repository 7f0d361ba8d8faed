"""The second step of a calendar switch (sfacal.engine.moves): the old events go only once the new
calendar is seen to exist; when it cannot be read, the record waits (retry) with its old events."""

from __future__ import annotations

from typing import Any

from sfacal.core.errors import NetworkError
from sfacal.engine.backfill import run_backfill
from sfacal.engine.work import ItemState
from tests.engine.conftest import DOMAIN, switched_to_sales

TARO = f"taro@{DOMAIN}"


def test_p4_unreadable_new_calendar_postpones_the_old_events_removal(
    company: Any, fake: Any, monkeypatch: Any
) -> None:
    emp = switched_to_sales(company, fake)
    service_type = type(fake.service())
    real = service_type.list_calendars

    async def outage(self: Any, mailbox: str) -> Any:
        raise NetworkError("connection reset", host="graph")

    monkeypatch.setattr(service_type, "list_calendars", outage)
    monkeypatch.setattr("sfacal.engine.backfill.BUSY_WAIT_S", 0.0)  # one round, then the sweep's turn
    summary = run_backfill(emp.pk, "", "営業")
    assert set(summary.states.values()) == {ItemState.RETRY}
    assert len(fake.of(TARO, "")) == 3 and len(fake.of(TARO, "営業")) == 3  # both copies, none lost
    monkeypatch.setattr(service_type, "list_calendars", real)
    run_backfill(emp.pk, "", "営業")
    assert fake.of(TARO, "") == [] and len(fake.of(TARO, "営業")) == 3
