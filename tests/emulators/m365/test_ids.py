"""Event ids as Graph gives them: immutable ids on request, REST ids that change when the user moves
an event to another calendar, and 400 ``ErrorInvalidIdMalformed`` for what cannot be an id."""

from __future__ import annotations

from typing import Any

import pytest

from sfacal.emulators.m365.ids import new_immutable_id

from .conftest import UNKNOWN_ID, Receiver, World, event_body
from .test_delta_and_subscriptions import WINDOW, follow, initial

IMMUTABLE = {"Prefer": 'IdType="ImmutableId"'}


def err(r: Any) -> dict[str, Any]:
    assert r.status_code >= 400, r.text
    return dict(r.json()["error"])


def create(world: World, headers: dict[str, str] | None = None, **overrides: Any) -> dict[str, Any]:
    r = world.post(f"users/{world.upn}/calendar/events", json=event_body(**overrides), headers=headers or {})
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_immutable_ids_on_request_with_preference_applied(world: World) -> None:
    """``Prefer: IdType="ImmutableId"`` returns immutable ids and says so in ``Preference-Applied``;
    without it the default (REST) id comes back; either id reaches the event.
    Microsoft: https://learn.microsoft.com/en-us/graph/outlook-immutable-id ("Prefer:
    IdType=\\"ImmutableId\\" ... This header only applies to the request it is included with");
    Preference-Applied: IdType="ImmutableId" is what public Graph clients probe for."""
    r = world.post(f"users/{world.upn}/calendar/events", json=event_body(), headers=IMMUTABLE)
    assert r.status_code == 201
    assert 'IdType="ImmutableId"' in r.headers["Preference-Applied"]
    immutable = r.json()["id"]
    assert immutable.startswith("AAkALg")
    plain = world.get(f"users/{world.upn}/events/{immutable}")
    assert plain.status_code == 200 and "Preference-Applied" not in plain.headers
    rest = plain.json()["id"]
    assert rest.startswith("AAMk") and rest != immutable
    assert world.get(f"users/{world.upn}/events/{rest}", headers=IMMUTABLE).json()["id"] == immutable
    listed = world.get(f"users/{world.upn}/events", headers=IMMUTABLE)
    assert [v["id"] for v in listed.json()["value"]] == [immutable]
    assert 'IdType="ImmutableId"' in listed.headers["Preference-Applied"]
    assert world.get(f"users/{world.upn}/events", params={"$filter": f"id eq '{immutable}'"}).json()["value"]
    (stored,) = world.handle.control.events(world.upn)
    assert (stored["id"], stored["restId"]) == (immutable, rest)


def test_a_move_to_another_calendar_changes_the_rest_id_not_the_immutable_id(world: World) -> None:
    """Moving an event to another calendar gives it a new REST id (the old one is not found any
    more) and keeps its immutable id. Microsoft: the event's id "changes when the item is moved from
    one container (such as a folder or calendar) to another. To change this behavior, use the
    Prefer: IdType="ImmutableId" header" (event resource, id); "immutable ID will NOT change if the
    item is moved to a different folder in the mailbox" (outlook-immutable-id)."""
    ev = create(world, headers=IMMUTABLE)
    immutable = ev["id"]
    rest = world.get(f"users/{world.upn}/events/{immutable}").json()["id"]
    moved = world.handle.control.user_move_event(world.upn, immutable, "SFA")
    assert moved["id"] == immutable and moved["calendarId"] == world.user.calendars["SFA"]
    assert moved["restId"] != rest and moved["changeKey"] != ev["changeKey"]
    gone = world.get(f"users/{world.upn}/events/{rest}")
    assert gone.status_code == 404 and err(gone)["code"] == "ErrorItemNotFound"
    now = world.get(f"users/{world.upn}/events/{immutable}", headers=IMMUTABLE).json()
    assert now["id"] == immutable and now["changeKey"] == moved["changeKey"]
    assert world.get(f"users/{world.upn}/events/{moved['restId']}").json()["id"] == moved["restId"]
    assert world.get(f"users/{world.upn}/calendar/events").json()["value"] == []
    named = world.get(f"users/{world.upn}/calendars/{world.user.calendars['SFA']}/events", headers=IMMUTABLE)
    assert [v["id"] for v in named.json()["value"]] == [immutable]
    r = world.patch(f"users/{world.upn}/events/{immutable}", json={"subject": "after the move"})
    assert r.status_code == 200 and r.json()["id"] == moved["restId"]


def test_delta_reports_an_event_moved_out_of_the_default_calendar_as_removed(world: World) -> None:
    """The default calendar's change feed reports an event the user moved away as removed, under
    the id kind each request asks for (the REST id it had there, or the immutable id)."""
    at = {
        "start": {"dateTime": "2025-03-10T10:00:00", "timeZone": "UTC"},
        "end": {"dateTime": "2025-03-10T11:00:00", "timeZone": "UTC"},
    }
    ev = create(world, headers=IMMUTABLE, **at)
    rest = world.get(f"users/{world.upn}/events/{ev['id']}").json()["id"]
    _, plain_link, _ = initial(world)
    url = world.url(
        f"users/{world.upn}/calendarView/delta?startDateTime={WINDOW['startDateTime']}"
        f"&endDateTime={WINDOW['endDateTime']}"
    )
    r = world.get(url.split("/v1.0/", 1)[1], headers=IMMUTABLE)
    immutable_link = r.json()["@odata.deltaLink"]
    world.handle.control.user_move_event(world.upn, ev["id"], "SFA")
    items, _, _ = follow(world, plain_link)
    assert items == [{"@odata.type": "#microsoft.graph.event", "id": rest, "@removed": {"reason": "deleted"}}]
    r = world.http.get(immutable_link, headers={"Authorization": f"Bearer {world.token}", **IMMUTABLE})
    assert [(i["id"], i["@removed"]) for i in r.json()["value"]] == [(ev["id"], {"reason": "deleted"})]
    assert 'IdType="ImmutableId"' in r.headers["Preference-Applied"]


def test_batch_items_need_their_own_preference(world: World) -> None:
    """In ``$batch`` each request's own headers count: the preference on the outer POST does not
    reach the items (microsoftgraph/msgraph-sdk-dotnet#680: a batch sent without it per item
    returned default ids)."""
    items = [
        {
            "id": str(i),
            "method": "POST",
            "url": f"/users/{world.upn}/calendar/events",
            "headers": {"Content-Type": "application/json", **(IMMUTABLE if i == 1 else {})},
            "body": event_body(subject=f"b{i}"),
        }
        for i in (1, 2)
    ]
    r = world.post("$batch", json={"requests": items}, headers=IMMUTABLE)
    by_id = {x["id"]: x for x in r.json()["responses"]}
    assert by_id["1"]["body"]["id"].startswith("AAkALg")
    assert 'IdType="ImmutableId"' in by_id["1"]["headers"]["Preference-Applied"]
    assert by_id["2"]["body"]["id"].startswith("AAMk")


def test_knob_rest_ids_change_on_every_update(world: World) -> None:
    """Emulator only: with ``rest_ids_change_on_update`` every change gives a new REST id, so a client
    that keeps REST ids fails at once; immutable ids are untouched."""
    world.handle.control.set_knobs(rest_ids_change_on_update=True)
    ev = create(world)
    immutable = world.get(f"users/{world.upn}/events/{ev['id']}", headers=IMMUTABLE).json()["id"]
    r = world.patch(f"users/{world.upn}/events/{ev['id']}", json={"subject": "changed"})
    assert r.status_code == 200 and r.json()["id"] != ev["id"]
    assert world.get(f"users/{world.upn}/events/{ev['id']}").status_code == 404
    assert world.patch(f"users/{world.upn}/events/{immutable}", json={"subject": "again"}).status_code == 200
    assert world.get(f"users/{world.upn}/events/{immutable}").json()["subject"] == "again"


def test_notifications_carry_the_id_kind_the_subscription_asked_for(world: World, receiver: Receiver) -> None:
    """A subscription created with ``Prefer: IdType="ImmutableId"`` gets immutable ids in its
    notifications (Microsoft: outlook-immutable-id, "Immutable ID with change notifications")."""
    body = {
        "changeType": "created",
        "notificationUrl": receiver.url,
        "resource": f"users/{world.upn}/events",
        "expirationDateTime": "2099-01-01T00:00:00Z",
    }
    world.handle.control.set_knobs(max_subscription_minutes=10**9)
    assert world.post("subscriptions", json=body, headers=IMMUTABLE).status_code == 201
    ev = create(world, headers=IMMUTABLE)
    (note,) = receiver.wait_for(1)
    assert note["value"][0]["resourceData"]["id"] == ev["id"]


@pytest.mark.parametrize(
    "bad",
    [
        "nope",
        "AAMkADnope=",
        "12345",
        "AAMkAD-not-base64!",
        new_immutable_id()[:20],
        "00000000-0000-0000-0000",
    ],
)
def test_malformed_ids_are_400_error_invalid_id_malformed(world: World, bad: str) -> None:
    """An id that cannot be an Exchange id is 400 ``ErrorInvalidIdMalformed`` "Id is malformed."
    -- not 404 -- for GET, PATCH and DELETE of an event and for a calendar id; a well-formed id of
    nothing is 404 ``ErrorItemNotFound``. Graph's body: microsoftgraph/microsoft-graph-docs#2268
    (``{"error": {"code": "ErrorInvalidIdMalformed", "message": "Id is malformed."}}``), #15159."""
    base = f"users/{world.upn}"
    for r in (
        world.get(f"{base}/events/{bad}"),
        world.patch(f"{base}/events/{bad}", json={"subject": "x"}),
        world.delete(f"{base}/events/{bad}"),
        world.get(f"{base}/calendars/{bad}"),
        world.get(f"{base}/calendars/{bad}/events"),
    ):
        assert r.status_code == 400, r.text
        assert (err(r)["code"], err(r)["message"]) == ("ErrorInvalidIdMalformed", "Id is malformed.")
        assert set(err(r)["innerError"]) == {"date", "request-id", "client-request-id"}
    r = world.delete(f"{base}/events/{UNKNOWN_ID}")
    assert r.status_code == 404 and err(r)["code"] == "ErrorItemNotFound"
