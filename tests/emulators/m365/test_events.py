"""Events, calendars and users over real HTTPS: Graph's documented behaviour and error shapes."""

from __future__ import annotations

import json
from typing import Any

from .conftest import EXT_ID, World, event_body


def err(r: Any) -> dict[str, Any]:
    body = r.json()
    assert set(body) == {"error"}, body
    e = body["error"]
    assert set(e["innerError"]) == {"date", "request-id", "client-request-id"}
    return dict(e)


def test_create_returns_201_with_etag_changekey_and_times(world: World) -> None:
    ev = world.create_event(transactionId="tx-1")
    assert ev["@odata.etag"] == f'W/"{ev["changeKey"]}"'
    assert ev["start"] == {"dateTime": "2025-03-10T01:00:00.0000000", "timeZone": "UTC"}
    assert ev["originalStartTimeZone"] == "Tokyo Standard Time"
    assert ev["transactionId"] == "tx-1"
    assert ev["createdDateTime"] == ev["lastModifiedDateTime"]
    assert ev["location"]["displayName"] == "東京都千代田区"
    assert ev["body"]["contentType"] == "html" and "打ち合わせメモ" in ev["body"]["content"]
    assert ev["bodyPreview"] == "打ち合わせメモ"


def test_transaction_id_deduplicates_a_retried_create(world: World) -> None:
    body = event_body(transactionId="retry-me")
    first = world.post(f"users/{world.upn}/calendar/events", json=body)
    second = world.post(f"users/{world.upn}/calendar/events", json=body)
    assert first.status_code == 201 and second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    assert len(world.handle.control.events(world.upn)) == 1
    different = world.post(
        f"users/{world.upn}/calendar/events", json=event_body(transactionId="retry-me", subject="other")
    )
    assert different.status_code == 400
    assert err(different)["code"] == "ErrorDuplicateTransactionId"
    assert len(world.handle.control.events(world.upn)) == 1


def test_patch_changes_changekey_and_stale_if_match_gets_412(world: World) -> None:
    ev = world.create_event()
    path = f"users/{world.upn}/events/{ev['id']}"
    r = world.patch(path, json={"subject": "変更"}, headers={"If-Match": ev["@odata.etag"]})
    assert r.status_code == 200, r.text
    updated = r.json()
    assert updated["subject"] == "変更" and updated["changeKey"] != ev["changeKey"]
    assert updated["lastModifiedDateTime"] >= ev["lastModifiedDateTime"]
    stale = world.patch(path, json={"subject": "again"}, headers={"If-Match": ev["@odata.etag"]})
    assert stale.status_code == 412
    assert err(stale)["code"] == "ErrorIrresolvableConflict"
    assert world.delete(path, headers={"If-Match": ev["@odata.etag"]}).status_code == 412
    assert world.get(path).json()["subject"] == "変更"


def test_delete_is_204_then_404(world: World) -> None:
    ev = world.create_event()
    path = f"users/{world.upn}/events/{ev['id']}"
    r = world.delete(path)
    assert r.status_code == 204 and r.content == b""
    for r in (world.get(path), world.delete(path), world.patch(path, json={"subject": "x"})):
        assert r.status_code == 404
        e = err(r)
        assert e["code"] == "ErrorItemNotFound"
        assert e["message"] == "The specified object was not found in the store."


def test_all_day_requires_midnight_and_ignores_prefer_timezone(world: World) -> None:
    bad = event_body(
        isAllDay=True,
        start={"dateTime": "2025-03-10T09:00:00", "timeZone": "Tokyo Standard Time"},
        end={"dateTime": "2025-03-11T00:00:00", "timeZone": "Tokyo Standard Time"},
    )
    r = world.post(f"users/{world.upn}/calendar/events", json=bad)
    assert r.status_code == 400 and err(r)["code"] == "ErrorPropertyValidationFailure"
    ev = world.create_event(
        isAllDay=True,
        start={"dateTime": "2025-03-10T00:00:00", "timeZone": "Tokyo Standard Time"},
        end={"dateTime": "2025-03-11T00:00:00", "timeZone": "Tokyo Standard Time"},
    )
    assert ev["isAllDay"] is True
    r = world.get(
        f"users/{world.upn}/events/{ev['id']}", headers={"Prefer": 'outlook.timezone="Pacific Standard Time"'}
    )
    assert r.json()["start"] == {
        "dateTime": "2025-03-10T00:00:00.0000000",
        "timeZone": "Pacific Standard Time",
    }
    assert r.json()["end"]["dateTime"] == "2025-03-11T00:00:00.0000000"
    # Turning a timed event into all-day with non-midnight times fails the same way.
    timed = world.create_event()
    r = world.patch(f"users/{world.upn}/events/{timed['id']}", json={"isAllDay": True})
    assert r.status_code == 400 and err(r)["code"] == "ErrorPropertyValidationFailure"


def test_prefer_timezone_converts_windows_and_iana_names(world: World) -> None:
    ev = world.create_event(
        start={"dateTime": "2025-07-01T09:30:00", "timeZone": "Asia/Tokyo"},
        end={"dateTime": "2025-07-01T10:30:00", "timeZone": "Asia/Tokyo"},
    )
    path = f"users/{world.upn}/events/{ev['id']}"
    assert ev["start"]["dateTime"] == "2025-07-01T00:30:00.0000000"
    r = world.get(path, headers={"Prefer": 'outlook.timezone="Tokyo Standard Time"'})
    assert r.json()["start"] == {"dateTime": "2025-07-01T09:30:00.0000000", "timeZone": "Tokyo Standard Time"}
    r = world.get(path, headers={"Prefer": 'outlook.timezone="Pacific Standard Time"'})
    assert r.json()["start"]["dateTime"] == "2025-06-30T17:30:00.0000000"  # PDT, UTC-7
    bad = world.post(
        f"users/{world.upn}/calendar/events",
        json=event_body(start={"dateTime": "2025-07-01T09:30:00", "timeZone": "Mars/Olympus"}),
    )
    assert bad.status_code == 400 and err(bad)["code"] == "TimeZoneNotSupportedException"


def test_time_zones_are_windows_names_or_the_documented_iana_list(world: World) -> None:
    """Graph takes any Windows zone name and only the IANA names its "dateTimeTimeZone resource
    type" page lists (learn.microsoft.com/graph/api/resources/datetimetimezone); others are
    answered 400 TimeZoneNotSupportedException with this message (observed:
    microsoftgraph/microsoft-graph-docs#4758)."""
    path = f"users/{world.upn}/calendar/events"
    accepted = {
        "W. Europe Standard Time": "2025-07-01T07:30:00.0000000",  # CEST, UTC+2
        "eastern standard time": "2025-07-01T13:30:00.0000000",  # EDT, UTC-4; any case
        "British Columbia Standard Time": "2025-07-01T16:30:00.0000000",  # Windows' newest zones too
        "Asia/Tokyo": "2025-07-01T00:30:00.0000000",  # listed
        "Europe/Kiev": "2025-07-01T06:30:00.0000000",  # listed as "Europe/Kyiv (Kiev)"
        "Etc/GMT-12": "2025-06-30T21:30:00.0000000",
    }
    for name, utc in accepted.items():
        times = {"dateTime": "2025-07-01T09:30:00", "timeZone": name}
        r = world.post(path, json=event_body(start=times, end=dict(times, dateTime="2025-07-01T10:30:00")))
        assert r.status_code == 201, (name, r.text)
        assert r.json()["start"]["dateTime"] == utc and r.json()["originalStartTimeZone"] == name
    for name in (
        "Europe/Amsterdam",
        "America/Toronto",
        "Asia/Kuala_Lumpur",
        "Greenwich Mean Time",
        "Etc/UTC",
    ):
        times = {"dateTime": "2025-07-01T09:30:00", "timeZone": name}
        r = world.post(path, json=event_body(start=times, end=dict(times, dateTime="2025-07-01T10:30:00")))
        assert r.status_code == 400, name
        assert err(r)["code"] == "TimeZoneNotSupportedException"
        assert err(r)["message"] == (
            f"A valid TimeZone value must be specified. The following TimeZone value is not supported: '{name}'."
        )


def test_extended_property_filter_expand_and_select(world: World) -> None:
    for i in range(3):
        world.create_event(
            subject=f"s{i}", singleValueExtendedProperties=[{"id": EXT_ID, "value": f"sched-{i}"}]
        )
    world.create_event(subject="untagged")
    flt = f"singleValueExtendedProperties/Any(ep: ep/id eq '{EXT_ID}' and ep/value eq 'sched-1')"
    expand = f"singleValueExtendedProperties($filter=id eq '{EXT_ID}')"
    r = world.get(
        f"users/{world.upn}/calendar/events", params={"$filter": flt, "$expand": expand, "$select": "subject"}
    )
    assert r.status_code == 200, r.text
    values = r.json()["value"]
    assert len(values) == 1
    assert set(values[0]) == {"@odata.etag", "id", "subject", "singleValueExtendedProperties"}
    assert values[0]["singleValueExtendedProperties"] == [{"id": EXT_ID, "value": "sched-1"}]
    everything_tagged = world.get(
        f"users/{world.upn}/events",
        params={"$filter": f"singleValueExtendedProperties/any(x: x/id eq '{EXT_ID}')"},
    )
    assert sorted(v["subject"] for v in everything_tagged.json()["value"]) == ["s0", "s1", "s2"]
    plain = world.get(f"users/{world.upn}/events", params={"$filter": flt})
    assert "singleValueExtendedProperties" not in plain.json()["value"][0]
    r = world.get(f"users/{world.upn}/events", params={"$select": "nosuch"})
    assert r.status_code == 400 and err(r)["code"] == "RequestBroker--ParseUri"
    r = world.get(f"users/{world.upn}/events", params={"$filter": "startswith(subject,'x')"})
    assert r.status_code == 400


def test_top_and_next_link_paging(world: World) -> None:
    ids = {world.create_event(subject=f"e{i}")["id"] for i in range(7)}
    seen: list[str] = []
    url: str | None = world.url(f"users/{world.upn}/calendar/events?$top=3")
    pages = 0
    while url:
        r = world.http.get(url, headers={"Authorization": f"Bearer {world.token}"})
        assert r.status_code == 200
        seen += [v["id"] for v in r.json()["value"]]
        url = r.json().get("@odata.nextLink")
        pages += 1
    assert pages == 3 and len(seen) == 7 and set(seen) == ids


def test_named_calendars_and_calendar_view(world: World) -> None:
    r = world.post(f"users/{world.upn}/calendars", json={"name": "営業予定"})
    assert r.status_code == 201, r.text
    cal = r.json()
    assert cal["isDefaultCalendar"] is False
    dup = world.post(f"users/{world.upn}/calendars", json={"name": "営業予定"})
    assert dup.status_code == 409
    names = [c["name"] for c in world.get(f"users/{world.upn}/calendars").json()["value"]]
    assert {"Calendar", "SFA", "営業予定"} <= set(names)
    default = world.get(f"users/{world.upn}/calendar").json()
    assert default["isDefaultCalendar"] is True and default["name"] == "Calendar"

    r = world.post(f"users/{world.upn}/calendars/{cal['id']}/events", json=event_body(subject="named"))
    assert r.status_code == 201
    named_id = r.json()["id"]
    world.create_event(subject="default")
    listed = world.get(f"users/{world.upn}/calendars/{cal['id']}/events").json()["value"]
    assert [e["subject"] for e in listed] == ["named"]
    assert world.get(f"users/{world.upn}/events/{named_id}").status_code == 200
    assert world.get(f"users/{world.upn}/calendar/events/{named_id}").status_code == 404

    view = world.get(
        f"users/{world.upn}/calendarView",
        params={"startDateTime": "2025-03-10T00:00:00Z", "endDateTime": "2025-03-11T00:00:00Z"},
    )
    assert [e["subject"] for e in view.json()["value"]] == ["default"]
    outside = world.get(
        f"users/{world.upn}/calendarView",
        params={"startDateTime": "2025-03-11T00:00:00Z", "endDateTime": "2025-03-12T00:00:00Z"},
    )
    assert outside.json()["value"] == []
    missing = world.get(f"users/{world.upn}/calendarView")
    assert missing.status_code == 400 and err(missing)["code"] == "ErrorInvalidParameter"


def test_user_errors(world: World) -> None:
    r = world.get("users/nobody@example.com/calendar/events")
    assert r.status_code == 404
    e = err(r)
    assert (
        e["code"] == "ErrorInvalidUser"
        and e["message"] == "The requested user 'nobody@example.com' is invalid."
    )
    no_mailbox = world.new_user(has_mailbox=False)
    r = world.get(f"users/{no_mailbox.upn}/calendar")
    assert r.status_code == 404
    assert err(r) | {} and r.json()["error"]["code"] == "ErrorNonExistentMailbox"
    assert r.json()["error"]["message"] == "The SMTP address has no mailbox associated with it."
    disabled = world.new_user(rest_enabled=False)
    r = world.post(f"users/{disabled.id}/calendar/events", json=event_body())
    assert r.status_code == 404 and err(r)["code"] == "MailboxNotEnabledForRESTAPI"
    by_id = world.get(f"users/{world.user.id}/calendar")
    assert by_id.status_code == 200
    me = world.get("me/events")
    assert me.status_code == 400


def test_malformed_bodies_get_graph_errors_not_500(world: World) -> None:
    path = f"users/{world.upn}/calendar/events"
    r = world.post(path, content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and err(r)["code"] == "BadRequest"
    r = world.post(path, json=event_body(colour="blue"))
    assert r.status_code == 400
    e = err(r)
    assert (
        e["code"] == "RequestBodyRead"
        and "'colour' does not exist on type 'Microsoft.OutlookServices.Event'" in e["message"]
    )
    r = world.post(path, json=event_body(subject=123))
    assert r.status_code == 400 and "Edm.String" in err(r)["message"]
    r = world.post(path, json=event_body(sensitivity="secret"))
    assert r.status_code == 400 and err(r)["message"] == "Requested value 'secret' was not found."
    r = world.post(path, json=event_body(location="東京"))
    assert r.status_code == 400 and "StartObject" in err(r)["message"]
    r = world.post(path, json=event_body(location={"displayName": "x", "floor": 3}))
    assert r.status_code == 400 and "Microsoft.OutlookServices.Location" in err(r)["message"]
    r = world.post(path, json=[1, 2])
    assert r.status_code == 400
    big = event_body(body={"contentType": "text", "content": "x" * (4 * 1024 * 1024 + 10)})
    r = world.post(path, content=json.dumps(big).encode(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and err(r)["code"] == "RequestEntityTooLarge"
    r = world.post(
        path, json=event_body(end={"dateTime": "2025-03-10T09:00:00", "timeZone": "Tokyo Standard Time"})
    )
    assert r.status_code == 400 and err(r)["code"] == "ErrorPropertyValidationFailure"
    r = world.post(path, json=event_body(singleValueExtendedProperties=[{"id": "nonsense", "value": "x"}]))
    assert r.status_code == 400
    assert world.get("users").status_code == 400
    assert len(world.handle.control.events(world.upn)) == 0


def test_body_content_type_preference(world: World) -> None:
    ev = world.create_event(body={"contentType": "text", "content": "一行目\n二行目 <b>"})
    r = world.get(
        f"users/{world.upn}/events/{ev['id']}", headers={"Prefer": 'outlook.body-content-type="text"'}
    )
    assert r.json()["body"] == {"contentType": "text", "content": "一行目\n二行目 <b>"}
    assert "&lt;b&gt;" in ev["body"]["content"]


def test_control_user_edit_changes_change_key(world: World) -> None:
    ev = world.create_event(singleValueExtendedProperties=[{"id": EXT_ID, "value": "s-9"}])
    stored = world.handle.control.events(world.upn)
    assert stored[0]["singleValueExtendedProperties"] == [{"id": EXT_ID, "value": "s-9"}]
    edited = world.handle.control.user_update_event(world.upn, ev["id"], {"subject": "Outlook で変更"})
    assert edited["changeKey"] != ev["changeKey"]
    r = world.patch(
        f"users/{world.upn}/events/{ev['id']}", json={"subject": "x"}, headers={"If-Match": ev["@odata.etag"]}
    )
    assert r.status_code == 412
    world.handle.control.user_delete_event(world.upn, ev["id"])
    assert world.get(f"users/{world.upn}/events/{ev['id']}").status_code == 404


def test_a_fetched_event_can_be_patched_back_unchanged(world: World) -> None:
    ev = world.create_event(
        transactionId="round-trip", singleValueExtendedProperties=[{"id": EXT_ID, "value": "v"}]
    )
    fetched = world.get(
        f"users/{world.upn}/events/{ev['id']}",
        params={"$expand": f"singleValueExtendedProperties($filter=id eq '{EXT_ID}')"},
    ).json()
    r = world.patch(
        f"users/{world.upn}/events/{ev['id']}", json=fetched, headers={"If-Match": fetched["@odata.etag"]}
    )
    assert r.status_code == 200, r.text
    after = r.json()
    assert after["start"] == ev["start"] and after["end"] == ev["end"] and after["subject"] == ev["subject"]
    assert after["changeKey"] != ev["changeKey"]


def test_event_create_in_a_read_only_calendar_is_access_denied(world: World) -> None:
    cal_id = world.handle.control.create_calendar(world.upn, "閲覧のみ", can_edit=False)
    calendars = world.get(f"/users/{world.upn}/calendars").json()["value"]
    assert next(c for c in calendars if c["id"] == cal_id)["canEdit"] is False
    resp = world.post(f"/users/{world.upn}/calendars/{cal_id}/events", json=event_body())
    assert resp.status_code == 403
    assert resp.json()["error"]["code"] == "ErrorAccessDenied"
