"""The Google Calendar connector beyond the contract: the checks and their hints (L2) for every
setup failure, quotas and batches, sync-token expiry, token reuse, and no secret in any log line.
Against the Google emulator over TLS."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import TypeVar

import pytest

from sfacal.calendars.google import GoogleCalendar, GoogleSettings, event_id_for, parse_key
from sfacal.core.errors import InputError, ResyncRequiredError
from tests.calendars.google_helpers import Google, start_google
from tests.calendars.helpers import create_writes

T = TypeVar("T")


@pytest.fixture(scope="module")
def google(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Google]:
    yield from start_google(tmp_path_factory.mktemp("google-connector"))


def run(settings: GoogleSettings, scenario: Callable[[GoogleCalendar], Awaitable[T]]) -> T:
    async def main() -> T:
        async with GoogleCalendar.from_settings(settings) as cal:
            return await scenario(cal)

    return asyncio.run(main())


def test_key_file_is_checked_and_names_the_field() -> None:
    for text, fragment in [
        ("", "required"),
        ("{not json", "not JSON"),
        ('{"type": "authorized_user"}', "service_account"),
        ('{"type": "service_account", "client_email": "a@b"}', "lacks"),
    ]:
        with pytest.raises(InputError) as caught:
            parse_key(text)
        assert caught.value.params["field"] == "google_service_account_key" and fragment in str(caught.value)
    settings = GoogleSettings.from_key_text("{}")
    assert settings.key is None and settings.key_error is not None
    assert "private_key" not in repr(GoogleSettings.from_key_text(None))


def test_event_ids_are_what_google_accepts_and_stable() -> None:
    first = event_id_for("tx-1")
    assert first == event_id_for("tx-1") != event_id_for("tx-2")
    assert len(first) == 52 and set(first) <= set("0123456789abcdefghijklmnopqrstuv")


def test_check_mailbox_ok_and_each_setup_failure_has_its_hint(google: Google) -> None:
    user = google.new_user(calendars=["営業"], read_only_calendars=["祝日"])
    key = google.new_key()
    settings = google.settings(key)

    ok = run(settings, lambda cal: cal.check_mailbox(user, "営業"))
    assert ok.ok and ok.details["calendar"]["name"] == "営業"
    assert run(settings, lambda cal: cal.check_connection(user)).ok

    missing_cal = run(settings, lambda cal: cal.check_mailbox(user, "存在しない"))
    assert missing_cal.code == "calendar_not_found" and "存在しない" in missing_cal.message("ja")
    read_only = run(settings, lambda cal: cal.check_mailbox(user, "祝日"))
    assert read_only.code == "calendar_read_only"
    nobody = run(settings, lambda cal: cal.check_mailbox("nobody@" + google.domain))
    assert nobody.code == "google_user_not_found"
    assert "Google 管理コンソール" in nobody.hint("ja") and "Admin console" in nobody.hint("en")

    undelegated = google.new_key(delegated_scopes=())
    refused = run(google.settings(undelegated), lambda cal: cal.check_mailbox(user))
    assert refused.code == "google_delegation_missing"
    assert undelegated["client_id"] in refused.hint("en") and "calendar.events" in refused.hint("ja")
    events_only = google.new_key(delegated_scopes=("https://www.googleapis.com/auth/calendar.events",))
    partial = run(google.settings(events_only), lambda cal: cal.check_mailbox(user))
    assert partial.code == "google_delegation_missing"  # the calendar-list scope was not granted

    project = google.control.create_project()
    off_key = google.control.create_service_account(project["project_id"], google.domain)
    google.control.set_api_enabled(project["project_id"], False)
    disabled = run(google.settings(off_key), lambda cal: cal.check_mailbox(user))
    assert disabled.code == "google_api_disabled" and project["project_id"] in disabled.message("en")
    save_and_test = run(google.settings(off_key), lambda cal: cal.check_connection())
    assert save_and_test.code == "google_api_disabled"  # found without any user to impersonate

    revoked = google.new_key()
    google.control.update_service_account(revoked["client_email"], key_revoked=True)
    bad_key = run(google.settings(revoked), lambda cal: cal.check_connection())
    assert bad_key.code == "google_key_invalid" and "IAM" in bad_key.hint("en")

    unreadable = GoogleSettings.from_key_text("{", api_base_url=google.emu.api_url)
    assert run(unreadable, lambda cal: cal.check_connection()).code == "input_invalid"


def test_no_secret_reaches_a_log_line_or_an_error(google: Google, caplog: pytest.LogCaptureFixture) -> None:
    key = google.new_key(delegated_scopes=())
    user = google.new_user()
    caplog.set_level(logging.DEBUG)
    result = run(google.settings(key), lambda cal: cal.check_mailbox(user))
    assert not result.ok
    body = key["private_key"].splitlines()[1]
    texts = [r.getMessage() for r in caplog.records] + [json.dumps(result.to_dict("en"))]
    assert not any(body in t or "ya29." in t or "assertion=" in t for t in texts)


def test_throttled_users_are_backed_off_and_every_create_lands_once(google: Google) -> None:
    """A per-user quota far below the load: batches are answered part by part with
    ``userRateLimitExceeded``; the throttled parts are sent again until all land, no duplicate."""
    user = google.new_user()
    settings = google.settings(max_attempts=12, max_backoff_s=0.3)
    before = google.control.counters()
    google.control.set_knobs(user_rate_limit=25, rate_window_s=0.5)
    try:
        outcomes = run(settings, lambda cal: cal.apply(user, create_writes(120, "quota")))
    finally:
        google.control.set_knobs(user_rate_limit=0, rate_window_s=1)
    after = google.control.counters()
    assert all(o.ok for o in outcomes), [o.error for o in outcomes if o.error][:3]
    assert len(google.events(user)) == 120 and len({o.event_id for o in outcomes}) == 120
    assert after["throttled"] > before["throttled"]
    assert after["batches"] > before["batches"]


def test_one_token_per_user_is_reused(google: Google) -> None:
    user = google.new_user()
    settings = google.settings()
    before = google.control.counters()["tokens"]

    async def scenario(cal: GoogleCalendar) -> None:
        await cal.list_calendars(user)
        await asyncio.gather(*(cal.find_by_tag(user, w.tag) for w in create_writes(10, "tok")))

    run(settings, scenario)
    assert google.control.counters()["tokens"] - before == 1


def test_expired_sync_token_asks_for_a_full_read(google: Google) -> None:
    user = google.new_user()
    settings = google.settings()
    window = {"start": datetime(2030, 1, 1, tzinfo=UTC), "end": datetime(2031, 1, 1, tzinfo=UTC)}

    async def first(cal: GoogleCalendar) -> str:
        await cal.apply(user, create_writes(3, "sync"))
        page = await cal.read_changes(user, **window)
        assert len(page.events) == 3
        return page.delta_token

    token = run(settings, first)
    google.control.expire_sync_tokens()

    async def second(cal: GoogleCalendar) -> None:
        with pytest.raises(ResyncRequiredError):
            await cal.read_changes(user, delta_token=token, **window)
        assert len((await cal.read_changes(user, **window)).events) == 3

    run(settings, second)


def test_events_outside_the_window_are_not_reported(google: Google) -> None:
    user = google.new_user()
    settings = replace(google.settings(), batch_size=2)
    window = {"start": datetime(2030, 9, 1, 0, tzinfo=UTC), "end": datetime(2030, 9, 1, 3, tzinfo=UTC)}

    async def scenario(cal: GoogleCalendar) -> int:
        await cal.apply(user, create_writes(6, "win"))  # 09:00 to 14:00 Tokyo = 00:00 to 05:00 UTC
        return len((await cal.read_changes(user, **window)).events)

    assert run(settings, scenario) == 3


def test_an_update_with_the_current_etag_is_one_request_and_a_deleted_event_is_not_restored(
    google: Google,
) -> None:
    user = google.new_user()
    settings = google.settings()
    [write] = create_writes(1, "one")

    async def scenario(cal: GoogleCalendar) -> None:
        made = await cal.create_event(user, write.event, write.tag, write.transaction_id)
        before = len(google.control.journal())
        outcome = await cal.update_event(user, made.id, write.event, write.tag, change_key=made.change_key)
        assert outcome.ok
        calls = [(e["method"], e["status"]) for e in google.control.journal()[before:]]
        assert calls == [("PUT", 200)]
        google.control.user_delete_event(user, made.id)
        gone = await cal.update_event(user, made.id, write.event, write.tag, change_key=outcome.change_key)
        assert gone.error is not None and gone.error.code == "not_found"

    run(settings, scenario)
    assert google.events(user) == []  # never un-deleted by writing to it


def test_the_ok_message_names_google(google: Google) -> None:
    result = run(google.settings(), lambda cal: cal.check_connection())
    assert (
        result.ok
        and "Google Workspace" in result.message("en")
        and "Google Workspace" in result.message("ja")
    )


def test_a_refused_user_is_asked_for_once_per_pass(google: Google) -> None:
    """Twenty writes for a user Google does not know: one token request, twenty outcomes that
    each carry the hint."""
    settings = google.settings()
    before = google.control.counters()
    outcomes = run(settings, lambda cal: cal.apply("ghost@" + google.domain, create_writes(20, "ghost")))
    assert [o.error.code if o.error else "" for o in outcomes] == ["google_user_not_found"] * 20
    after = google.control.counters()
    assert after["token_requests"] - before["token_requests"] == 1
    assert after["tokens"] == before["tokens"]  # none was issued


def test_the_project_quota_answered_with_429_is_backed_off_too(google: Google) -> None:
    """Google's per-project quota, answered ``429 rateLimitExceeded``: single calls and batch parts
    are sent again after a backoff until they land."""
    project = google.control.create_project()
    key = google.control.create_service_account(project["project_id"], google.domain)
    user = google.new_user()
    settings = google.settings(key, max_attempts=12, max_backoff_s=0.3)
    before = google.control.counters()["throttled"]
    google.control.set_knobs(project_rate_limit=8, rate_window_s=0.5, rate_limit_status=429)
    try:

        async def scenario(cal: GoogleCalendar) -> int:
            outcomes = await cal.apply(user, create_writes(30, "proj"))
            assert all(o.ok for o in outcomes), [o.error for o in outcomes if o.error][:2]
            found = await asyncio.gather(
                *(cal.find_by_tag(user, w.tag) for w in create_writes(30, "proj")[:10])
            )
            return sum(len(f) for f in found)

        assert run(settings, scenario) == 10
    finally:
        google.control.set_knobs(project_rate_limit=0, rate_window_s=1, rate_limit_status=403)
    assert google.control.counters()["throttled"] > before
    assert len(google.events(user)) == 30
