"""The calendar contract: what every calendar connector must do (S5, S6, S7, S9, E3, T).

Runs against every target of the ``connector`` fixture (see conftest.py).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from sfacal.calendars.base import (
    CalendarService,
    CreateEvent,
    DeleteEvent,
    EventTag,
    EventWrite,
    UpdateEvent,
    write_for_operation,
)
from sfacal.core.planner import plan
from sfacal.core.render import MAX_SUBJECT, RenderedEvent, render
from sfacal.core.schedule import AllDaySpan, Kind, Schedule, SourceRef, Status, TimedSpan
from sfacal.core.settings import CompanyPolicy, EmployeeSettings, Masters, SyncState, UserIdMode

from .conftest import ContractTarget

TOKYO = "Asia/Tokyo"


def _tag(record: str = "1001", login: str = "taro") -> EventTag:
    return EventTag(SourceRef("acme", "justsfa", record), login)


def _event(subject: str = "赤木電機/定期訪問", hour: int = 10, **kw: object) -> RenderedEvent:
    start = datetime(2030, 4, 8, hour, 0)
    fields: dict[str, object] = {
        "subject": subject,
        "location": "東京都千代田区丸の内1-1",
        "body": "商談メモ\n2行目",
        "start": start,
        "end": start + timedelta(hours=1),
        "timezone": TOKYO,
    }
    fields.update(kw)
    return RenderedEvent(**fields)  # type: ignore[arg-type]


def _tagged(target: ContractTarget) -> list[dict[str, object]]:
    return [e for e in target.stored_events() if e.get("singleValueExtendedProperties")]


def test_contract_create_then_read_back_s5_fields(connector: ContractTarget) -> None:
    async def scenario(cal: CalendarService) -> None:
        tag = _tag()
        created = await cal.create_event(connector.mailbox, _event(), tag, "tx-create-1")
        got = await cal.get_event(connector.mailbox, created.id, TOKYO)
        assert got is not None
        assert got.subject == "赤木電機/定期訪問"
        assert got.location == "東京都千代田区丸の内1-1"
        assert got.body == "商談メモ\n2行目"
        assert (got.start, got.end) == (datetime(2030, 4, 8, 10), datetime(2030, 4, 8, 11))
        assert got.timezone == TOKYO and not got.is_all_day
        assert got.tag == tag and got.change_key

    connector.run(scenario)
    [stored] = connector.stored_events()
    assert stored["properties"].get("sensitivity", "normal") == "normal"
    assert stored["properties"].get("showAs") == "busy"


def test_contract_update_overwrites_every_field(connector: ContractTarget) -> None:
    async def scenario(cal: CalendarService) -> None:
        tag = _tag()
        created = await cal.create_event(connector.mailbox, _event(), tag, "tx-upd-1")
        changed = _event("青木商事/納品", hour=15, location="大阪市北区", body="")
        outcome = await cal.update_event(
            connector.mailbox, created.id, changed, tag, change_key=created.change_key
        )
        assert outcome.ok and outcome.event_id == created.id and not outcome.recreated
        assert outcome.change_key and outcome.change_key != created.change_key
        got = await cal.get_event(connector.mailbox, created.id, TOKYO)
        assert got is not None
        assert (got.subject, got.location, got.body) == ("青木商事/納品", "大阪市北区", "")
        assert got.start == datetime(2030, 4, 8, 15)

    connector.run(scenario)
    assert len(connector.stored_events()) == 1


def test_contract_delete_and_delete_again(connector: ContractTarget) -> None:
    async def scenario(cal: CalendarService) -> None:
        created = await cal.create_event(connector.mailbox, _event(), _tag(), "tx-del-1")
        assert await cal.delete_event(connector.mailbox, created.id) is True
        assert await cal.get_event(connector.mailbox, created.id) is None
        assert await cal.delete_event(connector.mailbox, created.id) is False

    connector.run(scenario)
    assert connector.stored_events() == []


def test_s6_find_by_tag_finds_exactly_our_event(connector: ContractTarget) -> None:
    connector.user_create(
        {
            "subject": "private",
            "start": {"dateTime": "2030-04-08T09:00:00", "timeZone": "UTC"},
            "end": {"dateTime": "2030-04-08T10:00:00", "timeZone": "UTC"},
        }
    )

    async def scenario(cal: CalendarService) -> None:
        a, b, other_login = _tag("A-1"), _tag("B-2"), _tag("A-1", "hanako")
        ea = await cal.create_event(connector.mailbox, _event("A"), a, "tx-a")
        eb = await cal.create_event(connector.mailbox, _event("B"), b, "tx-b")
        assert [e.id for e in await cal.find_by_tag(connector.mailbox, a)] == [ea.id]
        assert [e.id for e in await cal.find_by_tag(connector.mailbox, b)] == [eb.id]
        assert await cal.find_by_tag(connector.mailbox, other_login) == []
        tagged = await cal.list_tagged(connector.mailbox)
        assert sorted(e.id for e in tagged) == sorted([ea.id, eb.id])  # T3: the user's event is not ours

    connector.run(scenario)


def test_s6_tags_that_differ_only_in_case_are_never_confused(connector: ContractTarget) -> None:
    """Graph matches extended-property values ignoring case; schedules whose tags differ only in
    case (record ``rec-a`` / ``REC-A``, login ``taro`` / ``Taro``) stay apart: found, listed and
    deleted by tag, each is only ever its own event."""
    tags = [_tag("rec-a"), _tag("REC-A"), _tag("rec-a", "Taro")]

    async def scenario(cal: CalendarService) -> None:
        made = [
            await cal.create_event(connector.mailbox, _event(f"e{i}"), tag, f"tx-case-{i}")
            for i, tag in enumerate(tags)
        ]
        for tag, event in zip(tags, made, strict=True):
            assert [e.id for e in await cal.find_by_tag(connector.mailbox, tag)] == [event.id]
        assert sorted(e.tag for e in await cal.list_tagged(connector.mailbox) if e.tag) == sorted(tags)
        [gone] = await cal.apply(connector.mailbox, [DeleteEvent(None, tags[1])])
        assert gone.deleted_ids == (made[1].id,)
        assert [e.id for e in await cal.find_by_tag(connector.mailbox, tags[0])] == [made[0].id]

    connector.run(scenario)
    assert sorted(e["properties"]["subject"] for e in connector.stored_events()) == ["e0", "e2"]


def test_contract_an_event_keeps_its_id_when_the_user_moves_it(connector: ContractTarget) -> None:
    """The connector asks for ids that survive a move to another calendar (Graph: immutable ids):
    the id it was given still reads, updates and deletes the event wherever the user put it."""
    state: dict[str, str] = {}

    async def create(cal: CalendarService) -> None:
        state["id"] = (await cal.create_event(connector.mailbox, _event(), _tag(), "tx-move")).id

    connector.run(create)
    connector.user_move(state["id"], connector.named_calendar)

    async def follow(cal: CalendarService) -> None:
        [found] = await cal.find_by_tag(connector.mailbox, _tag(), connector.named_calendar)
        assert found.id == state["id"] and await cal.find_by_tag(connector.mailbox, _tag()) == []
        outcome = await cal.update_event(connector.mailbox, state["id"], _event("moved"), _tag())
        assert outcome.ok and outcome.event_id == state["id"] and not outcome.recreated
        got = await cal.get_event(connector.mailbox, state["id"])
        assert got is not None and got.subject == "moved"
        assert await cal.delete_event(connector.mailbox, state["id"]) is True

    connector.run(follow)
    assert connector.stored_events() == []


def test_contract_an_id_that_cannot_be_an_id_names_no_event(connector: ContractTarget) -> None:
    """Graph answers an id it cannot read with 400 ``ErrorInvalidIdMalformed``, not 404: it still
    means "no such event" -- a delete of it is done, a read finds nothing, an update re-creates
    (S9) -- never a failure that repeats forever."""
    bad = "AAMkAD-truncated"

    async def scenario(cal: CalendarService) -> None:
        assert await cal.delete_event(connector.mailbox, bad) is False
        assert await cal.get_event(connector.mailbox, bad) is None
        [gone] = await cal.apply(connector.mailbox, [DeleteEvent(bad)])
        assert gone.ok and gone.already_gone
        plain = await cal.update_event(connector.mailbox, bad, _event(), _tag())
        assert plain.error is not None and plain.error.code == "not_found"
        outcome = await cal.update_event(
            connector.mailbox, bad, _event("again"), _tag(), recreate_transaction_id="tx-malformed-1"
        )
        assert outcome.ok and outcome.recreated and outcome.event_id
        [batched, _] = await cal.apply(
            connector.mailbox,
            [
                UpdateEvent(bad, _event("batched"), _tag("b"), recreate_transaction_id="tx-malformed-2"),
                CreateEvent(_event("other"), _tag("o"), "tx-malformed-3"),
            ],
        )
        assert batched.ok and batched.recreated

    connector.run(scenario)
    assert sorted(e["properties"]["subject"] for e in connector.stored_events()) == [
        "again",
        "batched",
        "other",
    ]


def test_s6_same_transaction_id_twice_makes_one_event(connector: ContractTarget) -> None:
    async def scenario(cal: CalendarService) -> None:
        first = await cal.create_event(connector.mailbox, _event(), _tag(), "tx-same")
        second = await cal.create_event(connector.mailbox, _event(), _tag(), "tx-same")
        assert first.id == second.id
        outcomes = await cal.apply(connector.mailbox, [CreateEvent(_event(), _tag(), "tx-same")] * 3)
        assert {o.event_id for o in outcomes} == {first.id}

    connector.run(scenario)
    assert len(connector.stored_events()) == 1


def test_s6_s11_create_resent_with_newer_content_updates_the_first_event(connector: ContractTarget) -> None:
    """A crash after a create went out, then the schedule changed: the pending create is sent again
    with the same transactionId and the newer content. One event, with the newer content."""

    async def scenario(cal: CalendarService) -> None:
        first = await cal.create_event(connector.mailbox, _event("v1"), _tag("r"), "tx-r")
        outcomes = await cal.apply(
            connector.mailbox,
            [CreateEvent(_event("v2"), _tag("r"), "tx-r"), CreateEvent(_event("other"), _tag("o"), "tx-o")],
        )
        assert all(o.ok for o in outcomes), [o.error for o in outcomes]
        assert outcomes[0].event_id == first.id
        again = await cal.create_event(connector.mailbox, _event("v3"), _tag("r"), "tx-r")
        assert again.id == first.id and again.subject == "v3"

    connector.run(scenario)
    subjects = sorted(e["properties"]["subject"] for e in connector.stored_events())
    assert subjects == ["other", "v3"]


def test_s5_all_day_event_is_midnight_to_midnight(connector: ContractTarget) -> None:
    schedule = Schedule(
        ref=SourceRef("acme", "justsfa", "allday"),
        kind=Kind.TASK,
        status=Status.PLAN,
        span=AllDaySpan.inclusive(date(2030, 5, 1), date(2030, 5, 2)),
        updated_at=datetime(2030, 4, 1, tzinfo=UTC),
        business_name="会議",
    )
    rendered = render(schedule, TOKYO)

    async def scenario(cal: CalendarService) -> None:
        created = await cal.create_event(connector.mailbox, rendered, _tag("allday"), "tx-allday")
        got = await cal.get_event(connector.mailbox, created.id, TOKYO)
        assert got is not None and got.is_all_day
        assert (got.start, got.end) == (datetime(2030, 5, 1), datetime(2030, 5, 3))
        assert got.subject == "会議"

    connector.run(scenario)


def test_s5_utc_schedule_lands_at_tokyo_time(connector: ContractTarget) -> None:
    schedule = Schedule(
        ref=SourceRef("acme", "push", "utc-1"),
        kind=Kind.MEETING,
        status=Status.PLAN,
        span=TimedSpan(datetime(2030, 6, 30, 23, 30, tzinfo=UTC), datetime(2030, 7, 1, 1, 0, tzinfo=UTC)),
        updated_at=datetime(2030, 6, 1, tzinfo=UTC),
        customer_name="赤木電機",
        purpose="定期訪問",
    )
    rendered = render(schedule, TOKYO)

    async def scenario(cal: CalendarService) -> None:
        created = await cal.create_event(connector.mailbox, rendered, _tag("utc-1"), "tx-utc")
        tokyo = await cal.get_event(connector.mailbox, created.id, TOKYO)
        utc = await cal.get_event(connector.mailbox, created.id, "UTC")
        assert tokyo is not None and utc is not None
        assert (tokyo.start, tokyo.end) == (datetime(2030, 7, 1, 8, 30), datetime(2030, 7, 1, 10, 0))
        assert (utc.start, utc.end) == (datetime(2030, 6, 30, 23, 30), datetime(2030, 7, 1, 1, 0))
        assert utc.timezone == "UTC"

    connector.run(scenario)


@pytest.mark.parametrize(
    ("zone", "utc_hours"),
    [("Europe/Amsterdam", (7, 8)), ("America/Toronto", (13, 14)), ("Asia/Kuala_Lumpur", (1, 2))],
)
def test_s5_company_zones_the_calendar_does_not_list_by_name(
    connector: ContractTarget, zone: str, utc_hours: tuple[int, int]
) -> None:
    """A company zone the calendar does not take by its IANA name (Graph lists only some) is
    written and read in its own wall-clock time all the same."""

    async def scenario(cal: CalendarService) -> None:
        event = _event(hour=9, timezone=zone)
        created = await cal.create_event(connector.mailbox, event, _tag(zone), "tx-" + zone)
        got = await cal.get_event(connector.mailbox, created.id, zone)
        assert got is not None and got.timezone == zone
        assert (got.start, got.end) == (datetime(2030, 4, 8, 9), datetime(2030, 4, 8, 10))
        utc = await cal.get_event(connector.mailbox, created.id, "UTC")
        assert utc is not None
        assert (utc.start, utc.end) == tuple(datetime(2030, 4, 8, h) for h in utc_hours)
        update = await cal.update_event(
            connector.mailbox, created.id, _event(hour=11, timezone=zone), _tag(zone)
        )
        assert update.ok, update.error
        moved = await cal.get_event(connector.mailbox, created.id, zone)
        assert moved is not None and moved.start == datetime(2030, 4, 8, 11)

    connector.run(scenario)


def test_s5_japanese_text_and_emoji_round_trip(connector: ContractTarget) -> None:
    subject = "𠮷野家🍜/新規開拓 👨‍👩‍👧 ｶﾀｶﾅ ①"
    body = "本日の議題：\n・見積り💴\n・納期🚚\n\tインデント"
    location = "北海道札幌市中央区北1条西2丁目 🏢"

    async def scenario(cal: CalendarService) -> None:
        created = await cal.create_event(
            connector.mailbox, _event(subject, body=body, location=location), _tag(), "tx-ja"
        )
        got = await cal.get_event(connector.mailbox, created.id, TOKYO)
        assert got is not None
        assert (got.subject, got.body, got.location) == (subject, body, location)

    connector.run(scenario)


def test_s5_long_subject_is_kept_within_the_limit(connector: ContractTarget) -> None:
    schedule = Schedule(
        ref=SourceRef("acme", "justsfa", "long"),
        kind=Kind.TASK,
        status=Status.PLAN,
        span=TimedSpan(datetime(2030, 4, 8, 1, tzinfo=UTC), datetime(2030, 4, 8, 2, tzinfo=UTC)),
        updated_at=datetime(2030, 4, 1, tzinfo=UTC),
        business_name="長い業務名🎌" * 60,
    )
    rendered = render(schedule, TOKYO)
    assert len(rendered.subject.encode("utf-16-le")) // 2 <= MAX_SUBJECT

    async def scenario(cal: CalendarService) -> None:
        created = await cal.create_event(connector.mailbox, rendered, _tag("long"), "tx-long")
        got = await cal.get_event(connector.mailbox, created.id, TOKYO)
        assert got is not None and got.subject == rendered.subject

    connector.run(scenario)


def test_s9_update_of_deleted_event_recreates(connector: ContractTarget) -> None:
    created_id: list[str] = []

    async def create(cal: CalendarService) -> None:
        created_id.append((await cal.create_event(connector.mailbox, _event(), _tag(), "tx-gen0")).id)

    connector.run(create)
    connector.user_delete(created_id[0])

    async def update(cal: CalendarService) -> None:
        plain = await cal.update_event(connector.mailbox, created_id[0], _event("new"), _tag())
        assert plain.error is not None and plain.error.code == "not_found"
        outcome = await cal.update_event(
            connector.mailbox, created_id[0], _event("new"), _tag(), recreate_transaction_id="tx-gen1"
        )
        assert outcome.ok and outcome.recreated
        assert outcome.event_id and outcome.event_id != created_id[0]
        got = await cal.get_event(connector.mailbox, outcome.event_id)
        assert got is not None and got.subject == "new" and got.tag == _tag()

    connector.run(update)
    assert len(connector.stored_events()) == 1


def test_s9_s11_recreate_resent_with_newer_content_updates_the_recreated_event(
    connector: ContractTarget,
) -> None:
    """The re-creation went through before a crash; the next pass re-creates again with newer
    content and the same transactionId: still one event, with the newer content."""

    async def scenario(cal: CalendarService) -> None:
        first = await cal.create_event(connector.mailbox, _event("v1"), _tag(), "tx-gen0")
        again = await cal.create_event(connector.mailbox, _event("v2"), _tag(), "tx-gen1")
        await cal.delete_event(connector.mailbox, first.id)
        outcome = await cal.update_event(
            connector.mailbox, first.id, _event("v3"), _tag(), recreate_transaction_id="tx-gen1"
        )
        assert outcome.ok and outcome.event_id == again.id, outcome.error
        got = await cal.get_event(connector.mailbox, again.id)
        assert got is not None and got.subject == "v3"

    connector.run(scenario)
    assert [e["properties"]["subject"] for e in connector.stored_events()] == ["v3"]


def test_e3_named_calendar_vs_default(connector: ContractTarget) -> None:
    async def scenario(cal: CalendarService) -> None:
        named = await cal.resolve_calendar(connector.mailbox, connector.named_calendar)
        default = await cal.resolve_calendar(connector.mailbox, None)
        assert named.id != default.id and default.is_default and named.name == connector.named_calendar
        assert (await cal.resolve_calendar(connector.mailbox, "  ")).id == default.id
        in_named = await cal.create_event(
            connector.mailbox, _event("N"), _tag("N"), "tx-n", connector.named_calendar
        )
        in_default = await cal.create_event(connector.mailbox, _event("D"), _tag("D"), "tx-d")
        assert [e.id for e in await cal.list_tagged(connector.mailbox, connector.named_calendar)] == [
            in_named.id
        ]
        assert [e.id for e in await cal.list_tagged(connector.mailbox)] == [in_default.id]
        assert await cal.find_by_tag(connector.mailbox, _tag("N")) == []
        return None

    connector.run(scenario)
    calendars = {e["calendarId"] for e in connector.stored_events()}
    assert len(calendars) == 2


def test_e3_missing_named_calendar_is_calendar_not_found(connector: ContractTarget) -> None:
    async def scenario(cal: CalendarService) -> None:
        [outcome] = await cal.apply(connector.mailbox, [CreateEvent(_event(), _tag(), "tx-x", "存在しない")])
        assert outcome.error is not None and outcome.error.code == "calendar_not_found"
        assert "存在しない" in outcome.error.user_message("ja")

    connector.run(scenario)
    assert connector.stored_events() == []


def test_s7_update_restores_times_after_user_made_it_all_day(connector: ContractTarget) -> None:
    ids: list[str] = []

    async def create(cal: CalendarService) -> None:
        ids.append((await cal.create_event(connector.mailbox, _event(), _tag(), "tx-s7")).id)

    connector.run(create)
    connector.user_update(
        ids[0],
        {
            "isAllDay": True,
            "start": {"dateTime": "2030-04-08T00:00:00", "timeZone": "Tokyo Standard Time"},
            "end": {"dateTime": "2030-04-09T00:00:00", "timeZone": "Tokyo Standard Time"},
        },
    )

    async def update(cal: CalendarService) -> None:
        edited = await cal.get_event(connector.mailbox, ids[0], TOKYO)
        assert edited is not None and edited.is_all_day  # the user's edit is really there
        outcome = await cal.update_event(connector.mailbox, ids[0], _event(hour=13), _tag())
        assert outcome.ok, outcome.error
        got = await cal.get_event(connector.mailbox, ids[0], TOKYO)
        assert got is not None and not got.is_all_day
        assert (got.start, got.end) == (datetime(2030, 4, 8, 13), datetime(2030, 4, 8, 14))

    connector.run(update)


def test_contract_stale_change_key_is_reread_and_update_wins(connector: ContractTarget) -> None:
    ids: list[str] = []
    keys: list[str | None] = []

    async def create(cal: CalendarService) -> None:
        snap = await cal.create_event(connector.mailbox, _event(), _tag(), "tx-412")
        ids.append(snap.id)
        keys.append(snap.change_key)

    connector.run(create)
    connector.user_update(ids[0], {"subject": "edited in Outlook"})

    async def update(cal: CalendarService) -> None:
        edited = await cal.get_event(connector.mailbox, ids[0])
        assert edited is not None and edited.change_key != keys[0]  # our key is stale now
        outcome = await cal.update_event(
            connector.mailbox, ids[0], _event("SFA wins"), _tag(), change_key=keys[0]
        )
        assert outcome.ok, outcome.error
        got = await cal.get_event(connector.mailbox, ids[0])
        assert got is not None and got.subject == "SFA wins"

    connector.run(update)


def test_contract_apply_mixed_writes_and_delete_by_tag(connector: ContractTarget) -> None:
    async def scenario(cal: CalendarService) -> None:
        keep = await cal.create_event(connector.mailbox, _event("keep"), _tag("k"), "tx-k")
        drop = await cal.create_event(connector.mailbox, _event("drop"), _tag("d"), "tx-d")
        pending = await cal.create_event(connector.mailbox, _event("pending"), _tag("p"), "tx-p")
        writes: list[EventWrite] = [
            DeleteEvent(drop.id),
            DeleteEvent(None, _tag("p")),  # an unconfirmed create: found by its tag
            UpdateEvent(keep.id, _event("kept"), _tag("k")),
            *[CreateEvent(_event(f"new {i}"), _tag(f"n{i}"), f"tx-n{i}") for i in range(25)],
            DeleteEvent(None, _tag("never-created")),
        ]
        outcomes = await cal.apply(connector.mailbox, writes)
        assert all(o.ok for o in outcomes), [o.error for o in outcomes if o.error]
        assert outcomes[0].deleted_ids == (drop.id,)
        assert outcomes[1].deleted_ids == (pending.id,)
        assert outcomes[2].event_id == keep.id
        assert len({o.event_id for o in outcomes[3:28]}) == 25
        assert outcomes[-1].already_gone

    connector.run(scenario)
    subjects = sorted(e["properties"]["subject"] for e in connector.stored_events())
    assert subjects == sorted(["kept", *[f"new {i}" for i in range(25)]])


def test_contract_planner_operations_map_to_writes(connector: ContractTarget) -> None:
    ref = SourceRef("acme", "justsfa", "planned")
    schedule = Schedule(
        ref=ref,
        kind=Kind.MEETING,
        status=Status.PLAN,
        span=TimedSpan(datetime(2030, 4, 8, 1, tzinfo=UTC), datetime(2030, 4, 8, 2, tzinfo=UTC)),
        updated_at=datetime(2030, 4, 1, tzinfo=UTC),
        customer_name="赤木電機",
        purpose="定期訪問",
        participants=("taro",),
    )
    employee = EmployeeSettings("taro", SyncState.ON, UserIdMode.EXPLICIT, user_id=connector.mailbox)
    result = plan(schedule, {"taro": employee}, [], CompanyPolicy(), Masters())
    writes = [write_for_operation(op) for op in result.operations]

    async def scenario(cal: CalendarService) -> None:
        [outcome] = await cal.apply(connector.mailbox, writes)
        assert outcome.ok
        [found] = await cal.find_by_tag(connector.mailbox, EventTag(ref, "taro"))
        assert found.id == outcome.event_id and found.subject == "赤木電機/定期訪問"
        assert found.to_core().tag == ref

    connector.run(scenario)


def test_t_read_changes_reports_edits_and_deletions(connector: ContractTarget) -> None:
    window = (datetime(2030, 4, 1, tzinfo=UTC), datetime(2030, 5, 1, tzinfo=UTC))
    state: dict[str, str] = {}

    async def first(cal: CalendarService) -> None:
        a = await cal.create_event(connector.mailbox, _event("A"), _tag("a"), "tx-da")
        b = await cal.create_event(connector.mailbox, _event("B", hour=12), _tag("b"), "tx-db")
        state.update(a=a.id, b=b.id)
        page = await cal.read_changes(connector.mailbox, start=window[0], end=window[1], timezone=TOKYO)
        assert {e.id for e in page.events} >= {a.id, b.id}
        state["token"] = page.delta_token

    connector.run(first)
    connector.user_update(state["a"], {"subject": "A edited"})
    connector.user_delete(state["b"])

    async def second(cal: CalendarService) -> None:
        page = await cal.read_changes(
            connector.mailbox, start=window[0], end=window[1], delta_token=state["token"], timezone=TOKYO
        )
        by_id = {e.id: e for e in page.events}
        assert by_id[state["a"]].subject == "A edited" and not by_id[state["a"]].deleted
        assert by_id[state["a"]].start == datetime(2030, 4, 8, 10)
        assert by_id[state["b"]].deleted
        assert page.delta_token

    connector.run(second)
