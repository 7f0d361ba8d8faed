"""Push API: employees (E1-E4) and masters (C9)."""

from __future__ import annotations

import pytest

from sfacal.directory.companies.models import BusinessName, Purpose
from sfacal.directory.employees.models import Employee

pytestmark = pytest.mark.django_db


def test_e1_e3_put_employee_creates_then_updates(api):
    response = api.put(
        "/employees/tanaka",
        {
            "name": "田中 太郎",
            "email": "tanaka@example.com",
            "state": "連携しない",
            "user_id": "t.tanaka@example.com",
            "calendar_name": "営業",
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["created"] is True and body["state"] == "off" and body["user_id_mode"] == "explicit"
    row = Employee.objects.get(company=api.company, login_id="tanaka")
    assert row.user_id == "t.tanaka@example.com" and row.calendar_name == "営業" and row.sync_start is None
    again = api.put("/employees/tanaka", {"calendar_name": ""})
    assert again.status_code == 200
    row.refresh_from_db()
    assert row.calendar_name == "" and row.name == "田中 太郎"  # omitted fields are kept


def test_e4_turning_sync_on_records_the_sync_start(api):
    api.put("/employees/tanaka", {"state": "off", "user_id": "tanaka@example.com"})
    assert Employee.objects.get(login_id="tanaka").sync_start is None
    api.put("/employees/tanaka", {"state": "on"})
    first = Employee.objects.get(login_id="tanaka").sync_start
    assert first is not None
    api.put("/employees/tanaka", {"state": "on", "name": "x"})
    assert Employee.objects.get(login_id="tanaka").sync_start == first  # still on: unchanged
    api.put("/employees/tanaka", {"state": "off"})
    api.put("/employees/tanaka", {"state": "on"})
    assert Employee.objects.get(login_id="tanaka").sync_start > first


def test_e2_new_employee_without_user_id_uses_login_at_domain(api):
    body = api.put("/employees/sato", {"state": "on"}).json()
    assert body["user_id_mode"] == "login_at_domain" and body["sync_start"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"state": "maybe"}, "state"),
        ({"email": "not-an-address"}, "email"),
        ({"user_id": "bad address@"}, "user_id"),
        ({"state": "on", "user_id_mode": "explicit"}, "user_id"),
        ({"nickname": "x"}, "nickname"),
        ({"name": "n" * 201}, "name"),
    ],
)
def test_bad_employee_input_is_422_naming_the_field(api, body, field):
    response = api.put("/employees/suzuki", body)
    assert response.status_code == 422, response.content
    assert response.json()["error"]["field"] == field
    assert not Employee.objects.filter(login_id="suzuki").exists()


def test_list_and_get_employees(api):
    for login, state in (("a", "on"), ("b", "off"), ("c", "forbidden")):
        api.put(f"/employees/{login}", {"state": state, "user_id": f"{login}@example.com"})
    listed = api.get("/employees").json()
    assert listed["count"] == 3 and [e["login_id"] for e in listed["items"]] == ["a", "b", "c"]
    assert [e["login_id"] for e in api.get("/employees?state=使用禁止").json()["items"]] == ["c"]
    assert api.get("/employees?limit=1&offset=1").json()["items"][0]["login_id"] == "b"
    assert api.get("/employees/b").json()["state"] == "off"
    assert api.get("/employees/zzz").status_code == 404
    assert api.get("/employees?state=bogus").status_code == 422


def test_c9_put_purposes_replaces_the_master(api):
    response = api.put(
        "/masters/purposes",
        [
            {"name": "定期訪問", "counted_as_visit": True},
            {"name": "オンライン商談", "counted_as_visit": False},
        ],
    )
    assert response.status_code == 200, response.content
    assert response.json() == [
        {"name": "定期訪問", "counted_as_visit": True},
        {"name": "オンライン商談", "counted_as_visit": False},
    ]
    assert list(Purpose.objects.filter(company=api.company).values_list("name", flat=True)) == [
        "定期訪問",
        "オンライン商談",
    ]
    assert api.get("/masters/purposes").json() == response.json()


def test_c9_put_business_names_replaces_the_master(api):
    response = api.put("/masters/business-names", ["会議", "移動"])
    assert response.status_code == 200 and response.json() == ["会議", "移動"]
    assert BusinessName.objects.filter(company=api.company).count() == 2
    assert api.get("/masters/business-names").json() == ["会議", "移動"]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/masters/purposes", [{"name": "a"}, {"name": "a"}], "[1].name"),
        ("/masters/purposes", [{"name": "未選択"}], "[0].name"),
        ("/masters/purposes", [{"name": ""}], "[0].name"),
        ("/masters/business-names", ["ok", "マスタ設定値以外"], "[1]"),
        ("/masters/business-names", ["x" * 101], "[0]"),
        ("/masters/business-names", ["ok", "ok"], "[1]"),
        ("/masters/business-names", {"not": "a list"}, "body"),
    ],
)
def test_c9_bad_master_input_is_422_and_changes_nothing(api, path, body, field):
    before = (Purpose.objects.count(), BusinessName.objects.count())
    response = api.put(path, body)
    assert response.status_code == 422, response.content
    assert response.json()["error"]["field"] == field
    assert (Purpose.objects.count(), BusinessName.objects.count()) == before


def test_employee_changes_are_audited(api):
    from sfacal.directory.companies.models import AuditEntry

    api.put("/employees/tanaka", {"state": "off", "user_id": "tanaka@example.com"})
    api.put("/employees/tanaka", {"state": "on"})
    fields = list(
        AuditEntry.objects.filter(company=api.company, object_type="employee").values_list(
            "field", "new_value"
        )
    )
    assert ("user_id", "tanaka@example.com") in fields and ("state", "on") in fields


def test_p4_new_calendar_while_on_requests_the_backfill(api, monkeypatch, django_capture_on_commit_callbacks):
    from sfacal.engine import sync

    calls: list[tuple[str, str, str]] = []
    monkeypatch.setattr(sync, "request_backfill", lambda e, old, new: calls.append((e.login_id, old, new)))
    api.put("/employees/tanaka", {"state": "on", "user_id": "tanaka@example.com", "calendar_name": "A"})
    with django_capture_on_commit_callbacks(execute=True):
        api.put("/employees/tanaka", {"calendar_name": "B"})
    with django_capture_on_commit_callbacks(execute=True):
        api.put("/employees/tanaka", {"name": "田中"})  # calendar unchanged: nothing to move
    assert calls == [("tanaka", "A", "B")]
