"""Every event and calendar body the emulator returns conforms to Microsoft's v1.0 CSDL."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sfacal.emulators.m365.csdl import SCHEMA_FILE, Schema, build_subset

from .conftest import EXT_ID, Receiver, World, csdl_path, event_body

EVENT = "microsoft.graph.event"
CALENDAR = "microsoft.graph.calendar"


def assert_conforms(schema: Schema, body: dict[str, Any], type_name: str) -> None:
    issues = schema.validate(body, type_name, allow_navigation=("singleValueExtendedProperties",))
    assert not issues, "\n".join(str(i) for i in issues)


def test_validator_reads_inheritance_collections_and_enums(full_schema: Schema) -> None:
    props = full_schema.properties(EVENT)
    assert {"id", "changeKey", "createdDateTime", "categories", "subject", "start"} <= set(
        props
    )  # entity, outlookItem, event
    assert props["categories"].collection and props["categories"].type == "Edm.String"
    assert props["start"].type == "microsoft.graph.dateTimeTimeZone"
    assert not full_schema.properties("microsoft.graph.dateTimeTimeZone")["dateTime"].nullable
    assert "confidential" in full_schema.enums["microsoft.graph.sensitivity"].members


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        ({"subject": "x", "colour": "red"}, "unknown_property"),
        ({"subject": 1}, "type_mismatch"),
        ({"isAllDay": "true"}, "type_mismatch"),
        ({"sensitivity": "secret"}, "bad_enum"),
        ({"createdDateTime": "yesterday"}, "bad_format"),
        ({"categories": "a"}, "expected_array"),
        ({"categories": [None]}, "null_not_allowed"),
        ({"start": {"timeZone": "UTC", "dateTime": None}}, "null_not_allowed"),
        ({"location": {"displayName": "x", "floor": 1}}, "unknown_property"),
        ({"reminderMinutesBeforeStart": 2**40}, "bad_format"),
        ({"singleValueExtendedProperties": [{"id": "x", "value": 1}]}, "type_mismatch"),
    ],
)
def test_validator_finds_departures(full_schema: Schema, body: dict[str, Any], kind: str) -> None:
    issues = full_schema.validate(body, EVENT, allow_navigation=("singleValueExtendedProperties",))
    assert [i.kind for i in issues] == [kind]


def test_navigation_needs_permission(full_schema: Schema) -> None:
    body = {"singleValueExtendedProperties": [{"id": EXT_ID, "value": "v"}]}
    assert full_schema.validate(body, EVENT)[0].kind == "unknown_property"
    assert full_schema.validate(body, EVENT, allow_navigation=("singleValueExtendedProperties",)) == []


def test_shipped_schema_subset_matches_microsofts_csdl() -> None:
    assert json.loads(SCHEMA_FILE.read_text(encoding="utf-8")) == build_subset(csdl_path())


def test_every_returned_event_and_calendar_conforms(
    world: World, full_schema: Schema, receiver: Receiver
) -> None:
    tagged = [{"id": EXT_ID, "value": "sched-1"}]
    bodies: list[tuple[dict[str, Any], str]] = []
    created = world.create_event(
        transactionId="c-1", singleValueExtendedProperties=tagged, categories=["SFA"]
    )
    bodies.append((created, EVENT))
    all_day = world.create_event(
        isAllDay=True,
        start={"dateTime": "2025-03-12", "timeZone": "Asia/Tokyo"},
        end={"dateTime": "2025-03-13", "timeZone": "Asia/Tokyo"},
    )
    bodies.append((all_day, EVENT))
    html = world.create_event(
        body={"contentType": "html", "content": "<p>x</p>"}, location={"displayName": ""}
    )
    bodies.append((html, EVENT))
    path = f"users/{world.upn}/events/{created['id']}"
    expand = f"singleValueExtendedProperties($filter=id eq '{EXT_ID}')"
    for headers in (
        {},
        {"Prefer": 'outlook.timezone="Tokyo Standard Time", outlook.body-content-type="text"'},
    ):
        r = world.get(path, params={"$expand": expand}, headers=headers)
        bodies.append((r.json(), EVENT))
    patched = world.patch(path, json={"subject": "更新", "sensitivity": "private", "showAs": "tentative"})
    bodies.append((patched.json(), EVENT))
    listed = world.get(f"users/{world.upn}/calendar/events", params={"$expand": expand, "$top": "2"}).json()
    bodies += [(v, EVENT) for v in listed["value"]]
    selected = world.get(f"users/{world.upn}/events", params={"$select": "subject,start,end,isAllDay"}).json()
    bodies += [(v, EVENT) for v in selected["value"]]
    view = world.get(
        f"users/{world.upn}/calendarView",
        params={"startDateTime": "2025-03-01T00:00:00Z", "endDateTime": "2025-04-01T00:00:00Z"},
    ).json()
    bodies += [(v, EVENT) for v in view["value"]]
    delta = world.get(
        f"users/{world.upn}/calendarView/delta",
        params={"startDateTime": "2025-03-01T00:00:00Z", "endDateTime": "2025-04-01T00:00:00Z"},
    ).json()
    world.delete(f"users/{world.upn}/events/{html['id']}")
    link = delta.get("@odata.deltaLink") or delta["@odata.nextLink"]
    changes = world.http.get(link, headers={"Authorization": f"Bearer {world.token}"}).json()
    bodies += [(v, EVENT) for v in delta["value"] + changes["value"]]
    assert any("@removed" in v for v in changes["value"])
    calendars = world.get(f"users/{world.upn}/calendars").json()["value"]
    bodies += [(c, CALENDAR) for c in calendars]
    bodies.append((world.get(f"users/{world.upn}/calendar").json(), CALENDAR))
    bodies.append((world.post(f"users/{world.upn}/calendars", json={"name": "新しい"}).json(), CALENDAR))
    batch = world.post(
        "$batch",
        json={
            "requests": [
                {
                    "id": "a",
                    "method": "POST",
                    "url": f"/users/{world.upn}/events",
                    "headers": {"Content-Type": "application/json"},
                    "body": event_body(),
                }
            ]
        },
    ).json()
    bodies.append((batch["responses"][0]["body"], EVENT))
    sub = world.post(
        "subscriptions",
        json={
            "changeType": "created",
            "notificationUrl": receiver.url,
            "resource": f"users/{world.upn}/events",
            "expirationDateTime": _soon(),
            "clientState": "s",
        },
    )
    assert sub.status_code == 201, sub.text
    bodies.append((sub.json(), "microsoft.graph.subscription"))

    assert len(bodies) >= 20
    for body, type_name in bodies:
        assert "error" not in body, body
        assert_conforms(full_schema, body, type_name)


def _soon() -> str:
    from datetime import UTC, datetime, timedelta

    return (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
