"""A quoted field that is never closed refuses the whole file, with the line where it opened.

Python's csv module reads an unclosed quote to the end of the file without a word: the preview
said "1 valid row, 0 errors" and the next employees were never created. Every door of the CSV
import (employees and schedules, the upload screen and ``sfacal import``) now refuses such a file
and imports nothing; a quoted memo of several lines still imports.
"""

from __future__ import annotations

import csv
import io
import itertools
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from hypothesis import given, settings
from hypothesis import strategies as st

from sfacal.core.schedule import Schedule
from sfacal.directory.employees.models import Employee
from sfacal.engine.models import InboxEntry, StoredSchedule
from sfacal.sources.csv import import_employees, import_schedules, preview_employees, preview_schedules
from sfacal.sources.csv.reader import line_of, unclosed_quote
from sfacal.sources.csv.report import UnclosedQuoteError

pytestmark = pytest.mark.django_db

MESSAGE_JA = (
    '3 行目で開いた引用符（"）が閉じられていません。ファイルを修正してください。何も取り込んでいません。'
)
MESSAGE_EN = 'The quote (") opened on line 3 is never closed. Correct the file; nothing was imported.'

# Line 3 opens a quote that never closes: read as CSV, rows 4-13 vanish into its name.
EMPLOYEES = 'login_id,name,state\r\na0,Ando,on\r\na1,"Baba,off\r\n' + "".join(
    f"b{i},Name {i},off\r\n" for i in range(10)
)

SCHEDULES = (
    "ID,種別,件名,内容,参加者,開始,終了\n"
    "S1,業務,定例,メモ,tanaka,2026/11/24 10:00,2026/11/24 11:00\n"
    'S2,業務,"会議,メモ,tanaka,2026/11/25 10:00,2026/11/25 11:00\n'
    "S3,業務,面談,メモ,tanaka,2026/11/26 10:00,2026/11/26 11:00\n"
)


@pytest.fixture
def company():
    from sfacal.directory.companies.provisioning import ensure_company

    return ensure_company("acme", "ACME")


def _refused(report):
    assert isinstance(report.file_error, UnclosedQuoteError)
    assert report.file_error.line == 3
    assert report.file_error.message("ja") == MESSAGE_JA
    assert report.file_error.message("en") == MESSAGE_EN
    assert report.changes == [] and not report.ok


@pytest.mark.parametrize("encoding", ["utf-8", "cp932", "utf-16"])
def test_employee_import_and_preview_refuse_the_file_and_import_nothing(company, encoding):
    data = EMPLOYEES.encode(encoding)
    _refused(preview_employees(data, company))
    _refused(preview_employees(data))
    _refused(import_employees(company, data))
    assert not Employee.objects.exists()


def test_schedule_import_and_preview_refuse_the_file_and_import_nothing(company):
    Employee.objects.create(company=company, login_id="tanaka")
    _refused(preview_schedules(SCHEDULES.encode(), company))
    _refused(import_schedules(company, SCHEDULES.encode()))
    assert not StoredSchedule.objects.exists() and not InboxEntry.objects.exists()


@pytest.mark.parametrize(("kind", "text"), [("employees", EMPLOYEES), ("schedules", SCHEDULES)])
@pytest.mark.parametrize(("lang", "message"), [("ja", MESSAGE_JA), ("en", MESSAGE_EN)])
def test_import_command_refuses_the_file(company, tmp_path, kind, text, lang, message):
    Employee.objects.create(company=company, login_id="tanaka")
    path = tmp_path / f"{kind}.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CommandError) as info:
        call_command("import_csv", kind, str(path), "--lang", lang, stdout=io.StringIO())
    assert message in str(info.value)
    assert Employee.objects.count() == 1 and not StoredSchedule.objects.exists()


@pytest.mark.parametrize(("lang", "message"), [("ja", MESSAGE_JA), ("en", MESSAGE_EN)])
def test_upload_screen_shows_the_line_and_offers_no_preview(client, company, lang, message):
    from sfacal.directory.companies.models import Membership, Role
    from tests.ui.conftest import make_user, signed_in

    admin = make_user(company, "admin", Role.COMPANY_ADMIN)
    assert Membership.objects.filter(user=admin).exists()
    upload = SimpleUploadedFile("employees.csv", EMPLOYEES.encode("utf-8"), content_type="text/csv")
    response = signed_in(admin, lang).post(reverse("employee_import"), {"file": upload})
    assert response.status_code == 200
    assert message in response.context["form"].errors["file"]
    assert "rows" not in response.context and not Employee.objects.exists()


def test_a_quoted_memo_of_several_lines_still_imports(company):
    Employee.objects.create(company=company, login_id="tanaka")
    text = (
        "ID,種別,件名,内容,参加者,開始,終了\r\n"
        'S1,業務,定例,"一行目\r\n二行目, ""引用""\r\n三行目",tanaka,2026/11/24 10:00,2026/11/24 11:00\r\n'
        "S2,業務,面談,,tanaka,2026/11/25 10:00,2026/11/25 11:00\r\n"
    )
    report = import_schedules(company, text.encode("cp932"))
    assert report.ok and report.counts == {"accepted": 2}
    assert [c.line for c in report.changes] == [2, 5]
    memo = Schedule.from_dict(StoredSchedule.objects.get(record_id="S1").payload).content
    assert memo.replace("\r\n", "\n") == '一行目\n二行目, "引用"\n三行目'


# -- the scanner reads quotes exactly as the csv module does --------------------------------------

_SENTINEL = "\ue000end\ue000"


def _csv_module_says(text: str, delimiter: str) -> int | None:
    """The line where the csv module (lenient, as the importer uses it) is still inside a quoted
    field at the end of ``text``: a sentinel line after the text lands inside that field."""
    lines = itertools.chain(io.StringIO(text, newline=""), [_SENTINEL + "\n"])
    reader = csv.reader(lines, delimiter=delimiter)
    start, rows = 1, []
    for row in reader:
        rows.append((start, row))
        start = reader.line_num + 1
    line, last = rows[-1]
    if last == [_SENTINEL]:
        return None
    assert last[-1].endswith(_SENTINEL + "\n")
    return line + sum(len(re.findall(r"\r\n|\r|\n", cell)) for cell in last[:-1])


@settings(max_examples=1000)
@given(
    st.text(alphabet=['"', ",", "\t", "\n", "\r", "a", " "], max_size=40),
    st.sampled_from([",", "\t"]),
)
def test_the_scanner_agrees_with_the_csv_module(text, delimiter):
    opened = unclosed_quote(text, delimiter)
    expected = _csv_module_says(text, delimiter)
    assert (None if opened is None else line_of(text, opened)) == expected


def test_line_numbers_count_crlf_cr_and_lf_once_each():
    assert [line_of("a\r\nb\rc\nd", i) for i in (0, 3, 5, 7)] == [1, 2, 3, 4]
