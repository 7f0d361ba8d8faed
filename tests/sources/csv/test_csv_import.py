"""CSV import of employees (E6) and schedules: encodings, header aliases, per-row errors, dry run."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from sfacal.core.schedule import AllDaySpan, Schedule, ScheduleDeletion, change_from_dict
from sfacal.directory.companies.provisioning import ensure_company
from sfacal.directory.employees.models import Employee
from sfacal.engine.models import InboxEntry, StoredSchedule
from sfacal.sources.csv import import_employees, import_schedules, preview_employees, preview_schedules

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)


@pytest.fixture
def company():
    return ensure_company("acme", "ACME")


def employees_csv(rows: int, broken: set[int]) -> str:
    lines = ["社員ログインID,氏名,連携,連携ユーザーID,連携先カレンダー"]
    for i in range(rows):
        if i in broken:
            kind = i % 3
            if kind == 0:
                lines.append(f"user{i:04d},社員{i},たぶん,user{i}@example.com,")  # unknown state
            elif kind == 1:
                lines.append(f"user{i:04d},社員{i},連携する,not-an-address,")  # bad user ID
            else:
                lines.append(f",社員{i},連携しない,user{i}@example.com,")  # no login ID
        else:
            state = ("連携する", "連携しない", "使用禁止")[i % 3]
            lines.append(f"user{i:04d},社員{i},{state},user{i}@example.com,{'営業' if i % 2 else ''}")
    return "\r\n".join(lines) + "\r\n"


def test_e6_shift_jis_file_of_1000_rows_imports_990_and_reports_10_by_line(company):
    broken = {7, 100, 101, 250, 333, 500, 640, 777, 901, 999}
    data = employees_csv(1000, broken).encode("cp932")
    report = import_employees(company, data, now=NOW)
    assert report.encoding == "cp932"
    assert report.total == 1000
    assert Employee.objects.filter(company=company).count() == 990
    assert report.counts == {"created": 990, "invalid": 10}
    # the header is line 1, so row i is on line i + 2
    assert report.error_lines == sorted(i + 2 for i in broken)
    by_line = {e.line: e for e in report.errors}
    assert by_line[335].column == "連携" and "不明な値" in by_line[335].message("ja")  # row 333: state
    assert by_line[9].column == "連携ユーザーID"  # row 7: bad user ID
    assert by_line[103].column == "社員ログインID"  # row 101: no login ID
    assert "line 335, column '連携'" in by_line[335].message("en")
    on = Employee.objects.get(company=company, login_id="user0003")
    assert on.state == "on" and on.user_id == "user3@example.com" and on.calendar_name == "営業"
    assert on.sync_start == NOW  # E4
    assert Employee.objects.get(login_id="user0004").state == "off"
    assert Employee.objects.get(login_id="user0005").state == "forbidden"


def test_e6_utf8_bom_and_english_header_aliases(company):
    text = "\ufefflogin_id,Name,State,User ID Mode,User_ID,Calendar\nsato,佐藤,on,explicit,sato@example.com,営業\n"
    report = import_employees(company, text.encode("utf-8"), now=NOW)
    assert report.ok and report.encoding == "utf-8-sig"
    sato = Employee.objects.get(login_id="sato")
    assert (sato.name, sato.state, sato.user_id_mode, sato.calendar_name) == (
        "佐藤",
        "on",
        "explicit",
        "営業",
    )


def test_e6_update_keeps_absent_columns_and_records_sync_start_on_turning_on(company):
    Employee.objects.create(
        company=company, login_id="sato", name="佐藤", user_id="sato@example.com", state="off"
    )
    report = import_employees(company, "ログインID,連携\nsato,連携する\n".encode(), now=NOW)
    assert report.counts == {"updated": 1}
    sato = Employee.objects.get(login_id="sato")
    assert sato.state == "on" and sato.name == "佐藤" and sato.sync_start == NOW
    again = import_employees(
        company, "ログインID,連携\nsato,連携する\n".encode(), now=datetime(2027, 1, 1, tzinfo=UTC)
    )
    assert again.counts == {"unchanged": 1}
    assert Employee.objects.get(login_id="sato").sync_start == NOW


def test_e6_dry_run_writes_nothing(company):
    report = import_employees(company, employees_csv(20, {3}).encode("cp932"), dry_run=True)
    assert report.dry_run and report.counts == {"created": 19, "invalid": 1}
    assert not Employee.objects.exists()
    assert "確認のみ" in report.summary("ja") and "Dry run" in report.summary("en")


def test_e6_unknown_and_missing_columns_are_clear_errors(company):
    report = import_employees(company, "社員ログインID,部署,好きな色\na,営業,青\n".encode())
    assert report.file_error is not None and not Employee.objects.exists()
    assert "部署" in report.file_error.message("ja") and "好きな色" in report.file_error.message("en")
    missing = import_employees(company, "氏名\n田中\n".encode())
    assert missing.file_error is not None and "login_id" in missing.file_error.message("en")


def test_e6_preview_without_company_checks_the_file(company):
    report = preview_employees(employees_csv(5, {2}).encode("utf-8"))
    assert report.counts == {"valid": 4, "invalid": 1}
    assert report.error_lines == [4]


def test_e6_duplicate_login_id_in_file_is_an_error(company):
    report = import_employees(company, b"login_id,name\na,A\na,B\n")
    assert report.error_lines == [3]
    assert Employee.objects.get(login_id="a").name == "A"


SCHEDULES = """ID,種別,状態,商談目的,業務名,顧客名,顧客住所,件名,内容,参加者,開始,終了,終日
S1,商談,予定,定期訪問,,赤木電機,東京都千代田区,定例,"見積もり, 説明",tanaka;sato,2026/11/24 10:00,2026/11/24 11:00,
S2,業務,予定,,会議,,,,社内,tanaka、suzuki,2026/11/25,2026/11/26,1
S3,商談,予定,,,顧客,,,,tanaka,2026/11/24 12:00,2026/11/24 11:00,
S4,訪問,予定,,,,,,,tanaka,2026/11/24 10:00,2026/11/24 11:00,
S5,業務,予定,,会議,,,,,tanaka,someday,2026/11/24 11:00,
"""


def test_schedules_import_through_inbox_with_per_row_errors(company):
    Employee.objects.create(company=company, login_id="tanaka")
    report = import_schedules(company, SCHEDULES.encode("utf-8-sig"), now=NOW)
    assert report.counts == {"accepted": 2, "invalid": 3}
    assert [(e.line, e.column) for e in report.errors] == [(4, "終了"), (5, "種別"), (6, "開始")]
    assert {(w.line, w.value) for w in report.warnings} == {(2, "sato"), (3, "suzuki")}
    s1 = Schedule.from_dict(StoredSchedule.objects.get(record_id="S1").payload)
    assert s1.start == datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
    assert s1.content == "見積もり, 説明" and s1.participants == ("tanaka", "sato")
    s2 = Schedule.from_dict(StoredSchedule.objects.get(record_id="S2").payload)
    assert s2.span == AllDaySpan(date(2026, 11, 25), date(2026, 11, 27))
    assert set(InboxEntry.objects.values_list("trigger", flat=True)) == {"csv"}
    assert s1.ref.source == "push"  # same records as the push API
    again = import_schedules(company, SCHEDULES.encode("utf-8"), now=NOW)
    assert again.counts == {"duplicate": 2, "invalid": 3}
    assert InboxEntry.objects.count() == 2


def test_schedules_dry_run_writes_nothing_and_predicts_outcomes(company):
    import_schedules(company, SCHEDULES.encode(), now=NOW)
    changed = SCHEDULES.replace("定例", "定例（変更）")
    report = preview_schedules(changed.encode("cp932"), company)
    assert report.dry_run and report.counts == {"accepted": 1, "duplicate": 1, "invalid": 3}
    assert InboxEntry.objects.count() == 2
    assert "定例（変更）" not in str(StoredSchedule.objects.get(record_id="S1").payload)


def test_schedules_english_headers_split_date_time_columns_and_deletion(company):
    text = (
        "source_id,kind,status,business_name,participants,start_date,start_time,end_date,end_time,timezone,deleted\n"
        "E1,task,plan,会議,tanaka,2026年11月24日,9:30,2026年11月24日,10時00分,Europe/Paris,\n"
        "E2,task,actual,会議,tanaka,2026/11/24,,,,,\n"
        "E3,,,,,2026/11/24,,,,,1\n"
    )
    report = import_schedules(company, text.encode(), now=NOW)
    assert report.ok, report.format("en")
    e1 = Schedule.from_dict(StoredSchedule.objects.get(record_id="E1").payload)
    assert e1.start == datetime(2026, 11, 24, 8, 30, tzinfo=UTC) and e1.timezone == "Europe/Paris"
    e2 = Schedule.from_dict(StoredSchedule.objects.get(record_id="E2").payload)
    assert e2.is_all_day and e2.status.value == "実績"
    assert isinstance(change_from_dict(StoredSchedule.objects.get(record_id="E3").payload), ScheduleDeletion)
    assert report.counts == {"accepted": 2, "deleted": 1}


def test_schedules_unknown_column_and_missing_start(company):
    report = import_schedules(company, "ID,開始,色\nX,2026/11/24,赤\n".encode())
    assert report.file_error is not None and "色" in report.file_error.message("ja")
    report = import_schedules(company, "ID,件名\nX,a\n".encode())
    assert report.file_error is not None and "start" in report.file_error.message("en")


def test_misaligned_row_is_reported(company):
    report = import_employees(company, b"login_id,name\na,A,extra,cells\nb,B\n")
    assert report.error_lines == [2] and report.counts == {"invalid": 1, "created": 1}


def test_undecodable_file_is_a_file_error(company):
    report = import_employees(company, b"login_id\n\xff\xfe\xfa\x80\x81\n")
    assert report.file_error is not None


def test_import_command_reports_rows_and_exit_status(company, tmp_path):
    path = tmp_path / "employees.csv"
    path.write_bytes(employees_csv(30, {4}).encode("cp932"))
    out = io.StringIO()
    with pytest.raises(CommandError) as info:
        call_command("import_csv", "employees", str(path), stdout=out)
    assert info.value.returncode == 1
    assert "6行目「連携ユーザーID」" in out.getvalue() and "30 行中 29 行 OK" in out.getvalue()
    assert Employee.objects.count() == 29
    out = io.StringIO()
    ok = tmp_path / "ok.csv"
    ok.write_text("login_id,state\nnew1,on\n", encoding="utf-8")
    call_command(
        "import_csv", "employees", str(ok), "--dry-run", "--lang", "en", "--company", "acme", stdout=out
    )
    assert "Dry run" in out.getvalue() and not Employee.objects.filter(login_id="new1").exists()


def test_import_command_needs_company_when_several(company, tmp_path):
    ensure_company("other", "Other")
    path = tmp_path / "e.csv"
    path.write_text("login_id\na\n", encoding="utf-8")
    with pytest.raises(CommandError, match="--company"):
        call_command("import_csv", "employees", str(path))
    with pytest.raises(CommandError, match="nope"):
        call_command("import_csv", "employees", str(path), "--company", "nope")


def test_e6_utf16_tab_separated_as_excel_unicode_text(company):
    text = "社員ログインID\t氏名\t連携\t連携ユーザーID\ntanaka\t田中\t連携する\ttanaka@example.com\n"
    report = import_employees(company, text.encode("utf-16"), now=NOW)
    assert report.ok and report.encoding == "utf-16"
    assert Employee.objects.get(login_id="tanaka").state == "on"
