"""The CalDAV connector beyond the contract suite, against a real Radicale server over TLS:
two-way reads without sync-collection, an expired sync token, refused credentials, the outbound
address rule (also for sessions the library makes anew), no secret in any log line, and the
iCalendar it writes."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Iterator
from datetime import UTC, datetime

import icalendar
import pytest

from sfacal.calendars.base import EventTag
from sfacal.calendars.caldav import CalDavAccount, CalDavCalendar, CalDavSettings, event_uid
from sfacal.calendars.caldav.ical import event_to_ical, ical_to_snapshot
from sfacal.core.errors import CalDavNotConfiguredError, InputError
from sfacal.core.render import RenderedEvent
from sfacal.core.schedule import SourceRef
from tests.calendars.radicale import SERVICE_PASSWORD, Radicale, start_radicale

WINDOW = (datetime(2030, 1, 1, tzinfo=UTC), datetime(2031, 1, 1, tzinfo=UTC))


@pytest.fixture(scope="module")
def radicale(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Radicale]:
    with start_radicale(tmp_path_factory.mktemp("radicale-unit")) as server:
        yield server


def tag(record: str = "1") -> EventTag:
    return EventTag(SourceRef("acme", "push", record), "taro")


def event(subject: str = "訪問", **kw: object) -> RenderedEvent:
    values: dict[str, object] = {
        "subject": subject,
        "location": "",
        "body": "",
        "start": datetime(2030, 4, 8, 10),
        "end": datetime(2030, 4, 8, 11),
        "timezone": "Asia/Tokyo",
    }
    values.update(kw)
    return RenderedEvent(**values)  # type: ignore[arg-type]


def run(settings: CalDavSettings, scenario):  # type: ignore[no-untyped-def]
    async def main():  # type: ignore[no-untyped-def]
        async with CalDavCalendar(settings) as cal:
            return await scenario(cal)

    return asyncio.run(main())


def test_t_changes_without_sync_collection_are_found_by_etags(radicale: Radicale) -> None:
    mailbox = radicale.new_user()

    async def first(cal: CalDavCalendar):  # type: ignore[no-untyped-def]
        [calendar] = [c for c in await cal._load_calendars(mailbox) if c.info.is_default]
        cal._calendars[mailbox] = [dataclasses.replace(calendar, sync=False)]  # a server without RFC 6578
        a = await cal.create_event(mailbox, event("A"), tag("a"), "tx-a")
        b = await cal.create_event(mailbox, event("B"), tag("b"), "tx-b")
        page = await cal.read_changes(mailbox, start=WINDOW[0], end=WINDOW[1])
        assert page.delta_token.startswith("etags:") and {e.id for e in page.events} == {a.id, b.id}
        again = await cal.read_changes(mailbox, start=WINDOW[0], end=WINDOW[1], delta_token=page.delta_token)
        assert again.events == ()
        return a.id, b.id, page.delta_token

    a_id, b_id, token = run(radicale.settings(), first)
    radicale.user_update(mailbox, a_id, {"subject": "A edited"})
    radicale.user_delete(mailbox, b_id)

    async def second(cal: CalDavCalendar):  # type: ignore[no-untyped-def]
        page = await cal.read_changes(mailbox, start=WINDOW[0], end=WINDOW[1], delta_token=token)
        by_id = {e.id: e for e in page.events}
        assert by_id[a_id].subject == "A edited" and by_id[b_id].deleted

    run(radicale.settings(), second)


def test_t_a_sync_token_the_server_no_longer_knows_is_resync_required(radicale: Radicale) -> None:
    mailbox = radicale.new_user()

    async def scenario(cal: CalDavCalendar) -> None:
        page = await cal.read_changes(mailbox, start=WINDOW[0], end=WINDOW[1])
        assert page.delta_token.startswith("sync:")
        with pytest.raises(Exception) as info:
            await cal.read_changes(
                mailbox,
                start=WINDOW[0],
                end=WINDOW[1],
                delta_token="sync:http://radicale.org/ns/sync/deadbeef",
            )
        assert getattr(info.value, "code", "") == "resync_required"

    run(radicale.settings(), scenario)


def test_l2_refused_credentials_are_caldav_auth_failed_and_no_log_line_holds_the_password(
    radicale: Radicale, caplog: pytest.LogCaptureFixture
) -> None:
    mailbox = radicale.new_user()
    caplog.set_level(logging.DEBUG)

    async def scenario(cal: CalDavCalendar) -> None:
        result = await cal.check_mailbox(mailbox)
        assert not result.ok and result.code == "caldav_auth_failed"
        assert "did not accept" in result.message("en") and result.hint("ja")

    run(radicale.settings(password="Wr0ng-Secret-Value"), scenario)
    good = radicale.settings()
    run(good, lambda cal: cal.create_event(mailbox, event(), tag(), "tx-log"))
    assert "Wr0ng-Secret-Value" not in caplog.text and SERVICE_PASSWORD not in caplog.text


def test_the_outbound_address_rule_applies(radicale: Radicale, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SFACAL_ALLOW_PRIVATE_URLS", "")
    mailbox = radicale.new_user()

    async def scenario(cal: CalDavCalendar) -> None:
        result = await cal.check_mailbox(mailbox)
        assert not result.ok and result.code == "address_not_allowed"

    run(radicale.settings(), scenario)


def test_settings_pick_the_employees_own_account_and_hide_secrets() -> None:
    own = CalDavAccount("https://dav.example.jp/", "hanako", "h-secret", discover=True)
    settings = CalDavSettings(
        base_url="https://dav.example.jp/dav",
        username="svc",
        password="s-secret",
        accounts={"hanako@x.jp": own},
    )
    assert settings.account_for("hanako@x.jp") is own
    assert settings.account_for("taro@x.jp").url == "https://dav.example.jp/dav/taro@x.jp/"
    assert "secret" not in repr(settings) and "secret" not in repr(own)
    with pytest.raises(InputError):
        CalDavSettings(base_url="https://dav.example.jp/", home_pattern="calendars/")
    with pytest.raises(CalDavNotConfiguredError):
        CalDavSettings().account_for("taro@x.jp")


def test_s5_s6_ical_round_trip_all_day_utc_and_the_tag() -> None:
    text = event_to_ical(
        event(start=datetime(2030, 5, 1), end=datetime(2030, 5, 3), is_all_day=True),
        tag(),
        event_uid(tag(), "tx"),
    )
    vevent = next(iter(icalendar.Calendar.from_ical(text).walk("VEVENT")))
    assert vevent["dtstart"].params.get("VALUE") == "DATE" and str(vevent["X-SFACAL-TAG"]) == tag().value
    snap = ical_to_snapshot(text, timezone="Asia/Tokyo")
    assert (
        snap is not None
        and snap.is_all_day
        and (snap.start, snap.end) == (datetime(2030, 5, 1), datetime(2030, 5, 3))
    )
    utc = ical_to_snapshot(event_to_ical(event(timezone="UTC"), tag(), "u"))
    assert utc is not None and utc.timezone == "UTC" and utc.start == datetime(2030, 4, 8, 10)
    assert "Z" in event_to_ical(event(timezone="UTC"), tag(), "u").split("DTSTART")[1].split("\n")[0]
    assert event_uid(tag(), "tx") == event_uid(tag(), "tx") != event_uid(tag(), "tx2")
    assert ical_to_snapshot("not a calendar") is None


def test_caldav_speaks_plain_httpx_and_needs_no_library_that_replaces_urllib3(radicale: Radicale) -> None:
    """The connector's requests go through the guarded httpx pool (a wrong password is the
    connector's own error), and the product depends on nothing that brings ``urllib3-future``
    (the ``caldav`` library does, through ``niquests``), which replaces the ``urllib3`` that every
    ``requests`` user of the installation relies on."""
    from pathlib import Path

    project = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text(encoding="utf-8")
    for name in ("caldav", "niquests", "urllib3-future"):
        assert f'"{name}' not in project, name
    mailbox = radicale.new_user()

    async def scenario(cal: CalDavCalendar) -> None:
        assert (await cal.check_mailbox(mailbox)).ok
        bad = CalDavCalendar(radicale.settings(password="nope"))
        try:
            assert (await bad.check_mailbox(mailbox)).code == "caldav_auth_failed"
        finally:
            await bad.aclose()

    run(radicale.settings(), scenario)
