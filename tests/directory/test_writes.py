"""directory.writes: long writes as short transactions. A chunk is all or nothing, the chunks before a
failure stay, the failure says how far it got, and chunk sizes follow the measured pace."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from django.db import OperationalError

from sfacal.directory import writes
from sfacal.directory.companies.provisioning import ensure_company
from sfacal.engine.models import SyncLogEntry

pytestmark = pytest.mark.django_db


def _log_lines(company_id: int, numbers: Sequence[int]) -> None:
    SyncLogEntry.objects.bulk_create(
        [
            SyncLogEntry(company_id=company_id, trigger="csv", operation="test", message=str(n))
            for n in numbers
        ]
    )


def test_chunks_commit_in_order_and_report_progress() -> None:
    company = ensure_company("acme", "ACME")
    seen: list[int] = []
    writes.write_in_chunks(
        list(range(95)), lambda chunk: _log_lines(company.pk, chunk), most=10, on_commit=seen.append
    )
    messages = [int(m) for m in SyncLogEntry.objects.order_by("id").values_list("message", flat=True)]
    assert messages == list(range(95))
    assert seen == sorted(seen) and seen[-1] == 95 and seen[0] == min(writes.FIRST, 10)


def test_a_failed_chunk_stores_nothing_and_the_chunks_before_stay() -> None:
    company = ensure_company("acme", "ACME")
    calls = 0

    def write(chunk: Sequence[int]) -> None:
        nonlocal calls
        calls += 1
        _log_lines(company.pk, chunk)
        if calls == 3:
            raise OperationalError("database is locked")

    with pytest.raises(writes.Interrupted) as info:
        writes.write_in_chunks(list(range(100)), write, most=5)
    assert info.value.done == 10 and isinstance(info.value.cause, OperationalError)
    assert sorted(int(m) for m in SyncLogEntry.objects.values_list("message", flat=True)) == list(range(10))


def test_an_interrupt_is_reported_like_any_other_stop() -> None:
    def write(chunk: Sequence[int]) -> None:
        raise KeyboardInterrupt

    with pytest.raises(writes.Interrupted) as info:
        writes.write_in_chunks([1, 2, 3], write)
    assert info.value.done == 0 and isinstance(info.value.cause, KeyboardInterrupt)


@pytest.mark.parametrize(
    ("size", "seconds", "expected"),
    [
        (20, 0.1, 40),  # fast: at most doubles
        (20, 0.5, 20),  # on budget: stays
        (100, 2.0, 25),  # four times over: a quarter
        (10, 60.0, 1),  # never below one item
        (800, 0.01, 1000),  # never above the most
        (20, 0.0, 40),  # too fast to measure
    ],
)
def test_the_next_chunk_is_sized_to_fit_the_budget(size: int, seconds: float, expected: int) -> None:
    assert writes._next_size(size, seconds, 0.5, 1000) == expected
