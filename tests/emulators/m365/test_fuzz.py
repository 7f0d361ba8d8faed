"""Arbitrary JSON bodies and query strings never crash the emulator: Graph-shaped 4xx, or success."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import World, event_body

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
keys = st.sampled_from(
    [
        "subject",
        "start",
        "end",
        "isAllDay",
        "body",
        "location",
        "sensitivity",
        "categories",
        "transactionId",
        "singleValueExtendedProperties",
        "showAs",
        "zzz",
    ]
)
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _check(r: Any) -> None:
    assert r.status_code < 500, r.text
    if r.status_code >= 400:
        assert set(r.json()["error"]) == {"code", "message", "innerError"}


@FUZZ
@given(patch=st.dictionaries(keys, json_values, max_size=4))
def test_event_bodies_never_crash(world: World, patch: dict[str, Any]) -> None:
    r = world.post(f"users/{world.upn}/calendar/events", json=event_body(**patch))
    _check(r)
    if r.status_code == 201:
        _check(world.patch(f"users/{world.upn}/events/{r.json()['id']}", json=patch))


@FUZZ
@given(
    params=st.dictionaries(
        st.sampled_from(
            ["$filter", "$select", "$expand", "$top", "$skip", "$orderby", "startDateTime", "endDateTime"]
        ),
        st.text(max_size=40),
        max_size=3,
    ),
    path=st.sampled_from(["calendar/events", "events", "calendarView", "calendarView/delta", "calendars"]),
)
def test_query_options_never_crash(world: World, params: dict[str, str], path: str) -> None:
    _check(world.get(f"users/{world.upn}/{path}", params=params))


@FUZZ
@given(body=json_values)
def test_batch_and_subscription_bodies_never_crash(world: World, body: Any) -> None:
    _check(world.post("$batch", json=body))
    _check(world.post("subscriptions", json=body))
