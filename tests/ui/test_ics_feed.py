"""The ICS feed: the subscription URL, its content and conditional GET, and the screens that turn
it on and off (employee) and revoke it (administrator)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import icalendar
import pytest
from django.test import Client
from django.urls import reverse

from sfacal.directory.companies.audit import AuditEntry
from sfacal.directory.companies.models import CompanySettings
from sfacal.directory.connections.models import IcsFeed, hash_token
from sfacal.directory.employees.models import Employee, SyncState
from sfacal.engine import inbox
from tests.engine.conftest import START, T0, deletion, meeting
from tests.ui.conftest import signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_dispatch() -> Iterator[None]:
    inbox.set_dispatcher(lambda company_id: None)
    yield
    inbox.set_dispatcher(None)


@pytest.fixture
def taro(company: Any, employee: Employee) -> Employee:
    CompanySettings.objects.filter(company=company).update(sync_enabled=True)
    Employee.objects.filter(pk=employee.pk).update(state=SyncState.ON, sync_start=T0 - timedelta(days=30))
    employee.refresh_from_db()
    return employee


def turn_on(client: Client) -> str:
    page = client.post(reverse("my_feed"), {"action": "issue"})
    assert page.status_code == 200 and page["Cache-Control"] == "no-store"
    [url] = re.findall(r'id="feed-url" value="([^"]+)"', page.content.decode())
    return url


def events(body: bytes) -> list[icalendar.Event]:
    return list(icalendar.Calendar.from_ical(body).walk("VEVENT"))


def test_feed_shows_the_employees_plans_with_stable_uids_and_sequence(company: Any, taro: Employee) -> None:
    inbox.accept(company, meeting("1", participants=("taro",)), trigger="push")
    inbox.accept(company, meeting("2", participants=("hanako",)), trigger="push")  # not taro's
    client = signed_in(taro.account)
    url = turn_on(client)
    token = url.rsplit("/", 1)[1].removesuffix(".ics")
    assert len(token) >= 40
    row = IcsFeed.objects.get(employee=taro)
    assert row.token_hash == hash_token(token) and token not in (row.prefix + row.token_hash)

    anonymous = Client()
    first = anonymous.get(url)
    assert first.status_code == 200 and first["Content-Type"].startswith("text/calendar")
    cal = icalendar.Calendar.from_ical(first.content)
    assert [c.name for c in cal.walk("VTIMEZONE")] == ["VTIMEZONE"]
    [ev] = events(first.content)
    assert str(ev["summary"]) == "赤木電機/定期訪問" and ev["dtstart"].params["TZID"] == "Asia/Tokyo"
    assert ev["dtstart"].dt == START.astimezone(ev["dtstart"].dt.tzinfo)
    uid, seq = str(ev["uid"]), int(ev["sequence"])

    # A poll with the ETag costs a 304; a change of the schedule gives new content.
    assert anonymous.get(url, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    time.sleep(1.1)  # SEQUENCE counts seconds
    inbox.accept(
        company,
        meeting("1", participants=("taro",), content="変更", updated=T0 + timedelta(hours=1)),
        trigger="push",
    )
    second = anonymous.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    assert second.status_code == 200 and second["ETag"] != first["ETag"]
    [ev2] = events(second.content)
    assert str(ev2["uid"]) == uid and int(ev2["sequence"]) > seq and str(ev2["description"]) == "変更"

    inbox.accept(company, deletion("1", T0 + timedelta(hours=2)), trigger="push")
    assert events(anonymous.get(url).content) == []


def test_feed_respects_the_employees_exclusions_and_forbidden_state(company: Any, taro: Employee) -> None:
    inbox.accept(company, meeting("1", participants=("taro",), purpose="社内会議"), trigger="push")
    Employee.objects.filter(pk=taro.pk).update(excluded_purposes=["社内会議"])
    url = turn_on(signed_in(taro.account))
    assert events(Client().get(url).content) == []
    Employee.objects.filter(pk=taro.pk).update(excluded_purposes=[], state=SyncState.FORBIDDEN)
    assert events(Client().get(url).content) == []
    Employee.objects.filter(pk=taro.pk).update(state=SyncState.ON)
    assert len(events(Client().get(url).content)) == 1


def test_a_new_url_revokes_the_old_one_and_turning_off_revokes_it(company: Any, taro: Employee) -> None:
    client = signed_in(taro.account)
    old = turn_on(client)
    new = turn_on(client)
    assert Client().get(old).status_code == 404 and Client().get(new).status_code == 200
    page = client.get(reverse("my_feed"))
    assert new not in page.content.decode()  # shown once only
    client.post(reverse("my_feed"), {"action": "revoke"})
    assert Client().get(new).status_code == 404
    assert Client().get("/feeds/not-a-token.ics").status_code == 404
    assert list(
        AuditEntry.objects.filter(object_type="ics_feed").order_by("id").values_list("field", flat=True)
    ) == ["issued", "issued", "revoked"]


def test_an_administrator_revokes_an_employees_feed_of_their_own_company_only(
    company: Any, taro: Employee, admin_client: Client, other_employee: Employee
) -> None:
    url = turn_on(signed_in(taro.account))
    page = admin_client.get(reverse("employee_edit", args=[taro.pk]))
    assert "employee_feed_revoke" not in page.content.decode()
    assert reverse("employee_feed_revoke", args=[taro.pk]) in page.content.decode()
    assert admin_client.post(reverse("employee_feed_revoke", args=[other_employee.pk])).status_code == 404
    assert admin_client.post(reverse("employee_feed_revoke", args=[taro.pk])).status_code == 302
    assert Client().get(url).status_code == 404
    # An employee cannot use the administrator's revoke.
    assert signed_in(taro.account).post(reverse("employee_feed_revoke", args=[taro.pk])).status_code in (
        403,
        404,
    )


def test_feed_screen_in_english_and_japanese(taro: Employee) -> None:
    assert "Calendar feed" in signed_in(taro.account, "en").get(reverse("my_feed")).content.decode()
    assert "カレンダーフィード" in signed_in(taro.account, "ja").get(reverse("my_feed")).content.decode()
