"""What the Japanese and the English walks both do on the screens, and what both read back.

Guarantees: each helper performs one user action the way a person would (typing, choosing,
pressing) and asserts its visible outcome; none reads or writes the product's database.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from sfacal.emulators.justsfa import ScheduleSetup
from sfacal.emulators.m365.timezones import resolve as graph_zone
from sfacal.web.connections.forms import IDENTIFIER_FIELDS, OPTIONAL_FIELDS
from tests.served.conftest import PASSWORD
from tests.served.harness import ServedStack
from tests.served.walker import Screen

JST = ZoneInfo("Asia/Tokyo")
DAY = (dt.datetime.now(JST) + dt.timedelta(days=2)).date()  # the day of the walks' schedules

# J1 form fields → the emulator's name for the identifier (the same name unless listed).
SETUP_NAMES = {"table": "table_id", "panel": "panel_id", "filter": "filter_id"}


def path_of(page: Any) -> str:
    return urlsplit(page.url).path


def classes(page: Any, selector: str) -> list[str]:
    return (page.locator(selector).first.get_attribute("class") or "").split()


def assert_ok(page: Any, selector: str) -> None:
    """The check result at ``selector`` says success."""
    assert "ok" in classes(page, selector), page.inner_text(selector)


def csv_bytes(rows: list[list[str]], encoding: str) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode(encoding)


# -- screens ------------------------------------------------------------------------------------


def accept_invitation(screen: Screen, link: str) -> None:
    """U1: the invitation link, a new password twice, and the person is signed in."""
    page = screen.page
    page.goto(link)
    page.fill("#id_new_password1", PASSWORD)
    page.fill("#id_new_password2", PASSWORD)
    with page.expect_navigation():
        page.click("main button[type=submit].primary")
    assert path_of(page) == "/dashboard/"


def fill_microsoft_365(page: Any, stack: ServedStack, client_id: str, domain: str, secret: str) -> None:
    """C1–C6 on the basic settings: sync on, the app registration by client secret, the domain,
    the token endpoint and (under "Advanced") the Graph address of the emulated tenant."""
    page.check("input[name=sync_enabled][value='1']")
    page.fill("#id_client_id", client_id)
    page.check("input[name=auth_method][value=secret]")
    page.fill("#id_client_secret", secret)
    page.fill("#id_domain", domain)
    page.fill("#id_token_endpoint", f"{stack.m365_url}/{domain}/oauth2/v2.0/token")
    page.click("#settings-form details summary")
    page.fill("#id_graph_base_url", f"{stack.m365_url}/v1.0")


def fill_justsfa(page: Any, setup: ScheduleSetup, tenant: str, base_url: str) -> None:
    """J1: every identifier typed in as the administrator copies them from JUST.SFA."""

    def value(name: str) -> str:
        return str(getattr(setup, SETUP_NAMES.get(name, name)))

    page.check("#id_enabled")
    page.fill("#id_tenant", tenant)
    page.fill("#id_api_key", setup.api_key)
    for name, *_rest in IDENTIFIER_FIELDS:
        page.fill(f"#id_{name}", value(name))
    page.click("#justsfa-form details:has(#id_status_field) > summary")
    for name, _label in OPTIONAL_FIELDS:
        if hasattr(setup, name):  # the standard table has no updated-at field
            page.fill(f"#id_{name}", value(name))
    page.click("#justsfa-form details:has(#id_base_url) > summary")
    page.fill("#id_base_url", base_url)  # the emulator stands in for https://TENANT.justsfa.com


def load_calendars_and_pick(screen: Screen, form: str, calendar: str) -> None:
    """E3/P2: "load calendars" reads the mailbox; pressing a calendar's name fills the field."""
    screen.htmx(f"{form} button[hx-target='#calendar-picker']")
    screen.page.click(f"#calendar-picker button[data-fill-value='{calendar}']")
    assert screen.page.input_value("#id_calendar_name") == calendar


def check_the_link(screen: Screen, form: str) -> None:
    """E5/P2: "check the link" saves, then proves the mailbox and the calendar can be used."""
    screen.htmx(f"{form} button[name=action][value=check]")
    assert_ok(screen.page, "#mailbox-check-result")


# -- what the emulators hold ----------------------------------------------------------------------


def at(hour: int, minute: int = 0) -> str:
    return dt.datetime(DAY.year, DAY.month, DAY.day, hour, minute, tzinfo=JST).isoformat(timespec="minutes")


def justsfa_record(
    setup: ScheduleSetup, customer: str, purpose: str, hours: tuple[int, int], who: list[str]
) -> dict[str, Any]:
    """A plan (予定) of a meeting in JUST.SFA's standard schedule table."""
    return {
        setup.schedule_field: setup.schedule_value(at(hours[0]), at(hours[1]), who),
        setup.status_field: "予定",
        setup.kind_field: "商談",
        setup.purpose_field: purpose,
        setup.customer_field: customer,
        setup.address_field: "東京都千代田区丸の内1-1-1",
        setup.content_field: f"{customer}: {purpose}",
    }


def starts(event: dict[str, Any]) -> dt.datetime:
    """When an emulated calendar event starts (its Graph ``start`` in its own time zone)."""
    start = event["start"]
    return dt.datetime.fromisoformat(start["dateTime"][:19]).replace(tzinfo=graph_zone(start["timeZone"]))


def events_with(stack: ServedStack, mailbox: str, text: str) -> list[dict[str, Any]]:
    """The events of ``mailbox`` whose subject holds ``text``."""
    return [e for e in stack.events(mailbox) if text in str(e.get("subject"))]
