"""The emulator's read-only mailbox viewer (``/_control/view``), used by the demo's links."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from sfacal.emulators.m365 import create_app


@pytest.fixture
def client() -> Any:
    with TestClient(create_app()) as http:
        http.post("/_control/tenants", json={"domain": "demo.example", "id": "t1"}).raise_for_status()
        for upn, calendars in (("yamada@demo.example", []), ("suzuki@demo.example", ["営業"])):
            http.post(
                "/_control/users",
                json={
                    "tenant": "t1",
                    "userPrincipalName": upn,
                    "displayName": upn[:6],
                    "calendars": calendars,
                },
            ).raise_for_status()
        yield http


def add_event(http: Any, user: str, body: dict[str, Any], calendar: str | None = None) -> dict[str, Any]:
    payload: dict[str, Any] = {"event": body}
    if calendar is not None:
        payload["calendarId"] = calendar
    response = http.post(f"/_control/users/{user}/events", json=payload)
    response.raise_for_status()
    return response.json()


def test_mailbox_list_links_every_mailbox(client):
    page = client.get("/_control/view")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'href="view/yamada@demo.example"' in page.text and 'href="view/suzuki@demo.example"' in page.text
    assert '<meta http-equiv="refresh" content="10">' in page.text


def test_mailbox_page_shows_each_calendar_with_its_events(client):
    info = client.patch("/_control/users/suzuki@demo.example", json={}).json()  # an empty PATCH reads it
    sales = next(c["id"] for c in info["calendars"] if c["name"] == "営業")
    add_event(
        client,
        "suzuki@demo.example",
        {
            "subject": "赤木電機/定期訪問 <b>",
            "start": {"dateTime": "2031-03-10T10:00:00", "timeZone": "Tokyo Standard Time"},
            "end": {"dateTime": "2031-03-10T11:00:00", "timeZone": "Tokyo Standard Time"},
            "location": {"displayName": "東京都千代田区"},
            "transactionId": "tx-1",
        },
        calendar=sales,
    )
    add_event(
        client,
        "suzuki@demo.example",
        {
            "subject": "資料作成",
            "isAllDay": True,
            "start": {"dateTime": "2031-03-11T00:00:00", "timeZone": "Tokyo Standard Time"},
            "end": {"dateTime": "2031-03-13T00:00:00", "timeZone": "Tokyo Standard Time"},
        },
    )
    page = client.get("/_control/view/suzuki@demo.example", params={"refresh": "0"})
    assert page.status_code == 200
    text = page.text
    assert "赤木電機/定期訪問 &lt;b&gt;" in text and "定期訪問 <b>" not in text  # escaped
    assert "2031-03-10 10:00 Tokyo Standard Time" in text and "東京都千代田区" in text and "tx-1" in text
    assert "2031-03-11 (all day)" in text and "2031-03-12" in text  # the last day, not the exclusive end
    assert text.index("(default calendar)") < text.index("営業")  # the default calendar first
    assert "http-equiv" not in text  # refresh=0


def test_unknown_mailbox_is_a_404_page(client):
    page = client.get("/_control/view/nobody@demo.example")
    assert page.status_code == 404 and "No mailbox nobody@demo.example" in page.text
