"""The two-way pass (T1-T5, S9) against an in-memory calendar with a change feed and a recording
source: what is written back, restored, marked lost, retried and logged."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from sfacal.calendars.base import ChangePage, EventSnapshot
from sfacal.core.errors import (
    MailboxNotFoundError,
    ResyncRequiredError,
    ServiceUnavailableError,
    SfacalError,
    SourceError,
)
from sfacal.core.schedule import Schedule
from sfacal.core.twoway import ScheduleEdit
from sfacal.directory.companies.models import Company, CompanySettings
from sfacal.engine import calendar, inbox, loop, passes, twoway
from sfacal.engine.leases import LeaseSet, mailbox_key
from sfacal.engine.models import DeltaState, MirrorEvent, StoredSchedule, SyncLogEntry
from sfacal.sources.base import CheckResult
from tests.engine.conftest import DOMAIN, employee, meeting
from tests.engine.fakecal import FakeCalendar, FakeService

pytestmark = pytest.mark.django_db


class DeltaService(FakeService):
    """The fake calendar with a change feed: every read reports every event of the default
    calendar (as Graph's first round does, and without the tag, as delta does) plus ``removed``."""

    def __init__(self, cal: FakeCalendar, feed: Feed) -> None:
        super().__init__(cal)
        self.feed = feed

    async def read_changes(self, mailbox: str, *, start: datetime, end: datetime, delta_token: str | None = None, timezone: str | None = None) -> ChangePage:  # fmt: skip
        self.feed.tokens.append(delta_token)
        if self.feed.fail:
            raise self.feed.fail.pop(0)
        events = [
            dataclasses.replace(self.cal.snapshot(e), tag=None, tag_value=None)
            for e in self.cal.of(mailbox, "")
        ]
        events += [EventSnapshot(id=i, deleted=True) for i in self.feed.removed]
        return ChangePage(tuple(events), f"token{next(self.feed.counter)}")


@dataclasses.dataclass
class Feed:
    tokens: list[str | None] = dataclasses.field(default_factory=list)
    removed: list[str] = dataclasses.field(default_factory=list)
    fail: list[SfacalError] = dataclasses.field(default_factory=list)
    counter: Any = dataclasses.field(default_factory=lambda: itertools.count(1))


class RecordingSource:
    kind = "push"
    supports_poll = False
    supports_write_back = True

    def __init__(self) -> None:
        self.calls: list[tuple[Schedule, ScheduleEdit]] = []
        self.fail: list[SfacalError] = []

    def check_connection(self) -> CheckResult:
        return CheckResult(ok=True)

    def write_back(self, schedule: Schedule, edit: ScheduleEdit) -> None:
        if self.fail:
            raise self.fail.pop(0)
        self.calls.append((schedule, edit))

    def poll(self) -> int:
        return 0


@pytest.fixture
def feed() -> Feed:
    return Feed()


@pytest.fixture
def cal(feed: Feed) -> Iterator[FakeCalendar]:
    c = FakeCalendar()
    calendar.set_service_factory(lambda settings: DeltaService(c, feed))
    loop.forget_services()
    inbox.set_dispatcher(None)
    try:
        yield c
    finally:
        calendar.set_service_factory(None)
        loop.forget_services()


@pytest.fixture
def source() -> Iterator[RecordingSource]:
    src = RecordingSource()
    twoway.set_source_factory(lambda company, name: src)
    try:
        yield src
    finally:
        twoway.set_source_factory(None)


@pytest.fixture
def two_way(company: Company) -> Company:
    CompanySettings.objects.filter(company=company).update(direction="two_way")
    return company


def mirrored(company: Company, cal: FakeCalendar, *logins: str, record: str = "1", **kw: Any) -> Schedule:
    for login in logins:
        cal.add_mailbox(f"{login}@{DOMAIN}", *kw.pop("calendars", ()))
        if not company.employees.filter(login_id=login).exists():
            employee(company, login, calendar_name=kw.get("calendar_name", ""))
    kw.pop("calendar_name", None)
    schedule = meeting(record, participants=logins, **kw)
    inbox.accept(company, schedule, trigger="push")
    passes.process_inbox(company.pk)
    return schedule


def event_of(cal: FakeCalendar, company: Company, login: str, record: str = "1") -> Any:
    row = MirrorEvent.objects.get(company=company, login_id=login, record_id=record)
    return cal.events[row.event_id]


def user_edit(cal: FakeCalendar, ev: Any, **changes: Any) -> None:
    ev.event = dataclasses.replace(ev.event, **changes)
    ev.change_key = f"user{id(changes)}"


def poll(company: Company) -> twoway.TwoWayReport:
    return twoway.poll_calendar_changes(company.pk)


def test_t1_edit_is_written_back_stored_and_not_bounced(two_way, cal, source):
    mirrored(two_way, cal, "taro")
    ev = event_of(cal, two_way, "taro")
    user_edit(cal, ev, body="議事録を追記", location="東京都港区")
    report = poll(two_way)
    assert report.written_back == 1
    ((schedule, edit),) = source.calls
    assert schedule.content == "打ち合わせ"  # the SFA state as stored, before the edit
    assert (edit.body, edit.location, edit.subject, edit.span) == ("議事録を追記", "東京都港区", None, None)
    stored = StoredSchedule.objects.get(company=two_way, record_id="1")
    assert stored.payload["content"] == "議事録を追記"
    key = ev.change_key
    passes.process_inbox(two_way.pk)  # the stored write-back is planned: nothing to send
    assert ev.change_key == key and ev.event.body == "議事録を追記"
    assert poll(two_way).changed == 0 and len(source.calls) == 1


def test_t1_subject_of_a_meeting_goes_to_the_title_and_the_calendar_keeps_customer_and_purpose(
    two_way, cal, source
):
    mirrored(two_way, cal, "taro")
    ev = event_of(cal, two_way, "taro")
    user_edit(cal, ev, subject="赤木電機 見積提出")
    assert poll(two_way).written_back == 1
    ((_, edit),) = source.calls
    assert edit.subject == "赤木電機 見積提出"
    stored = Schedule.from_dict(StoredSchedule.objects.get(company=two_way, record_id="1").payload)
    assert stored.title == "赤木電機 見積提出"
    assert (stored.customer_name, stored.purpose) == ("赤木電機", "定期訪問")  # never parsed back
    passes.process_inbox(two_way.pk)
    assert ev.event.subject == "赤木電機/定期訪問"  # S5 rendering restored by the planner
    assert poll(two_way).changed == 0 and len(source.calls) == 1


def test_t1_named_calendar_is_compared_by_listing(two_way, cal, source, feed):
    mirrored(two_way, cal, "taro", calendar_name="営業", calendars=("営業",))
    ev = event_of(cal, two_way, "taro")
    assert ev.calendar == "営業"
    user_edit(cal, ev, start=ev.event.start + timedelta(hours=1), end=ev.event.end + timedelta(hours=2))
    assert poll(two_way).written_back == 1
    ((_, edit),) = source.calls
    assert edit.span is not None and edit.span.end - edit.span.start == timedelta(hours=2)
    assert feed.tokens == []  # no delta on a named calendar


def test_t2_several_participants_restore_the_sfa_version_at_once(two_way, cal, source):
    mirrored(two_way, cal, "taro", "hanako")
    ev = event_of(cal, two_way, "hanako")
    user_edit(cal, ev, subject="勝手に変更")
    report = poll(two_way)
    assert (report.restored, report.written_back) == (1, 0)
    assert source.calls == []
    assert ev.event.subject == "赤木電機/定期訪問"
    assert SyncLogEntry.objects.get(company=two_way, operation="restore").login_id == "hanako"


def test_t3_untracked_events_are_never_looked_at(two_way, cal, source):
    mirrored(two_way, cal, "taro")
    other = dataclasses.replace(event_of(cal, two_way, "taro"), id="mine", change_key="x")
    cal.events["mine"] = other
    assert poll(two_way).changed == 0 and source.calls == []


def test_t4_deleted_event_is_lost_and_the_sfa_record_stays(two_way, cal, source, feed):
    mirrored(two_way, cal, "taro")
    ev = event_of(cal, two_way, "taro")
    cal.user_delete(ev.id)
    feed.removed.append(ev.id)
    assert poll(two_way).lost == 1
    assert source.calls == []
    assert MirrorEvent.objects.get(company=two_way).state == "lost"
    assert not StoredSchedule.objects.get(company=two_way).deleted
    (line,) = SyncLogEntry.objects.filter(operation="lost")
    assert line.subject == "赤木電機/定期訪問"  # L1: the event is gone, the line still names it


def test_t4_removal_reported_for_an_event_that_still_exists_is_not_a_deletion(two_way, cal, source, feed):
    mirrored(two_way, cal, "taro")
    ev = event_of(cal, two_way, "taro")
    feed.removed.append(ev.id)  # delta also reports events leaving the window
    assert poll(two_way).lost == 0
    assert MirrorEvent.objects.get(company=two_way).state == "synced"


def test_t5_sfa_change_pending_and_calendar_edit_the_sfa_wins(two_way, cal, source):
    mirrored(two_way, cal, "taro")
    inbox.accept(two_way, meeting(participants=("taro",), content="SFAの変更", updated=meeting().updated_at + timedelta(minutes=5)), trigger="push")  # fmt: skip
    ev = event_of(cal, two_way, "taro")
    user_edit(cal, ev, body="予定表の変更")
    report = poll(two_way)
    assert (report.conflicts, report.written_back) == (1, 0)
    assert ev.event.body == "SFAの変更"
    line = SyncLogEntry.objects.get(company=two_way, operation="conflict")
    assert line.result == "warning" and "T5" in line.message


def test_t5_an_sfa_change_already_in_the_calendar_is_not_a_conflict(two_way, cal, source):
    mirrored(two_way, cal, "taro")
    later = meeting().updated_at + timedelta(minutes=5)
    inbox.accept(two_way, meeting(participants=("taro",), content="SFAの変更", updated=later), trigger="push")
    passes.process_inbox(two_way.pk)
    user_edit(cal, event_of(cal, two_way, "taro"), body="その後の予定表の変更")
    assert poll(two_way).written_back == 1


def test_s1_edit_of_a_frozen_actual_is_not_written_back(two_way, cal, source):
    mirrored(two_way, cal, "taro")
    later = meeting().updated_at + timedelta(minutes=5)
    inbox.accept(two_way, meeting(participants=("taro",), status="実績", updated=later), trigger="push")
    passes.process_inbox(two_way.pk)
    ev = event_of(cal, two_way, "taro")
    user_edit(cal, ev, body="実績メモ")
    assert poll(two_way).written_back == 0
    assert source.calls == [] and ev.event.body == "実績メモ"


def test_s11_retryable_write_back_failure_keeps_the_delta_link_and_succeeds_later(two_way, cal, source, feed):
    mirrored(two_way, cal, "taro")
    poll(two_way)
    user_edit(cal, event_of(cal, two_way, "taro"), body="後で届く")
    source.fail.append(ServiceUnavailableError("callback answered 503"))
    report = poll(two_way)
    assert (report.postponed, report.written_back) == (1, 0)
    kept = feed.tokens[-1]
    assert twoway.DeltaCursor.load(DeltaState.objects.get(company=two_way).delta_link).link == kept
    assert poll(two_way).written_back == 1
    assert feed.tokens[-1] == kept  # the same changes were read again
    assert source.calls[0][1].body == "後で届く"
    assert SyncLogEntry.objects.filter(company=two_way, operation="write_back", result="warning").count() == 1


def test_refused_write_back_is_logged_with_its_hint_and_the_sfa_version_restored(two_way, cal, source):
    mirrored(two_way, cal, "taro")
    ev = event_of(cal, two_way, "taro")
    user_edit(cal, ev, body="拒否される")
    source.fail.append(SourceError("HTTP 400 INVALID_VALUE", source="JUST.SFA", http_status=400))
    report = poll(two_way)
    assert (report.failed, report.written_back) == (1, 0)
    assert ev.event.body == "打ち合わせ"
    line = SyncLogEntry.objects.get(company=two_way, operation="write_back")
    assert (line.result, line.error_code) == ("failure", "source_error")


def test_source_that_cannot_write_back_restores_with_a_hint(two_way, cal):
    mirrored(two_way, cal, "taro")  # source "push", but no push connection exists
    ev = event_of(cal, two_way, "taro")
    user_edit(cal, ev, body="書き戻せない")
    assert poll(two_way).failed == 1
    assert ev.event.body == "打ち合わせ"
    line = SyncLogEntry.objects.get(company=two_way, operation="write_back")
    assert line.error_code == "write_back_unsupported"
    err = twoway.WriteBackUnsupportedError("x", source="push")
    assert "片方向" in err.hint("ja") and "one-way" in err.hint("en")


def test_expired_delta_link_reads_a_fresh_round(two_way, cal, source, feed):
    mirrored(two_way, cal, "taro")
    poll(two_way)
    user_edit(cal, event_of(cal, two_way, "taro"), body="期限切れ後")
    feed.fail.append(ResyncRequiredError("syncStateNotFound"))
    assert poll(two_way).written_back == 1
    assert feed.tokens[-1] is None


def test_unreadable_mailbox_is_logged_once_not_at_every_poll(two_way, cal, source, feed):
    mirrored(two_way, cal, "taro")
    for _ in range(3):
        feed.fail.append(MailboxNotFoundError("gone", mailbox=f"taro@{DOMAIN}"))
        assert poll(two_way).unreadable == 1
    lines = SyncLogEntry.objects.filter(company=two_way, operation="read_changes")
    assert [x.error_code for x in lines] == ["mailbox_not_found"]


def test_busy_mailbox_is_left_for_the_next_poll(two_way, cal, source):
    mirrored(two_way, cal, "taro")
    user_edit(cal, event_of(cal, two_way, "taro"), body="あとで")
    other = LeaseSet()
    assert other.acquire([mailbox_key(two_way.pk, f"taro@{DOMAIN}")])
    try:
        assert poll(two_way).busy == 1 and source.calls == []
    finally:
        other.release()
    assert poll(two_way).written_back == 1


def test_e1_employee_switched_off_is_not_touched(two_way, cal, source):
    mirrored(two_way, cal, "taro")
    two_way.employees.filter(login_id="taro").update(state="off")
    user_edit(cal, event_of(cal, two_way, "taro"), body="対象外")
    assert poll(two_way).mailboxes == 0 and source.calls == []


def test_s9_one_way_does_nothing(company, cal, source):
    mirrored(company, cal, "taro")
    user_edit(cal, event_of(cal, company, "taro"), body="片方向")
    assert poll(company).as_dict() == twoway.TwoWayReport().as_dict()
    assert source.calls == []


def test_cursor_round_trips_and_expires(two_way):
    from django.utils import timezone

    now = timezone.now()
    start, end = twoway.fresh_window(now, "Asia/Tokyo")
    cur = twoway.DeltaCursor("taro@example.com", start, end, "https://graph/delta?x", "")
    assert twoway.DeltaCursor.load(cur.dump()) == cur
    assert cur.usable("taro@example.com", now, "Asia/Tokyo")
    assert not cur.usable("jiro@example.com", now, "Asia/Tokyo")
    assert not cur.usable("taro@example.com", now + timedelta(days=100), "Asia/Tokyo")
    assert twoway.DeltaCursor.load("not json") is None and twoway.DeltaCursor.load("") is None


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    """An SFA's write-back endpoint on loopback: records what it receives."""
    import http.server
    import threading

    got: list[tuple[dict[str, str], bytes]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            got.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return None

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/sfacal/writeback", got
    finally:
        server.shutdown()
        server.server_close()


def test_t1_push_source_edit_is_delivered_signed_to_the_callback_url(two_way, cal, receiver, monkeypatch):
    import json

    from sfacal.directory.connections.models import SourceConnection
    from sfacal.sources.push.writeback import verify_signature

    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    url, got = receiver
    SourceConnection.objects.create(
        company=two_way, kind="push", name="default", callback_url=url, callback_secret="s3cret"
    )
    mirrored(two_way, cal, "taro")
    ev = event_of(cal, two_way, "taro")
    user_edit(cal, ev, body="プッシュへ書き戻し")
    assert poll(two_way).written_back == 1
    ((headers, body),) = got
    assert verify_signature("s3cret", headers["x-sfacal-timestamp"], body, headers["x-sfacal-signature"])
    payload = json.loads(body)
    assert payload["source_id"] == "1" and payload["changed_fields"] == ["body"]
    assert payload["calendar"] == {"body": "プッシュへ書き戻し"}
    assert payload["event"] == {"id": ev.id, "mailbox": f"taro@{DOMAIN}", "login_id": "taro"}
    assert poll(two_way).changed == 0 and len(got) == 1
