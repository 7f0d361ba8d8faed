"""E1–E6 employee screens and P1–P4 personal settings."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from sfacal.directory.companies.models import AuditEntry
from sfacal.directory.employees.models import Employee, SyncState, UserIdMode
from sfacal.engine import sync
from sfacal.web import checks

pytestmark = pytest.mark.django_db


def emp_data(**changes):
    data = {
        "login_id": "hanako",
        "name": "花子",
        "email": "",
        "state": "on",
        "user_id_mode": "explicit",
        "user_id": "hanako@acme.onmicrosoft.com",
        "calendar_name": "",
        "action": "save",
    }
    data.update(changes)
    return data


def test_e1_e4_create_employee_on_sets_sync_start(admin_client, company):
    response = admin_client.post(reverse("employee_new"), emp_data())
    assert response.status_code == 302
    employee = Employee.objects.for_company(company).get(login_id="hanako")
    assert employee.state == SyncState.ON and employee.sync_start is not None


def test_e2_user_id_required_when_explicit_and_on(client_for, admin_user):
    for lang, label in (("ja", "連携ユーザーID: "), ("en", "Sync user ID: ")):
        response = client_for(admin_user, lang).post(reverse("employee_new"), emp_data(user_id=""))
        assert response.status_code == 200
        assert label in response.content.decode()


def test_e2_login_at_domain_needs_no_user_id(admin_client, company):
    response = admin_client.post(
        reverse("employee_new"), emp_data(user_id_mode="login_at_domain", user_id="")
    )
    assert response.status_code == 302
    employee = Employee.objects.for_company(company).get(login_id="hanako")
    page = admin_client.get(reverse("employee_edit", args=[employee.pk])).content.decode()
    assert "hanako@acme.onmicrosoft.com" in page


def test_e2_bad_mail_address_is_rejected(admin_client):
    response = admin_client.post(reverse("employee_new"), emp_data(user_id="not a mail"))
    assert "user_id" in response.context["form"].errors


def test_e1_duplicate_login_id_is_rejected(admin_client, employee):
    response = admin_client.post(reverse("employee_new"), emp_data(login_id=employee.login_id))
    assert "社員ログインID: " in response.content.decode()


def test_e5_check_button_saves_then_reports(admin_client, company, employee, calendar_service):
    calendar_service.add_mailbox("taro@acme.onmicrosoft.com", "営業")
    response = admin_client.post(
        reverse("employee_edit", args=[employee.pk]),
        emp_data(login_id="taro", action="check", user_id="taro@acme.onmicrosoft.com", calendar_name="営業"),
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    employee.refresh_from_db()
    assert employee.calendar_name == "営業" and employee.state == SyncState.ON
    assert 'id="mailbox-check-result"' in response.content.decode()
    assert response.context["result"] is not None


def test_e5_check_with_unresolvable_mailbox_names_user_id(company):
    result = checks.check_mailbox(company.sync_settings, None, None, "ja")
    assert not result.ok and "連携ユーザーID" in result.message


def test_e1_edit_is_audited(admin_client, company, employee):
    admin_client.post(
        reverse("employee_edit", args=[employee.pk]), emp_data(login_id="taro", state="forbidden")
    )
    entry = AuditEntry.objects.for_company(company).get(object_type="employee", field="state")
    assert (entry.old_value, entry.new_value) == ("off", "forbidden")


def test_e6_bulk_state_change(admin_client, company):
    rows = [Employee.objects.create(company=company, login_id=f"u{i}") for i in range(3)]
    response = admin_client.post(
        reverse("employee_bulk"),
        {"ids": [rows[0].pk, rows[1].pk], "state": "on", "user_id_mode": "login_at_domain"},
    )
    assert response.status_code == 302
    states = {
        e.login_id: (e.state, e.user_id_mode, e.sync_start is not None)
        for e in Employee.objects.for_company(company)
    }
    assert states["u0"] == ("on", "login_at_domain", True)
    assert states["u1"] == ("on", "login_at_domain", True)
    assert states["u2"][0] == "off"


def test_e6_bulk_without_selection_is_explained(admin_client):
    response = admin_client.post(reverse("employee_bulk"), {"state": "on"}, follow=True)
    assert "社員を1人以上選択してください。" in response.content.decode()


def test_employee_list_search_and_pagination(admin_client, company):
    for i in range(30):
        Employee.objects.create(company=company, login_id=f"user{i:02d}", name=f"Name {i}")
    page1 = admin_client.get(reverse("employees")).content.decode()
    assert "user00" in page1 and "user29" not in page1
    page2 = admin_client.get(reverse("employees") + "?page=2").content.decode()
    assert "user29" in page2
    found = admin_client.get(reverse("employees") + "?q=user07").content.decode()
    assert "user07" in found and "user08" not in found


def test_e6_csv_import_preview_then_confirm_cp932(admin_client, company, employee):
    csv_text = (
        "社員ログインID,氏名,連携,ユーザーID設定,連携ユーザーID,連携先カレンダー\r\n"
        "taro,山田太郎,連携する,指定,taro@acme.onmicrosoft.com,予定表\r\n"
        "new1,新人,連携しない,ログインID,,\r\n"
        ",名無し,連携する,,,\r\n"
        "bad,不正,たぶん,,,\r\n"
    )
    upload = SimpleUploadedFile("emp.csv", csv_text.encode("cp932"), "text/csv")
    preview = admin_client.post(reverse("employee_import"), {"file": upload})
    assert preview.status_code == 200
    rows = preview.context["rows"]
    assert [r.action for r in rows] == ["update", "create", "", ""]
    assert rows[2].errors and rows[3].errors
    body = preview.content.decode()
    assert "4行目「社員ログインID」: 社員ログインIDは必須です" in body  # the row, the column, the reason
    assert Employee.objects.for_company(company).filter(login_id="new1").count() == 0
    done = admin_client.post(
        reverse("employee_import"), {"action": "confirm", "token": preview.context["token"]}
    )
    assert done.status_code == 302
    employee.refresh_from_db()
    assert employee.state == SyncState.ON and employee.calendar_name == "予定表" and employee.sync_start
    new = Employee.objects.for_company(company).get(login_id="new1")
    assert new.user_id_mode == UserIdMode.LOGIN_AT_DOMAIN and new.state == SyncState.OFF


def test_e6_csv_import_utf8_with_bom_and_accounts(admin_client, company):
    csv_text = "\ufefflogin_id,name,email,state\nsato,佐藤,sato@acme.example,off\n"
    upload = SimpleUploadedFile("emp.csv", csv_text.encode("utf-8"), "text/csv")
    preview = admin_client.post(reverse("employee_import"), {"file": upload, "create_accounts": "on"})
    done = admin_client.post(
        reverse("employee_import"), {"action": "confirm", "token": preview.context["token"]}
    )
    assert done.status_code == 200
    assert "/accounts/invitation/" in done.content.decode()
    assert Employee.objects.for_company(company).get(login_id="sato").account is not None


def test_e6_csv_without_login_column_is_a_file_error(admin_client):
    upload = SimpleUploadedFile("emp.csv", b"name\nfoo\n", "text/csv")
    response = admin_client.post(reverse("employee_import"), {"file": upload})
    assert "file" in response.context["form"].errors


def test_u1_invitation_lets_employee_set_password(admin_client, client, company):
    employee = Employee.objects.create(company=company, login_id="kana", email="kana@acme.example")
    response = admin_client.post(reverse("employee_invite", args=[employee.pk]))
    link = response.context["invitation"]
    path = link.split("testserver", 1)[1]
    form = client.get(path)
    assert form.status_code == 200
    done = client.post(path, {"new_password1": "a-Long-pass-2024", "new_password2": "a-Long-pass-2024"})
    assert done.status_code == 302
    employee.refresh_from_db()
    assert employee.account.check_password("a-Long-pass-2024")
    assert client.get(path).status_code == 410  # a used link stops working


# -- personal settings ---------------------------------------------------------------------------


def personal_data(**changes):
    data = {
        "sync": "1",
        "user_id_mode": "explicit",
        "user_id": "taro@acme.onmicrosoft.com",
        "calendar_name": "",
        "action": "save",
    }
    data.update(changes)
    return data


def test_p1_e4_turning_on_sets_sync_start(client_for, employee):
    response = client_for(employee.account).post(reverse("personal_settings"), personal_data())
    assert response.status_code == 302
    employee.refresh_from_db()
    assert employee.state == SyncState.ON and employee.sync_start is not None


def test_p1_turning_off_drops_link_settings(client_for, employee):
    employee.state = SyncState.ON
    employee.user_id = "taro@acme.onmicrosoft.com"
    employee.calendar_name = "営業"
    employee.save()
    client_for(employee.account).post(reverse("personal_settings"), personal_data(sync="0"))
    employee.refresh_from_db()
    assert (employee.state, employee.user_id, employee.calendar_name) == ("off", "", "")


def test_p3_exclusions_saved_including_pseudo_entries(client_for, employee):
    client_for(employee.account).post(
        reverse("personal_settings"),
        personal_data(
            excluded_counted=["定期訪問"],
            excluded_uncounted=["TEL・FAX・MAIL", "未選択"],
            excluded_business=["会議", "マスタ設定値以外"],
        ),
    )
    employee.refresh_from_db()
    assert set(employee.excluded_purposes) == {"定期訪問", "TEL・FAX・MAIL", "未選択"}
    assert set(employee.excluded_business_names) == {"会議", "マスタ設定値以外"}
    page = client_for(employee.account).get(reverse("personal_settings")).content.decode()
    checked = set(re.findall(r'<input type="checkbox" name="excluded_\w+" value="([^"]+)"[^>]*checked', page))
    assert checked == {"定期訪問", "TEL・FAX・MAIL", "未選択", "会議", "マスタ設定値以外"}


def test_p3_unknown_exclusion_is_rejected(client_for, employee):
    response = client_for(employee.account).post(
        reverse("personal_settings"), personal_data(excluded_business=["存在しない"])
    )
    assert response.status_code == 200
    assert "業務情報連携設定: " in response.content.decode()


def test_p4_calendar_change_requests_backfill(client_for, employee, monkeypatch, calendar_service):
    calendar_service.add_mailbox("taro@acme.onmicrosoft.com", "予定表", "営業")
    calls = []
    monkeypatch.setattr(sync, "request_backfill", lambda e, old, new: calls.append((e.pk, old, new)))
    employee.state = SyncState.ON
    employee.user_id = "taro@acme.onmicrosoft.com"
    employee.calendar_name = "予定表"
    employee.save()
    response = client_for(employee.account).post(
        reverse("personal_settings"), personal_data(calendar_name="営業"), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert calls == [(employee.pk, "予定表", "営業")]
    assert "前月1日以降のスケジュールを同期しています" in response.content.decode()


def test_p4_no_backfill_when_calendar_unchanged(client_for, employee, monkeypatch):
    calls = []
    monkeypatch.setattr(sync, "request_backfill", lambda *a: calls.append(a))
    employee.state = SyncState.ON
    employee.user_id = "taro@acme.onmicrosoft.com"
    employee.save()
    client_for(employee.account).post(reverse("personal_settings"), personal_data())
    assert calls == []


def test_p2_check_button_saves_and_reports(client_for, employee):
    response = client_for(employee.account).post(
        reverse("personal_settings"), personal_data(action="check"), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert response.context["result"] is not None
    employee.refresh_from_db()
    assert employee.state == SyncState.ON


def test_e3_load_calendars_reports_problems_inline(admin_client):
    response = admin_client.get(
        reverse("employee_calendars"), {"user_id_mode": "explicit", "user_id": "", "login_id": "taro"}
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert '<datalist id="calendar-options">' in body and 'id="calendar-result"' in body


# -- P4 / E3: the target calendar is checked when it is saved ------------------------------------


def test_p4_missing_calendar_is_refused_on_save_naming_the_calendars_that_exist(
    client_for, employee, monkeypatch, calendar_service
):
    calendar_service.add_mailbox("taro@acme.onmicrosoft.com", "営業", "Visits")
    calls = []
    monkeypatch.setattr(sync, "request_backfill", lambda *a: calls.append(a))
    employee.state = SyncState.ON
    employee.user_id = "taro@acme.onmicrosoft.com"
    employee.save()
    for lang in ("ja", "en"):
        response = client_for(employee.account, lang).post(
            reverse("personal_settings"), personal_data(calendar_name="営業部"), HTTP_HX_REQUEST="true"
        )
        assert response.status_code == 200
        errors = response.context["form"].errors["calendar_name"]
        assert "営業部" in errors[0] and "営業" in errors[0] and "Visits" in errors[0]
        page = response.content.decode()
        assert 'data-fill-value="Visits"' in page  # offered in the picker
        assert "skip_calendar_check" not in page  # a known-wrong name cannot be saved anyway
    employee.refresh_from_db()
    assert employee.calendar_name == "" and calls == []


def test_e3_missing_calendar_is_refused_on_the_administrators_screen(
    admin_client, employee, monkeypatch, calendar_service
):
    calendar_service.add_mailbox("taro@acme.onmicrosoft.com", "営業")
    calls = []
    monkeypatch.setattr(sync, "request_backfill", lambda *a: calls.append(a))
    for action in ("save", "check"):
        response = admin_client.post(
            reverse("employee_edit", args=[employee.pk]),
            emp_data(
                login_id="taro", action=action, user_id="taro@acme.onmicrosoft.com", calendar_name="商談"
            ),
        )
        assert response.status_code == 200
        assert "営業" in response.context["form"].errors["calendar_name"][0]
    employee.refresh_from_db()
    assert (employee.state, employee.calendar_name) == (SyncState.OFF, "") and calls == []


def test_e3_a_calendar_that_cannot_be_checked_can_be_saved_without_checking(admin_client, employee, company):
    """No Microsoft 365 credentials yet: the check cannot be made; saving needs the explicit tick."""
    data = emp_data(login_id="taro", user_id="taro@acme.onmicrosoft.com", calendar_name="営業")
    refused = admin_client.post(reverse("employee_edit", args=[employee.pk]), data)
    assert refused.status_code == 200 and "skip_calendar_check" in refused.content.decode()
    employee.refresh_from_db()
    assert employee.calendar_name == ""
    saved = admin_client.post(
        reverse("employee_edit", args=[employee.pk]), {**data, "skip_calendar_check": "1"}
    )
    assert saved.status_code == 302
    employee.refresh_from_db()
    assert employee.calendar_name == "営業"


def test_e5_check_failures_are_in_the_sync_log_with_a_reference(
    admin_client, employee, company, calendar_service
):
    from sfacal.engine.models import SyncLogEntry

    calendar_service.add_mailbox("taro@acme.onmicrosoft.com")
    data = emp_data(login_id="taro", action="check", user_id="nobody@acme.onmicrosoft.com")
    admin_client.post(reverse("employee_edit", args=[employee.pk]), data)
    line = SyncLogEntry.objects.get(company=company, trigger="check")
    assert (line.operation, line.result, line.error_code) == ("check_mailbox", "failure", "mailbox_not_found")
    assert line.employee_id == employee.pk and line.mailbox == "nobody@acme.onmicrosoft.com"
    log_page = admin_client.get(reverse("logs")).content.decode()
    assert "メールボックスを確認" in log_page or "check_mailbox" not in log_page


def test_e5_an_unexpected_failure_shows_a_reference_that_is_in_the_server_log(
    admin_client, employee, company, calendar_service, monkeypatch, caplog
):
    from sfacal.engine.models import SyncLogEntry

    service_type = type(calendar_service.service())

    async def broken(self, user_id, calendar_name=None):
        raise KeyError("bug")

    monkeypatch.setattr(service_type, "check_mailbox", broken)
    data = emp_data(login_id="taro", action="check", user_id="taro@acme.onmicrosoft.com")
    response = admin_client.post(reverse("employee_edit", args=[employee.pk]), data, HTTP_HX_REQUEST="true")
    result = response.context["result"]
    assert result.code == "unexpected_error" and len(result.reference) == 12
    assert result.reference in response.content.decode()
    assert any(result.reference in r.getMessage() and r.exc_info for r in caplog.records)
    assert result.reference in SyncLogEntry.objects.get(company=company, trigger="check").message


# -- the engine's side of a saved change (sfacal.engine.sync) ------------------------------------


@pytest.fixture
def queued(monkeypatch):
    from sfacal.engine import sync

    jobs: list[tuple[str, dict[str, object]]] = []
    monkeypatch.setattr(sync, "_enqueue", lambda name, kwargs: jobs.append((name, kwargs)))
    return jobs


def test_e1_new_employee_catches_up_on_stored_schedules(
    admin_client, company, queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(reverse("employee_new"), emp_data())
    employee = Employee.objects.for_company(company).get(login_id="hanako")
    assert queued == [("catch_up", {"employee_id": employee.pk})]


def test_p3_s2_new_exclusion_replans_the_employee_after_commit(
    client_for, employee, queued, django_capture_on_commit_callbacks
):
    employee.state = SyncState.ON
    employee.user_id = "taro@acme.onmicrosoft.com"
    employee.save()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        client_for(employee.account).post(
            reverse("personal_settings"), personal_data(excluded_counted=["定期訪問"])
        )
    assert queued == []  # nothing is queued before the change is committed
    for callback in callbacks:
        callback()
    assert queued == [("replan_employee", {"employee_id": employee.pk})]


def test_p4_calendar_change_queues_the_backfill(
    client_for, employee, queued, django_capture_on_commit_callbacks, calendar_service
):
    calendar_service.add_mailbox("taro@acme.onmicrosoft.com", "予定表", "営業")
    employee.state = SyncState.ON
    employee.user_id = "taro@acme.onmicrosoft.com"
    employee.calendar_name = "予定表"
    employee.save()
    with django_capture_on_commit_callbacks(execute=True):
        client_for(employee.account).post(reverse("personal_settings"), personal_data(calendar_name="営業"))
    assert queued == [
        ("backfill", {"employee_id": employee.pk, "old_calendar": "予定表", "new_calendar": "営業"})
    ]


def test_e6_csv_upload_refuses_an_unknown_column(client_for, admin_user):
    upload = SimpleUploadedFile("emp.csv", "社員ログインID,部署\ntaro,営業部\n".encode(), "text/csv")
    for lang, text in (("ja", "不明な列があります: 部署"), ("en", "unknown column(s): 部署")):
        upload.seek(0)
        response = client_for(admin_user, lang).post(reverse("employee_import"), {"file": upload})
        assert text in str(response.context["form"].errors["file"])


def test_e6_csv_upload_and_command_share_one_importer(
    admin_client, company, queued, django_capture_on_commit_callbacks
):
    """The screen previews with a dry run and imports with the same rules as `sfacal import employees`."""
    csv_text = "login_id,state,user_id_mode\nkana,on,個別に指定\nmika,on,login_at_domain\n"
    upload = SimpleUploadedFile("emp.csv", csv_text.encode(), "text/csv")
    preview = admin_client.post(reverse("employee_import"), {"file": upload})
    rows = preview.context["rows"]
    assert [(r.login_id, r.action) for r in rows] == [("kana", ""), ("mika", "create")]
    assert "連携する場合は連携ユーザーIDが必要です" in rows[0].errors[0]
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            reverse("employee_import"), {"action": "confirm", "token": preview.context["token"]}
        )
    mika = Employee.objects.for_company(company).get(login_id="mika")
    assert mika.sync_start is not None and not Employee.objects.filter(login_id="kana").exists()
    assert queued == [("catch_up", {"employee_id": mika.pk})]
    assert AuditEntry.objects.for_company(company).filter(object_id=str(mika.pk), field="state").exists()
