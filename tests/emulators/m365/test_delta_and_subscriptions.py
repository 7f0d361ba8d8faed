"""calendarView/delta and change notifications (with a local subscriber)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from .conftest import Receiver, World, event_body

WINDOW = {"startDateTime": "2025-03-01T00:00:00Z", "endDateTime": "2025-04-01T00:00:00Z"}


def follow(world: World, url: str, page_size: int | None = None) -> tuple[list[dict[str, Any]], str, int]:
    """Follow nextLinks to the deltaLink; returns (items, deltaLink, pages)."""
    items: list[dict[str, Any]] = []
    pages = 0
    headers = {"Authorization": f"Bearer {world.token}"}
    if page_size:
        headers["Prefer"] = f"odata.maxpagesize={page_size}"
    while True:
        r = world.http.get(url, headers=headers)
        assert r.status_code == 200, r.text
        body = r.json()
        pages += 1
        items += body["value"]
        if "@odata.deltaLink" in body:
            assert "@odata.nextLink" not in body
            return items, body["@odata.deltaLink"], pages
        url = body["@odata.nextLink"]
        assert "$skiptoken=" in url


def initial(world: World, page_size: int | None = None) -> tuple[list[dict[str, Any]], str, int]:
    url = world.url(
        f"users/{world.upn}/calendarView/delta?startDateTime={WINDOW['startDateTime']}&endDateTime={WINDOW['endDateTime']}"
    )
    return follow(world, url, page_size)


def at(day: int, hour: int = 10) -> dict[str, Any]:
    return {
        "start": {"dateTime": f"2025-03-{day:02d}T{hour:02d}:00:00", "timeZone": "Tokyo Standard Time"},
        "end": {"dateTime": f"2025-03-{day:02d}T{hour + 1:02d}:00:00", "timeZone": "Tokyo Standard Time"},
    }


def test_delta_pages_then_reports_changes_and_removals(world: World) -> None:
    created = [world.create_event(subject=f"e{i}", **at(i + 1)) for i in range(5)]
    world.create_event(
        subject="outside",
        **at(1)
        | {
            "start": {"dateTime": "2025-05-01T10:00:00", "timeZone": "UTC"},
            "end": {"dateTime": "2025-05-01T11:00:00", "timeZone": "UTC"},
        },
    )
    other_cal = world.user.calendars["SFA"]
    assert (
        world.post(f"users/{world.upn}/calendars/{other_cal}/events", json=event_body(**at(3))).status_code
        == 201
    )

    items, delta_link, pages = initial(world, page_size=2)
    assert pages == 3 and [i["subject"] for i in items] == [f"e{i}" for i in range(5)]
    assert "$deltatoken=" in delta_link

    items, delta_link, _ = follow(world, delta_link)
    assert items == []

    world.patch(f"users/{world.upn}/events/{created[0]['id']}", json={"subject": "renamed"})
    world.delete(f"users/{world.upn}/events/{created[1]['id']}")
    world.patch(
        f"users/{world.upn}/events/{created[2]['id']}",
        json={
            "start": {"dateTime": "2025-06-01T10:00:00", "timeZone": "UTC"},
            "end": {"dateTime": "2025-06-01T11:00:00", "timeZone": "UTC"},
        },
    )
    world.handle.control.user_update_event(world.upn, created[3]["id"], {"location": {"displayName": "大阪"}})
    new = world.create_event(subject="new", **at(20))

    items, delta_link, _ = follow(world, delta_link)
    by_id = {i["id"]: i for i in items}
    assert by_id[created[0]["id"]]["subject"] == "renamed"
    assert by_id[created[1]["id"]]["@removed"] == {"reason": "deleted"}
    assert by_id[created[2]["id"]]["@removed"] == {"reason": "deleted"}  # moved out of the window
    assert by_id[created[3]["id"]]["location"]["displayName"] == "大阪"
    assert by_id[new["id"]]["subject"] == "new"
    assert len(items) == 5

    assert follow(world, delta_link)[0] == []


def test_unknown_or_expired_delta_token_is_410(world: World) -> None:
    _, delta_link, _ = initial(world)
    base = delta_link.split("?")[0]
    r = world.http.get(base + "?$deltatoken=nonsense", headers={"Authorization": f"Bearer {world.token}"})
    assert r.status_code == 410 and r.json()["error"]["code"] == "SyncStateNotFound"
    assert world.handle.control.expire_delta_tokens() >= 1
    r = world.http.get(delta_link, headers={"Authorization": f"Bearer {world.token}"})
    assert r.status_code == 410 and r.json()["error"]["code"] == "SyncStateNotFound"


def _subscribe(world: World, receiver: Receiver, **overrides: Any) -> Any:
    body = {
        "changeType": "created,updated,deleted",
        "notificationUrl": receiver.url,
        "lifecycleNotificationUrl": receiver.url,
        "resource": f"users/{world.upn}/events",
        "expirationDateTime": (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%S.0000000Z"),
        "clientState": "secret-from-sfacal",
    }
    body.update(overrides)
    return world.post("subscriptions", json=body)


def test_subscription_handshake_and_notifications(world: World, receiver: Receiver) -> None:
    r = _subscribe(world, receiver)
    assert r.status_code == 201, r.text
    sub = r.json()
    assert receiver.validations and receiver.validations[0].startswith("Validation: ")
    assert sub["clientState"] == "secret-from-sfacal" and sub["changeType"] == "created,updated,deleted"

    ev = world.create_event()
    world.patch(f"users/{world.upn}/events/{ev['id']}", json={"subject": "x"})
    world.handle.control.user_delete_event(world.upn, ev["id"])
    got = receiver.wait_for(3)
    assert len(got) == 3
    items = [n["value"][0] for n in got]
    assert sorted(i["changeType"] for i in items) == ["created", "deleted", "updated"]
    for item in items:
        assert item["subscriptionId"] == sub["id"]
        assert item["clientState"] == "secret-from-sfacal"
        assert item["tenantId"] == world.tenant_id
        assert item["resourceData"]["id"] == ev["id"]
        assert item["resource"].endswith(f"/Events/{ev['id']}")

    world.handle.control.send_lifecycle(sub["id"], "reauthorizationRequired")
    got = receiver.wait_for(4)
    assert got[3]["value"][0]["lifecycleEvent"] == "reauthorizationRequired"
    world.handle.control.send_lifecycle(sub["id"], "subscriptionRemoved")
    receiver.wait_for(5)
    assert world.get(f"subscriptions/{sub['id']}").status_code == 404


def test_subscription_rules(world: World, receiver: Receiver) -> None:
    too_long = (datetime.now(UTC) + timedelta(minutes=10_081)).strftime("%Y-%m-%dT%H:%M:%SZ")
    r = _subscribe(world, receiver, expirationDateTime=too_long)
    assert r.status_code == 400 and "10080 minutes" in r.json()["error"]["message"]
    r = _subscribe(world, receiver, clientState="x" * 129)
    assert r.status_code == 400
    r = _subscribe(world, receiver, notificationUrl="http://example.com/hook")
    assert r.status_code == 400
    receiver.echo = False
    r = _subscribe(world, receiver)
    assert r.status_code == 400 and "validation request failed" in r.json()["error"]["message"]
    receiver.echo = True
    r = _subscribe(world, receiver)
    assert r.status_code == 201
    sid = r.json()["id"]
    later = (datetime.now(UTC) + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    renewed = world.patch(f"subscriptions/{sid}", json={"expirationDateTime": later})
    assert renewed.status_code == 200 and renewed.json()["expirationDateTime"].startswith(later[:16])
    assert world.delete(f"subscriptions/{sid}").status_code == 204
    assert world.get(f"subscriptions/{sid}").status_code == 404
