"""``GET /api/v1/schedules/{source_id}/explain``: the explainer as JSON (same answer as the screens)."""

from __future__ import annotations

from datetime import UTC, datetime

from django.test import Client

from sfacal.directory.companies.models import CompanySettings
from sfacal.directory.companies.provisioning import ensure_company
from sfacal.directory.connections.models import ApiToken
from sfacal.directory.employees.models import Employee

from .conftest import Api, meeting


def _on(api: Api) -> None:
    CompanySettings.objects.filter(company=api.company).update(
        sync_enabled=True, write_to_calendar=True, domain="acme.example"
    )


def test_S3_P3_E1_explain_gives_each_participants_decision_and_chain(api):
    _on(api)
    Employee.objects.create(
        company=api.company,
        login_id="tanaka",
        state="on",
        user_id_mode="login_at_domain",
        sync_start=datetime(2020, 1, 1, tzinfo=UTC),
    )
    Employee.objects.create(
        company=api.company, login_id="sato", state="on", excluded_purposes=["定期訪問"], sync_start=None
    )
    Employee.objects.create(company=api.company, login_id="suzuki", state="off")
    assert (
        api.put("/schedules/S-1", meeting(participants=["tanaka", "sato", "suzuki", "ghost"])).status_code
        == 201
    )
    response = api.get("/schedules/S-1/explain")
    assert response.status_code == 200
    body = response.json()
    assert body["source_id"] == "S-1" and body["deleted"] is False and body["held_back"] is None
    assert body["event"]["subject"] == "赤木電機/定期訪問" and body["event"]["location"] == "東京都千代田区"
    by = {p["login_id"]: p for p in body["participants"]}
    assert by["tanaka"]["decision"] == "sync" and by["tanaka"]["writes"] == ["create"], by["tanaka"]
    assert by["tanaka"]["mailbox"] == "tanaka@acme.example"
    assert [s["rule"] for s in by["tanaka"]["steps"]] == ["E1", "S1", "S3", "P3", "E4", "S3", "S10"]
    waiting = by["tanaka"]["steps"][-1]  # not processed yet: the next run does what is said
    assert waiting["code"] == "change_waiting" and waiting["values"]["received_at"]
    assert by["sato"]["reason"] == "excluded" and by["sato"]["steps"][-3]["code"] == "excluded"
    assert "定期訪問" in by["sato"]["steps"][-3]["message"] and by["sato"]["steps"][-3]["message_ja"]
    assert by["suzuki"]["decision"] == "leave" and by["suzuki"]["steps"][0]["rule"] == "E1"
    assert by["ghost"]["reason"] == "unknown_employee" and by["ghost"]["steps"][0]["rule"] == "hint"
    step = by["tanaka"]["steps"][4]
    assert step["values"]["sync_start"] == "2020-01-01T00:00:00+00:00" and step["passed"] is True


def test_C1_explain_says_the_company_holds_changes_back(api):
    Employee.objects.create(company=api.company, login_id="tanaka", state="on")
    api.put("/schedules/S-1", meeting())
    body = api.get("/schedules/S-1/explain").json()
    assert body["held_back"] == "sync_disabled"
    assert body["participants"][0]["decision"] is None and body["participants"][0]["steps"][0]["rule"] == "C1"
    assert body["participants"][0]["steps"][-1]["code"] == "change_waiting"


def test_S4_explain_of_a_deleted_schedule(api):
    _on(api)
    api.put("/schedules/S-1", meeting())
    assert api.delete("/schedules/S-1").status_code in (200, 204)
    body = api.get("/schedules/S-1/explain").json()
    assert body["deleted"] is True and body["event"] is None


def test_U2_explain_of_unknown_or_another_companys_schedule_is_404_naming_the_field(api):
    api.put("/schedules/S-1", meeting())
    other = ensure_company("other", "Other")
    _, token = ApiToken.issue(other, "sfa")
    response = Client().get("/api/v1/schedules/S-1/explain", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 404 and response.json()["error"]["field"] == "source_id"
    assert api.get("/schedules/nothing/explain").status_code == 404
    assert Client().get("/api/v1/schedules/S-1/explain").status_code == 401
