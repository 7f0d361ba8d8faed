"""Malformed input never crashes the emulator: arbitrary JSON gets a 2xx or a 4xx JSON error."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sfacal.emulators.justsfa import EmulatorHandle, ScheduleSetup

from .conftest import Api

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
datetimes = st.sampled_from(
    ["2025-12-30T10:00+09:00", "2025-12-30", "2025-13-01T00:00+09:00", "", "T", "2025-12-30T25:00Z"]
)


@pytest.fixture
def unlimited(emu: EmulatorHandle) -> None:
    emu.control.set_knobs(per_minute=1_000_000, per_day=1_000_000)


def _check(resp: Any) -> None:
    assert resp.status_code in (200, 400, 404), resp.text
    body = resp.json()
    if resp.status_code != 200:
        assert set(body) >= {"code", "message"}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_arbitrary_record_payloads_never_cause_a_server_error(
    unlimited: None, api: Api, setup: ScheduleSetup, data: st.DataObject
) -> None:
    fields = [
        setup.title_field,
        setup.schedule_field,
        setup.status_field,
        setup.key_field,
        setup.content_field,
        "x",
    ]
    f = setup.schedule_field
    schedule_like = st.fixed_dictionaries(
        {
            f"{f}_period": st.lists(datetimes | json_values, max_size=3),
            f"{f}_participants": st.lists(
                st.lists(st.sampled_from(["yamada", "ghost", ""]) | json_values, max_size=2), max_size=3
            )
            | json_values,
        }
    )
    record = data.draw(st.dictionaries(st.sampled_from(fields), schedule_like | json_values, max_size=5))
    _check(api.post([record]))
    item = data.draw(
        st.fixed_dictionaries({"record": st.just(record)})
        | st.fixed_dictionaries({"recordKey": json_values, "record": json_values})
        | st.fixed_dictionaries({"recordId": json_values, "record": st.just(record)})
    )
    _check(api.put([item]))
    _check(api.raw("DELETE", json.dumps({"records": [data.draw(json_values)]}).encode()))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    params=st.dictionaries(
        st.sampled_from(["limit", "offset", "panelName", "filterName", "_x", "_x-0"]),
        st.text(max_size=12),
        max_size=4,
    )
)
def test_arbitrary_query_parameters_never_cause_a_server_error(
    unlimited: None, api: Api, params: dict[str, str]
) -> None:
    _check(api.get(params))
