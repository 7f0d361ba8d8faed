"""Push API: schedules (PUT / DELETE / GET / batch / status), auth and bad input."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from sfacal.core.schedule import AllDaySpan, Schedule
from sfacal.directory.companies.provisioning import ensure_company
from sfacal.directory.connections.models import ApiToken
from sfacal.directory.employees.models import Employee
from sfacal.engine.models import InboxEntry, LogResult, MirrorEvent, StoredSchedule, SyncLogEntry

from .conftest import Api, meeting

pytestmark = pytest.mark.django_db


def stored(api: Api, record_id: str = "S-1") -> Schedule:
    row = StoredSchedule.objects.get(company=api.company, source="push", record_id=record_id)
    return Schedule.from_dict(row.payload)


# -- auth (U2) --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Bearer",
        "Bearer nonsense",
        "Bearer sfa_unknown-token",
        "Basic dXNlcjpwYXNz",
        "Bearer " + "x" * 5000,
    ],
)
def test_u2_missing_or_invalid_token_is_401_json(company, header):
    kwargs = {"HTTP_AUTHORIZATION": header} if header else {}
    response = Client().put(
        "/api/v1/schedules/S-1", data=json.dumps(meeting()), content_type="application/json", **kwargs
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert not StoredSchedule.objects.exists()


def test_u2_revoked_token_is_refused_like_an_unknown_one(api):
    row = ApiToken.objects.get(company=api.company)
    row.revoked_at = timezone.now()
    row.save()
    response = api.put("/schedules/S-1", meeting())
    assert response.status_code == 401
    assert response.json() == Client().get("/api/v1/employees", HTTP_AUTHORIZATION="Bearer sfa_x").json()


def test_u2_revoked_or_replaced_token_stops_working_at_the_next_request(api):
    """Nothing about a token is remembered between requests: a token that just worked is refused
    by the very next request once revoked, and its replacement works at once."""
    assert api.put("/schedules/S-1", meeting()).status_code == 201
    new_row, new_token = ApiToken.issue(api.company, "rotated")
    old = ApiToken.objects.exclude(pk=new_row.pk).get(company=api.company)
    old.revoked_at = timezone.now()
    old.save(update_fields=["revoked_at"])  # what the settings screen's revoke does
    refused = api.put("/schedules/S-2", meeting())
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "unauthorized"
    assert not StoredSchedule.objects.filter(record_id="S-2").exists()
    replaced = Api(Client(), new_token, api.company)
    assert replaced.put("/schedules/S-2", meeting()).status_code == 201
    # the company a token names is read with it on every request: a renamed company shows at once
    api.company.slug = "acme-renamed"
    api.company.save(update_fields=["slug"])
    replaced.put("/schedules/S-3", meeting())
    assert stored(replaced, "S-3").ref.company == "acme-renamed"


def test_u2_token_decides_the_company(api):
    other = ensure_company("other", "Other")
    _, other_token = ApiToken.issue(other, "o")
    assert api.put("/schedules/S-1", meeting(title="acme's")).status_code == 201
    other_api = Api(Client(), other_token, other)
    # the other company does not see acme's schedule, and writing the same ID creates its own
    assert other_api.get("/schedules/S-1").status_code == 404
    assert other_api.get("/schedules/S-1/status").status_code == 404
    assert other_api.put("/schedules/S-1", meeting(title="other's")).status_code == 201
    assert stored(api).title == "acme's"
    assert Schedule.from_dict(StoredSchedule.objects.get(company=other).payload).title == "other's"
    assert stored(api).ref.company == "acme"


def test_token_use_updates_last_used_at_cheaply(api):
    row = ApiToken.objects.get(company=api.company)
    assert row.last_used_at is None
    api.get("/employees")
    row.refresh_from_db()
    first = row.last_used_at
    assert first is not None
    api.get("/employees")
    row.refresh_from_db()
    assert row.last_used_at == first  # not rewritten within the minute


# -- PUT --------------------------------------------------------------------------------------------


def test_s11_put_creates_schedule_durably_with_etag(api):
    response = api.put("/schedules/S-1", meeting())
    assert response.status_code == 201
    body = response.json()
    assert body["source_id"] == "S-1" and body["kind"] == "商談" and body["status"] == "予定"
    assert body["outcome"] == "accepted"
    assert response["ETag"] == body["etag"]
    entry = InboxEntry.objects.get(company=api.company)
    assert entry.trigger == "push" and entry.state == "pending"
    schedule = stored(api)
    assert schedule.customer_name == "赤木電機" and schedule.participants == ("tanaka",)
    assert schedule.start == datetime(2026, 11, 24, 1, 0, tzinfo=UTC)


def test_put_is_idempotent(api):
    first = api.put("/schedules/S-1", meeting())
    again = api.put("/schedules/S-1", meeting())
    assert again.status_code == 200
    assert again.json()["outcome"] == "duplicate"
    assert again["ETag"] == first["ETag"]
    assert InboxEntry.objects.count() == 1


def test_put_replaces_and_changes_the_etag(api):
    first = api.put("/schedules/S-1", meeting())
    second = api.put("/schedules/S-1", meeting(title="変更後"))
    assert second.status_code == 200 and second.json()["outcome"] == "accepted"
    assert second["ETag"] != first["ETag"]
    assert stored(api).title == "変更後"
    assert InboxEntry.objects.count() == 2


def test_english_aliases_for_kind_and_status(api):
    body = {
        "kind": "task",
        "status": "actual",
        "business_name": "会議",
        "start": "2026-11-24T10:00:00+09:00",
        "end": "2026-11-24T11:00:00+09:00",
    }
    response = api.put("/schedules/T-1", body)
    assert response.status_code == 201, response.content
    assert response.json()["kind"] == "業務" and response.json()["status"] == "実績"
    # Exactly the document's enum: another spelling is refused, naming the field.
    refused = api.put("/schedules/T-2", {**body, "kind": "Task"})
    assert refused.status_code == 422 and refused.json()["error"]["field"] == "kind"


def test_naive_times_are_read_in_the_given_or_company_time_zone(api):
    api.put("/schedules/S-1", meeting(start="2026-11-24T10:00", end="2026-11-24T11:00"))
    assert stored(api).start == datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
    api.put(
        "/schedules/S-2", meeting(start="2026-11-24T10:00", end="2026-11-24T11:00", timezone="Europe/Paris")
    )
    assert stored(api, "S-2").start == datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    assert stored(api, "S-2").timezone == "Europe/Paris"


def test_all_day_dates_with_inclusive_end(api):
    response = api.put("/schedules/A-1", meeting(start="2026-11-24", end="2026-11-25"))
    assert response.status_code == 201, response.content
    schedule = stored(api, "A-1")
    assert schedule.span == AllDaySpan(datetime(2026, 11, 24).date(), datetime(2026, 11, 26).date())
    body = response.json()
    assert body["all_day"] is True and body["start"] == "2026-11-24" and body["end"] == "2026-11-25"
    one_day = api.put("/schedules/A-2", meeting(start="2026-11-24", end="2026-11-24", all_day=True))
    assert one_day.status_code == 201
    assert stored(api, "A-2").span.end == datetime(2026, 11, 25).date()


def test_if_match_rejects_stale_writes_with_412(api):
    first = api.put("/schedules/S-1", meeting())
    etag = first["ETag"]
    ok = api.put("/schedules/S-1", meeting(title="v2"), headers={"If-Match": etag})
    assert ok.status_code == 200
    stale = api.put("/schedules/S-1", meeting(title="v3"), headers={"If-Match": etag})
    assert stale.status_code == 412
    assert stale.json()["error"] == {
        **stale.json()["error"],
        "code": "precondition_failed",
        "field": "If-Match",
    }
    assert stored(api).title == "v2"
    assert api.put("/schedules/NEW", meeting(), headers={"If-Match": "*"}).status_code == 412


def test_lower_numeric_version_and_older_updated_at_are_412(api):
    assert api.put("/schedules/S-1", meeting(version=5)).status_code == 201
    response = api.put("/schedules/S-1", meeting(title="old", version=4))
    assert response.status_code == 412 and response.json()["error"]["field"] == "version"
    now = datetime.now(UTC)
    api.put("/schedules/S-2", meeting(updated_at=now.isoformat()))
    older = api.put(
        "/schedules/S-2", meeting(title="older", updated_at=(now - timedelta(hours=1)).isoformat())
    )
    assert older.status_code == 412 and older.json()["error"]["field"] == "updated_at"
    assert stored(api, "S-2").title == "定例"


def test_unknown_participants_are_accepted_with_a_warning(api):
    Employee.objects.create(company=api.company, login_id="tanaka")
    response = api.put("/schedules/S-1", meeting(participants=["tanaka", "ghost"]))
    assert response.status_code == 201
    warnings = response.json()["warnings"]
    assert [w["value"] for w in warnings] == ["ghost"]
    assert warnings[0]["code"] == "unknown_participant" and warnings[0]["field"] == "participants"
    assert stored(api).participants == ("tanaka", "ghost")
    log = SyncLogEntry.objects.get(company=api.company)
    assert log.result == LogResult.WARNING and "ghost" in log.message


# -- bad input --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (meeting(end="2026-11-24T09:00:00+09:00"), "end"),
        (meeting(kind="visit"), "kind"),
        (meeting(status="done-ish"), "status"),
        ({k: v for k, v in meeting().items() if k != "start"}, "start"),
        (meeting(start=12), "start"),
        (meeting(start="tomorrow"), "start"),
        (meeting(participants="tanaka"), "participants"),
        (meeting(participants=["ok", 3]), "participants[1]"),
        (meeting(titel="typo"), "titel"),
        (meeting(timezone="Mars/Olympus"), "timezone"),
        (meeting(start="2026-11-24", end="2026-11-24T10:00:00+09:00"), "end"),
        (meeting(start="2026-11-24", end="2026-11-23"), "end"),
        (meeting(start="0001-01-01T00:00:00+01:00"), "start"),
        (meeting(title="x" * 20_001), "title"),  # text is cleaned, not refused, up to 20,000
        (meeting(participants=["nul\x00char"]), "participants[0]"),  # an identifier is not cleaned
        (meeting(all_day="maybe"), "all_day"),
        (meeting(version="v" * 200), "version"),
    ],
)
def test_bad_input_is_422_naming_the_field(api, body, field):
    response = api.put("/schedules/S-1", body)
    assert response.status_code == 422, response.content
    error = response.json()["error"]
    assert error["code"] == "input_invalid"
    assert error["field"] == field
    assert error["message"] and error["message_ja"]
    assert not StoredSchedule.objects.exists()


@pytest.mark.parametrize("raw", [b"{not json", b"\xff\xfe\x00", b'{"kind": "\xe5"}', b"[" * 100000])
def test_malformed_json_is_400(api, raw):
    response = api.put("/schedules/S-1", raw)
    assert response.status_code in (400, 422)
    assert response.json()["error"]["code"] in ("malformed_json", "input_invalid")


def test_oversized_body_is_413(api):
    response = api.put("/schedules/S-1", meeting(content="x" * (1024 * 1024 + 10)))
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_bad_source_id_is_422(api):
    assert api.put("/schedules/" + "x" * 201, meeting()).json()["error"]["field"] == "source_id"
    assert api.put("/schedules/%20", meeting()).json()["error"]["field"] == "source_id"
    assert api.put("/schedules/a%00b", meeting()).json()["error"]["field"] == "source_id"


# -- DELETE / GET / status ----------------------------------------------------------------------


def test_s4_delete_is_204_and_idempotent(api):
    api.put("/schedules/S-1", meeting())
    assert api.delete("/schedules/S-1").status_code == 204
    assert api.delete("/schedules/S-1").status_code == 204
    row = StoredSchedule.objects.get(company=api.company, record_id="S-1")
    assert row.deleted
    assert InboxEntry.objects.filter(is_deletion=True).count() == 1
    assert api.get("/schedules/S-1").status_code == 404
    assert api.delete("/schedules/never-seen").status_code == 204


def test_delete_then_an_older_create_is_stale(api):
    now = datetime.now(UTC)
    assert (
        api.client.delete(
            f"/api/v1/schedules/S-9?updated_at={now.isoformat().replace('+', '%2B')}",
            HTTP_AUTHORIZATION=f"Bearer {api.token}",
        ).status_code
        == 204
    )
    late = api.put("/schedules/S-9", meeting(updated_at=(now - timedelta(minutes=1)).isoformat()))
    assert late.status_code == 412
    assert StoredSchedule.objects.get(record_id="S-9").deleted


def test_get_returns_the_stored_schedule_and_etag(api):
    put = api.put("/schedules/S-1", meeting())
    got = api.get("/schedules/S-1")
    assert got.status_code == 200 and got["ETag"] == put["ETag"]
    assert got.json()["outcome"] == "stored" and got.json()["title"] == "定例"


def test_status_per_participant_and_inbox(api):
    tanaka = Employee.objects.create(company=api.company, login_id="tanaka", state="on")
    Employee.objects.create(company=api.company, login_id="sato", state="off")
    api.put("/schedules/S-1", meeting(participants=["tanaka", "sato", "ghost"]))
    MirrorEvent.objects.create(
        company=api.company,
        source="push",
        record_id="S-1",
        employee=tanaka,
        login_id="tanaka",
        mailbox="tanaka@example.com",
        transaction_id="t",
        state="failed",
        last_error_code="mailbox_not_found",
    )
    body = api.get("/schedules/S-1/status").json()
    assert body["inbox"]["state"] == "pending" and body["inbox"]["trigger"] == "push"
    by_login = {p["login_id"]: p for p in body["participants"]}
    assert by_login["tanaka"]["state"] == "failed" and by_login["tanaka"]["event_created"] is False
    error = by_login["tanaka"]["last_error"]
    assert error["code"] == "mailbox_not_found" and "tanaka@example.com" in error["message_en"]
    assert error["hint_ja"] and error["hint_en"]
    assert by_login["sato"] == {**by_login["sato"], "state": "not_mirrored", "reason": "sync_off"}
    assert by_login["ghost"]["reason"] == "unknown_employee"
    assert api.get("/schedules/unknown/status").status_code == 404


# -- batch ------------------------------------------------------------------------------------------


def test_batch_keeps_good_items_beside_bad_ones(api):
    items = [
        {"op": "upsert", "source_id": "B-1", "schedule": meeting()},
        {"op": "upsert", "source_id": "B-2", "schedule": meeting(end="2026-11-24T09:00:00+09:00")},
        {"op": "upsert", "source_id": "B-3", "schedule": meeting(kind="???")},
        {"op": "frobnicate", "source_id": "B-4"},
        "not an object",
        {"op": "upsert", "source_id": "B-5"},
        {"op": "delete", "source_id": "B-1"},
        {"op": "upsert", "source_id": "B-6", "schedule": meeting(title="six")},
    ]
    response = api.post("/schedules:batch", {"items": items})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["succeeded"] == 3 and body["failed"] == 5
    results = body["results"]
    assert [r["status"] for r in results] == [201, 422, 422, 422, 422, 422, 204, 201]
    assert results[1]["error"]["field"] == "items[1].schedule.end"
    assert results[2]["error"]["field"] == "items[2].schedule.kind"
    assert results[3]["error"]["field"] == "items[3].op"
    assert results[5]["error"]["field"] == "items[5].schedule"
    assert StoredSchedule.objects.get(record_id="B-1").deleted
    assert stored(api, "B-6").title == "six"
    assert not StoredSchedule.objects.filter(record_id__in=["B-2", "B-3", "B-4", "B-5"]).exists()


def test_batch_envelope_errors(api):
    too_many = {"items": [{"op": "delete", "source_id": str(i)} for i in range(501)]}
    response = api.post("/schedules:batch", too_many)
    assert response.status_code == 422 and response.json()["error"]["field"] == "items"
    assert api.post("/schedules:batch", {"items": []}).status_code == 422
    assert api.post("/schedules:batch", [1, 2]).status_code == 422
    assert api.post("/schedules:batch", "{oops").status_code == 400
    big = {"items": [{"op": "upsert", "source_id": "x", "schedule": meeting(content="y" * 30000)}] * 200}
    assert api.post("/schedules:batch", big).status_code == 413


def test_batch_of_500_is_accepted(api):
    items = [{"op": "upsert", "source_id": f"N-{i}", "schedule": meeting(title=str(i))} for i in range(500)]
    response = api.post("/schedules:batch", {"items": items})
    assert response.status_code == 200
    assert response.json()["succeeded"] == 500
    assert StoredSchedule.objects.filter(company=api.company).count() == 500


def test_openapi_document_and_docs_are_published(client):
    doc = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/schedules:batch" in doc["paths"]
    assert "BatchRequest" in doc["components"]["schemas"]
    put = doc["paths"]["/api/v1/schedules/{source_id}"]["put"]
    assert {"200", "201", "412", "422"} <= set(put["responses"])
    assert client.get("/api/v1/docs").status_code == 200


def test_token_requests_need_no_csrf_cookie(api):
    client = Client(enforce_csrf_checks=True)
    response = client.put(
        "/api/v1/schedules/S-1",
        data=json.dumps(meeting()),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {api.token}",
    )
    assert response.status_code == 201


def test_batch_path_with_encoded_colon(api):
    items = [{"op": "delete", "source_id": "X-1"}]
    response = api.post("/schedules%3Abatch", {"items": items})
    assert response.status_code == 200 and response.json()["succeeded"] == 1
