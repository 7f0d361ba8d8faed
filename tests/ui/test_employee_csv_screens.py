"""Employees › CSV: download the employees or a template, edit, import back (E6, U1, U2)."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from sfacal.directory.companies.models import AuditEntry
from sfacal.directory.employees.models import Employee, SyncState

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(company, other_company):
    Employee.objects.create(
        company=company, login_id="tanaka", name="田中 太郎", email="tanaka@example.com", state=SyncState.ON,
        user_id_mode="explicit", user_id="tanaka@acme.onmicrosoft.com", calendar_name="営業",
    )  # fmt: skip
    Employee.objects.create(company=company, login_id="sato", name="=1+1", state=SyncState.OFF)
    Employee.objects.create(company=other_company, login_id="stranger", name="Other Person")


def download(client, **params):
    return client.get(reverse("employee_export"), params)


def test_e6_admin_downloads_the_employees_in_shift_jis(admin_client, company, staff):
    response = download(admin_client, what="employees", encoding="cp932")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=shift_jis"
    assert response["Content-Disposition"].startswith('attachment; filename="sfacal-employees-acme-')
    text = response.content.decode("cp932")
    assert (
        text.splitlines()[0]
        == "社員ログインID,氏名,メールアドレス,連携,ユーザーID設定,連携ユーザーID,連携先カレンダー"
    )
    assert "田中 太郎" in text and "'=1+1" in text
    assert "stranger" not in text  # U2: only the administrator's company
    assert AuditEntry.objects.filter(company=company, field="csv_export", new_value="2 rows, cp932").exists()


def test_e6_english_page_downloads_english_headers_in_utf8_with_bom(client_for, admin_user, staff):
    response = download(client_for(admin_user, "en"), what="employees", encoding="utf-8-sig")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response.content.startswith(b"\xef\xbb\xbf")
    text = response.content.decode("utf-8-sig")
    assert text.startswith("login_id,name,email,state,user_id_mode,user_id,calendar_name\r\n")
    assert ",on,explicit," in text


def test_e6_empty_template(admin_client, staff):
    response = download(admin_client, what="template", encoding="utf-8-sig")
    assert response["Content-Disposition"] == 'attachment; filename="sfacal-employees-template-utf8.csv"'
    assert response.content.decode("utf-8-sig").count("\r\n") == 1


def test_e6_export_round_trip_through_the_upload_screen(admin_client, company, staff):
    data = download(admin_client, what="employees", encoding="cp932").content
    preview = admin_client.post(
        reverse("employee_import"), {"file": SimpleUploadedFile("employees.csv", data, "text/csv")}
    )
    body = preview.content.decode()
    assert body.count('<span class="badge">変更なし</span>') == 2 and "badge bad" not in body
    edited = data.decode("cp932").replace("田中 太郎", "田中 一郎").encode("cp932")
    preview = admin_client.post(
        reverse("employee_import"), {"file": SimpleUploadedFile("employees.csv", edited, "text/csv")}
    )
    body = preview.content.decode()
    assert body.count('<span class="badge warn">更新</span>') == 1
    assert body.count('<span class="badge">変更なし</span>') == 1


def test_e6_upload_preview_refuses_an_invalid_mail_address(admin_client, company):
    data = b"login_id,name,email\nnew1,New,x\n"
    body = admin_client.post(
        reverse("employee_import"), {"file": SimpleUploadedFile("e.csv", data, "text/csv")}
    ).content.decode()
    assert "badge bad" in body and "メールアドレスの形式ではありません: x" in body


def test_e6_shift_jis_cannot_hold_a_name_the_screen_says_whose(admin_client, company):
    Employee.objects.create(company=company, login_id="emoji", name="😀")
    response = download(admin_client, what="employees", encoding="cp932")
    assert response.status_code == 302 and response.url == reverse("employees")
    (message,) = [str(m) for m in get_messages(response.wsgi_request)]
    assert "emoji" in message and "UTF-8" in message
    assert download(admin_client, what="employees", encoding="utf-8-sig").status_code == 200


def test_e6_bad_parameters_name_the_field(admin_client, company):
    response = download(admin_client, what="employees", encoding="latin-1")
    assert response.status_code == 302
    (message,) = [str(m) for m in get_messages(response.wsgi_request)]
    assert message.startswith("文字コード:")


def test_u1_employee_cannot_download(client_for, employee):
    response = client_for(employee.account).get(
        reverse("employee_export"), {"what": "employees", "encoding": "cp932"}
    )
    assert response.status_code == 403


def test_download_form_is_on_the_employees_and_import_screens(admin_client):
    for name in ("employees", "employee_import"):
        body = admin_client.get(reverse(name)).content.decode()
        assert f'action="{reverse("employee_export")}"' in body
        assert 'value="cp932"' in body and 'value="utf-8-sig"' in body and 'value="template"' in body
