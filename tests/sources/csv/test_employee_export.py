"""E6: employees exported as CSV import back unchanged; mail addresses are checked per row;
formula-like cells are neutralised on export and restored on import."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from hypothesis import given
from hypothesis import strategies as st

from sfacal.directory.companies.provisioning import ensure_company
from sfacal.directory.employees.models import Employee
from sfacal.sources.csv import (
    EmployeeRow,
    UnencodableError,
    employees_csv,
    import_employees,
    preview_employees,
)
from sfacal.sources.csv.cells import FORMULA_START, neutralize, restore

NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
FIELDS = ("login_id", "name", "email", "state", "user_id_mode", "user_id", "calendar_name")


# -- formula injection ---------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["=1+1", "+81 3", "-x", "@SUM(A1)", "\tx", "\rx", "'=x", "''+x"])
def test_formula_like_text_gets_an_apostrophe(text):
    assert neutralize(text) == "'" + text
    assert restore(neutralize(text)) == text


@pytest.mark.parametrize("text", ["", "tanaka", "田中 太郎", "'quoted", "a=b", "x-1", "''"])
def test_other_text_is_left_alone(text):
    assert neutralize(text) == text
    assert restore(text) == text


@given(st.text())
def test_restore_undoes_neutralize_for_every_text(text):
    assert restore(neutralize(text)) == text
    cell = neutralize(text)
    assert not cell or cell[0] not in FORMULA_START


# -- mail addresses are checked per row ----------------------------------------------------------


@pytest.fixture
def company(db):
    return ensure_company("acme", "ACME")


def test_e6_bad_mail_address_is_a_row_error_even_without_a_company(company):
    data = "login_id,name,email,user_id\na,A,x,\nb,B,b@example.com,nope\nc,C,c@example.com,c@example.com\n"
    for report in (preview_employees(data.encode()), preview_employees(data.encode(), company)):
        assert [(c.key, c.action) for c in report.changes][:2] == [("a", "invalid"), ("b", "invalid")]
        assert report.changes[2].action in ("valid", "created")
        by_line = {e.line: e for e in report.errors}
        assert by_line[2].column == "email" and "x" in by_line[2].message("en")
        assert by_line[3].column == "user_id" and "メールアドレスの形式ではありません" in by_line[3].message(
            "ja"
        )
    assert not Employee.objects.exists()


def test_e6_import_command_refuses_a_bad_mail_address(company, tmp_path):
    path = tmp_path / "employees.csv"
    path.write_text(
        "社員ログインID,氏名,メールアドレス\nsato,佐藤,x\nsuzuki,鈴木,suzuki@example.com\n", encoding="utf-8"
    )
    out = io.StringIO()
    with pytest.raises(CommandError) as info:
        call_command("import_csv", "employees", str(path), "--dry-run", stdout=out)
    assert info.value.returncode == 1
    assert "2行目「メールアドレス」" in out.getvalue()


# -- export -> import ------------------------------------------------------------------------------


def _employees(company):
    rows = [
        dict(login_id="tanaka", name="田中 太郎", email="tanaka@example.com", state="on",
             user_id_mode="explicit", user_id="tanaka@acme.onmicrosoft.com", calendar_name="営業"),
        dict(login_id="sato", name="佐藤, 花子 \"はな\"", email="", state="off",
             user_id_mode="login_at_domain", user_id="", calendar_name=""),
        dict(login_id="suzuki", name="=HYPERLINK(\"http://x\")", email="=evil@example.com", state="forbidden",
             user_id_mode="explicit", user_id="+tag@example.com", calendar_name="-Sales"),
        dict(login_id="@home", name="'=already quoted", email="-dash@example.com", state="on",
             user_id_mode="login_at_domain", user_id="", calendar_name="改行\nあり"),
        dict(login_id="kato", name="髙橋 ①", email="", state="off",
             user_id_mode="login_at_domain", user_id="", calendar_name="'literal"),
    ]  # fmt: skip
    for row in rows:
        Employee.objects.create(company=company, **row)
    return rows


def _export(company, **kwargs):
    values = Employee.objects.filter(company=company).order_by("login_id").values_list(*FIELDS)
    return employees_csv([EmployeeRow(*v) for v in values], **kwargs)


@pytest.mark.parametrize("encoding", ["cp932", "utf-8-sig"])
@pytest.mark.parametrize("lang", ["ja", "en"])
def test_e6_export_imports_back_unchanged(company, encoding, lang):
    rows = _employees(company)
    data = _export(company, lang=lang, encoding=encoding)
    report = import_employees(company, data, now=NOW)
    assert report.ok, report.format("en")
    assert report.encoding == ("cp932" if encoding == "cp932" else "utf-8-sig")
    assert report.counts == {"unchanged": len(rows)}
    for row in rows:
        stored = Employee.objects.get(company=company, login_id=row["login_id"])
        assert {name: getattr(stored, name) for name in FIELDS} == row


@pytest.mark.parametrize("encoding", ["cp932", "utf-8-sig"])
def test_e6_one_edited_cell_changes_exactly_that(company, encoding):
    _employees(company)
    text = _export(company, encoding=encoding).decode(encoding)
    assert "佐藤, 花子" in text
    edited = text.replace("連携しない", "連携する", 1)  # kato's row (sorted by login ID: @home, kato, …)
    report = import_employees(company, edited.encode(encoding), now=NOW)
    assert report.ok, report.format("en")
    assert report.counts == {"updated": 1, "unchanged": 4}
    assert [c.key for c in report.changes if c.action == "updated"] == ["kato"]
    kato = Employee.objects.get(login_id="kato")
    assert kato.state == "on" and kato.sync_start == NOW


def test_e6_edited_name_is_imported(company):
    _employees(company)
    text = _export(company, encoding="utf-8-sig").decode("utf-8-sig")
    report = import_employees(company, text.replace("髙橋 ①", "高橋 一").encode("utf-8-sig"), now=NOW)
    assert report.counts == {"updated": 1, "unchanged": 4}
    assert Employee.objects.get(login_id="kato").name == "高橋 一"


def test_e6_export_neutralises_formula_cells(company):
    _employees(company)
    text = _export(company, encoding="utf-8-sig", lang="en").decode("utf-8-sig")
    lines = text.split("\r\n")
    assert lines[0] == "login_id,name,email,state,user_id_mode,user_id,calendar_name"
    assert "'=HYPERLINK" in text and "'=evil@example.com" in text and "'+tag@example.com" in text
    assert ",'-Sales" in text and lines[1].startswith("'@home,")
    assert "''=already quoted" in text and ",'literal" in text
    assert "forbidden" in text and "login_at_domain" in text


def test_e6_japanese_export_has_japanese_headers_and_values(company):
    _employees(company)
    text = _export(company, encoding="cp932").decode("cp932")
    assert text.startswith(
        "社員ログインID,氏名,メールアドレス,連携,ユーザーID設定,連携ユーザーID,連携先カレンダー\r\n"
    )
    assert "使用禁止" in text and "社員ログインID@ドメイン名" in text and "個別に指定" in text


def test_e6_shift_jis_refuses_what_it_cannot_hold(company):
    Employee.objects.create(company=company, login_id="emoji", name="絵文字 😀")
    Employee.objects.create(company=company, login_id="plain", name="普通")
    with pytest.raises(UnencodableError) as info:
        _export(company, encoding="cp932")
    assert info.value.login_ids == ["emoji"]
    data = _export(company, encoding="utf-8-sig")
    assert import_employees(company, data, now=NOW).counts == {"unchanged": 2}


def test_e6_empty_template_has_only_the_header_and_imports_nothing(company):
    for lang, encoding in (("ja", "cp932"), ("en", "utf-8-sig")):
        data = employees_csv([], lang=lang, encoding=encoding)
        assert data.count(b"\r\n") == 1
        report = import_employees(company, data, now=NOW)
        assert report.file_error is None and report.total == 0
    with pytest.raises(ValueError, match="unsupported encoding"):
        employees_csv([], encoding="latin-1")
