"""Hypothesis strategies for the bodies the two doors take: the documented shapes with hostile
values in every slot (lone surrogates, NUL and other control characters, dates at the edge of the
calendar, offsets up to +-14:00, huge and fractional numbers, deep nesting) and plain junk."""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import strategies as st

from tests.fuzz.served import PARTICIPANTS, PERIOD, SF, good_record, good_schedule

# Any code point, lone surrogates included (sent as \\udXXX escapes in valid JSON).
ANY_CHAR = st.characters(exclude_categories=())
HOSTILE_CHARS = st.sampled_from(
    ["\x00", "\ud800", "\udfff", "\x07", "\u2028", "\ufeff", "\uffff", "/", ".", " "]
)
TEXT = st.text(st.one_of(ANY_CHAR, HOSTILE_CHARS), max_size=40)
SHORT_TEXT = st.text(st.one_of(ANY_CHAR, HOSTILE_CHARS), max_size=8)
NUMBERS = st.one_of(
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0, 1, -1, 0.5, 1.5, 2**63, -(2**63) - 1, 1e300]),
)
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, TEXT)
JUNK: st.SearchStrategy[Any] = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(SHORT_TEXT, inner, max_size=4)),
    max_leaves=12,
)


@st.composite
def datetime_text(draw: st.DrawFn, *, with_offset: bool | None = None) -> str:
    """A date, or a date and time, from year 1 to 9999, with offsets up to +-14:00 (or beyond)."""
    year = draw(st.one_of(st.integers(1, 9999), st.sampled_from([1, 1899, 1900, 2200, 2201, 9999])))
    month, day = draw(st.integers(1, 12)), draw(st.integers(1, 31))
    text = f"{year:04d}-{month:02d}-{day:02d}"
    if draw(st.booleans()):
        return text
    hour, minute = draw(st.integers(0, 24)), draw(st.integers(0, 60))
    text += f"T{hour:02d}:{minute:02d}"
    if draw(st.booleans()):
        text += f":{draw(st.integers(0, 60)):02d}"
        if draw(st.booleans()):
            text += "." + "7" * draw(st.integers(1, 9))
    offset = draw(st.booleans()) if with_offset is None else with_offset
    if offset:
        text += draw(
            st.one_of(
                st.just("Z"),
                st.builds(
                    lambda sign, h, m: f"{sign}{h:02d}:{m:02d}",
                    st.sampled_from("+-"),
                    st.integers(0, 25),
                    st.sampled_from([0, 30, 45, 59, 60]),
                ),
            )
        )
    return text


POINT = st.one_of(datetime_text(), TEXT, JUNK)


def webhook_participants() -> st.SearchStrategy[Any]:
    user = st.one_of(st.sampled_from(["tanaka", "sato"]), TEXT, NUMBERS)
    item = st.one_of(
        st.tuples(user, TEXT).map(list),
        user,
        st.builds(lambda u: {"userId": u}, user),
        JUNK,
    )
    return st.one_of(st.lists(item, max_size=4), JUNK)


# A value for one slot of an otherwise valid body: text with at least one hostile character, a
# date at the edge of the calendar, a number, junk or deep nesting.
HOSTILE_TEXT = st.builds(lambda a, h, b: a + h + b, SHORT_TEXT, HOSTILE_CHARS, SHORT_TEXT)
EDGE_DATES = st.sampled_from(
    [
        "0001-01-01T00:00+14:00",
        "9999-12-31T23:00-14:00",
        "0001-01-01",
        "9999-12-31",
        "1899-12-31T23:59:59.999999-14:00",
        "2200-12-31T23:59+14:00",
        "2026-02-30",
        "2026-13-01T10:00",
        "2026-11-24T24:00+09:00",
        "2026-11-24T10:00+24:00",
    ]
)
DEEP = st.integers(60, 200).map(lambda depth: json.loads("[" * depth + "]" * depth))
KNOWN_BAD: list[Any] = [
    "a\ud800b",
    "\udfff",
    "a\x00b",
    "\x00",
    " ",
    "0001-01-01T00:00+14:00",
    "9999-12-31T23:00-14:00",
    json.loads("[" * 100 + "]" * 100),
    2**70,
    -1,
    1.5,
    None,
    True,
    [],
    {},
    "",
]
"""Values every slot is tried with, whatever the random draws (the defects of issue 14, item 1)."""
BAD_VALUE: st.SearchStrategy[Any] = st.one_of(HOSTILE_TEXT, EDGE_DATES, datetime_text(), NUMBERS, JUNK, DEEP)


def with_slot(body: Any, path: tuple[Any, ...], value: Any) -> Any:
    """``body`` (a fresh copy) with the slot at ``path`` set to ``value``."""
    body = copy.deepcopy(body)
    target = body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return body


def one_bad_slot(valid: dict[str, Any], slots: list[tuple[Any, ...]]) -> st.SearchStrategy[Any]:
    """``valid`` with one of its ``slots`` (key paths) holding a :data:`BAD_VALUE`: the rest of
    the body is right, so the bad value reaches the code that reads it."""
    return st.builds(with_slot, st.just(valid), st.sampled_from(slots), BAD_VALUE)


def valid_delivery() -> dict[str, Any]:
    return {"type": "ADD_RECORD", "recordId": "r-1", "record": good_record()}


WEBHOOK_SLOTS: list[tuple[Any, ...]] = [
    ("type",),
    ("recordId",),
    ("record",),
    ("record", "field_1700000010"),
    ("record", SF),
    ("record", SF, PERIOD),
    ("record", SF, PERIOD, 0),
    ("record", SF, PERIOD, 1),
    ("record", SF, PARTICIPANTS),
    ("record", SF, PARTICIPANTS, 0),
    ("record", SF, PARTICIPANTS, 0, 0),
]


@st.composite
def webhook_body(draw: st.DrawFn) -> Any:
    """A JUST.SFA delivery: a valid one with one bad slot, the documented shape with hostile
    values everywhere, or junk."""
    pick = draw(st.integers(0, 9))
    if pick == 0:
        return draw(JUNK)
    if pick <= 5:
        delivery = valid_delivery()
        if draw(st.booleans()):
            delivery = {"type": "DELETE_RECORD", "recordId": "r-1"}
            return draw(one_bad_slot(delivery, [("type",), ("recordId",)]))
        return draw(one_bad_slot(delivery, WEBHOOK_SLOTS))
    period = draw(
        st.one_of(
            st.lists(POINT, min_size=0, max_size=3),
            st.builds(lambda a, b: {"start": a, "end": b}, POINT, POINT),
            JUNK,
        )
    )
    schedule = draw(
        st.one_of(
            st.fixed_dictionaries({PERIOD: st.just(period), PARTICIPANTS: webhook_participants()}),
            JUNK,
        )
    )
    record = draw(
        st.one_of(
            st.fixed_dictionaries(
                {"field_1700000010": st.one_of(TEXT, JUNK), SF: st.just(schedule)},
                optional={"field_1700000011": TEXT, "field_1700000012": st.one_of(TEXT, JUNK)},
            ),
            JUNK,
        )
    )
    return draw(
        st.fixed_dictionaries(
            {},
            optional={
                "type": st.one_of(
                    st.sampled_from(["ADD_RECORD", "UPDATE_RECORD", "DELETE_RECORD", "TEST", "add_record"]),
                    TEXT,
                    JUNK,
                ),
                "recordId": st.one_of(st.integers(-5, 10**20), TEXT, JUNK),
                "record": st.just(record),
            },
        )
    )


TIME_ZONES = st.one_of(
    st.sampled_from(["Asia/Tokyo", "America/New_York", "UTC", "", "Asia/Tokyo ", "asia/tokyo"]), TEXT
)


SCHEDULE_SLOTS: list[tuple[Any, ...]] = [
    (name,)
    for name in (
        "kind",
        "status",
        "start",
        "end",
        "all_day",
        "timezone",
        "title",
        "content",
        "participants",
        "updated_at",
        "version",
        "unknown",
    )
] + [("participants", 0)]


def schedule_body() -> st.SearchStrategy[Any]:
    """A push API schedule: a valid one with one bad slot, the documented fields with hostile
    values everywhere, unknown fields, or junk."""
    return st.one_of(one_bad_slot(good_schedule(), SCHEDULE_SLOTS), _any_schedule_body())


def _any_schedule_body() -> st.SearchStrategy[Any]:
    fields = {
        "kind": st.one_of(st.sampled_from(["商談", "業務", "meeting", "task", "Task", ""]), JUNK),
        "status": st.one_of(st.sampled_from(["予定", "実績", "plan", "actual", "PLAN"]), JUNK),
        "start": POINT,
        "end": POINT,
    }
    optional = {
        "all_day": st.one_of(st.booleans(), st.sampled_from([0, 1, "true", None])),
        "timezone": st.one_of(TIME_ZONES, JUNK),
        "title": st.one_of(TEXT, JUNK),
        "content": TEXT,
        "purpose": TEXT,
        "customer_name": TEXT,
        "participants": st.one_of(st.lists(st.one_of(st.just("tanaka"), TEXT), max_size=4), JUNK),
        "updated_at": st.one_of(datetime_text(with_offset=True), NUMBERS, TEXT),
        "version": st.one_of(NUMBERS, TEXT, JUNK),
        "unknown": JUNK,
    }
    return st.one_of(st.fixed_dictionaries(fields, optional=optional), JUNK)


VALID_ITEM = {"op": "upsert", "source_id": "b-1", "schedule": good_schedule(), "if_match": "*"}


def batch_body() -> st.SearchStrategy[Any]:
    bad_item = one_bad_slot(VALID_ITEM, [("op",), ("source_id",), ("schedule",), ("if_match",)])
    item = st.one_of(
        bad_item,
        st.builds(lambda body: {"op": "upsert", "source_id": "b-2", "schedule": body}, schedule_body()),
        st.fixed_dictionaries(
            {"op": st.sampled_from(["upsert", "delete", "merge"]), "source_id": st.one_of(TEXT, JUNK)},
            optional={
                "schedule": schedule_body(),
                "if_match": st.one_of(st.just("*"), TEXT),
                "updated_at": st.one_of(datetime_text(with_offset=True), NUMBERS),
            },
        ),
        JUNK,
    )
    return st.one_of(st.fixed_dictionaries({"items": st.lists(item, max_size=4)}), JUNK)


VALID_EMPLOYEE = {
    "name": "田中 太郎",
    "email": "tanaka@example.com",
    "state": "on",
    "user_id_mode": "explicit",
    "user_id": "tanaka@example.com",
    "calendar_name": "",
}


def employee_body() -> st.SearchStrategy[Any]:
    return st.one_of(
        one_bad_slot(VALID_EMPLOYEE, [(name,) for name in [*VALID_EMPLOYEE, "unknown"]]),
        st.fixed_dictionaries(
            {},
            optional={
                "name": st.one_of(TEXT, JUNK),
                "email": st.one_of(st.sampled_from(["a@example.com", "", "x", "a@b"]), TEXT),
                "state": st.one_of(
                    st.sampled_from(["on", "off", "forbidden", "連携する", "ON", "yes"]), JUNK
                ),
                "user_id_mode": st.one_of(st.sampled_from(["explicit", "login_at_domain", "Explicit"]), JUNK),
                "user_id": st.one_of(st.sampled_from(["u@example.com", ""]), TEXT),
                "calendar_name": TEXT,
            },
        ),
        JUNK,
    )


def purposes_body() -> st.SearchStrategy[Any]:
    item = st.fixed_dictionaries(
        {"name": st.one_of(st.sampled_from(["定期訪問", "未選択", " x", ""]), TEXT)},
        optional={"counted_as_visit": st.one_of(st.booleans(), st.sampled_from([0, 1, "yes", None]))},
    )
    return st.one_of(st.lists(st.one_of(item, JUNK), max_size=4), JUNK)
