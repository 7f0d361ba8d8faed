"""Issue 14, item 9: imports write in short transactions, and an import interrupted midway stays
consistent -- the chunks done are done, the report says where it stopped, and importing the same
file again finishes the job without doing anything twice."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import OperationalError

from sfacal.directory.companies.provisioning import ensure_company
from sfacal.directory.employees import changes
from sfacal.directory.employees.models import Employee
from sfacal.engine import inbox
from sfacal.engine.models import InboxEntry, StoredSchedule
from sfacal.sources.csv import import_employees, import_schedules

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
ROWS = 60


@pytest.fixture
def company() -> Any:
    return ensure_company("acme", "ACME")


def schedules_csv(rows: int = ROWS) -> bytes:
    lines = ["ID,種別,件名,開始,終了"]
    lines += [f"S{i},業務,件名{i},2026/11/24 10:00,2026/11/24 11:00" for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def employees_csv(rows: int = ROWS) -> bytes:
    lines = ["社員ログインID,氏名,連携"] + [f"user{i:03d},社員{i},連携しない" for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def locked_after(calls: int, real: Any) -> Any:
    """``real``, raising "database is locked" from its ``calls + 1``-th call on."""
    count = 0

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        nonlocal count
        count += 1
        if count > calls:
            raise OperationalError("database is locked")
        return real(*args, **kwargs)

    return wrapped


def test_schedule_import_stopped_midway_keeps_whole_chunks_and_says_where(
    company: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr(inbox, "accept", locked_after(30, inbox.accept))
    report = import_schedules(company, schedules_csv(), now=NOW)
    stored = set(StoredSchedule.objects.values_list("record_id", flat=True))
    done = len(stored)
    assert 0 < done <= 30 and stored == {f"S{i}" for i in range(done)}  # whole chunks, in order
    assert InboxEntry.objects.count() == done  # nothing half-stored
    assert report.stopped is not None and report.stopped.line == done + 2  # header on line 1
    assert "database is locked" in report.stopped.reason_en and not report.ok
    assert report.counts == {"accepted": done, "not_imported": ROWS - done}
    text = report.format("en")
    assert f"The import stopped at line {done + 2}" in text and "Import the same file again" in text
    assert f"{done + 2}行目で取り込みが中断しました" in report.format("ja")

    monkeypatch.undo()
    again = import_schedules(company, schedules_csv(), now=NOW)
    assert again.ok and again.counts == {"duplicate": done, "accepted": ROWS - done}
    assert StoredSchedule.objects.count() == ROWS and InboxEntry.objects.count() == ROWS


def test_employee_import_stopped_midway_keeps_whole_chunks_and_says_where(
    company: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr(changes, "settings_changed", locked_after(25, changes.settings_changed))
    report = import_employees(company, employees_csv(), now=NOW)
    logins = sorted(Employee.objects.values_list("login_id", flat=True))
    done = len(logins)
    assert 0 < done <= 25 and logins == [f"user{i:03d}" for i in range(done)]
    assert report.stopped is not None and report.stopped.line == done + 2
    assert report.counts == {"created": done, "not_imported": ROWS - done}

    monkeypatch.undo()
    again = import_employees(company, employees_csv(), now=NOW)
    assert again.ok and again.counts == {"unchanged": done, "created": ROWS - done}
    assert Employee.objects.count() == ROWS


def test_import_command_prints_where_it_stopped_and_fails(
    company: Any, monkeypatch: Any, tmp_path: Any
) -> None:
    path = tmp_path / "s.csv"
    path.write_bytes(schedules_csv())
    monkeypatch.setattr(inbox, "accept", locked_after(0, inbox.accept))
    out = io.StringIO()
    with pytest.raises(CommandError) as info:
        call_command("import_csv", "schedules", str(path), "--lang", "en", stdout=out)
    assert info.value.returncode == 1
    assert "The import stopped at line 2" in out.getvalue() and "not_imported 60" in out.getvalue()
    assert "line 2" in str(info.value)
    assert not StoredSchedule.objects.exists()
