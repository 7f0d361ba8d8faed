"""The control API answers malformed input with a 4xx JSON error, never a server error."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sfacal.emulators.justsfa import EmulatorHandle, ScheduleSetup

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=10,
)


@pytest.fixture
def paths(setup: ScheduleSetup) -> list[tuple[str, str]]:
    t = "/_control/tenants/fsz2"
    tt = f"{t}/tables/{setup.table_id}"
    return [
        ("PUT", "/_control/knobs"),
        ("POST", "/_control/clock/advance"),
        ("POST", "/_control/tenants"),
        ("POST", f"{t}/users"),
        ("POST", f"{t}/api-keys"),
        ("PATCH", f"{t}/api-keys/{setup.api_key}"),
        ("POST", f"{t}/tables"),
        ("POST", f"{tt}/fields"),
        ("POST", f"{tt}/panels"),
        ("POST", f"{tt}/filters"),
        ("POST", f"{tt}/webhooks"),
        ("POST", f"{tt}/records"),
        ("PUT", f"{tt}/records/1"),
        ("POST", f"{t}/setup/schedule"),
    ]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_control_api_never_answers_5xx(
    emu: EmulatorHandle, paths: list[tuple[str, str]], http: httpx.Client, data: st.DataObject
) -> None:
    method, path = data.draw(st.sampled_from(paths))
    keys = st.sampled_from(
        [
            "tenant",
            "userId",
            "name",
            "fields",
            "conditions",
            "tables",
            "permissions",
            "url",
            "headers",
            "events",
            "record",
            "seconds",
            "per_minute",
            "fail_next",
            "type",
            "field",
            "op",
            "users",
            "apiKey",
            "key",
            "enabled",
            "expiresAt",
            "utcOffsetMinutes",
        ]
    )
    body: Any = data.draw(st.dictionaries(keys, json_values, max_size=5) | json_values)
    resp = http.request(method, emu.base_url + path, json=body)
    assert resp.status_code < 500, (method, path, body, resp.text)
    if resp.status_code >= 400:
        assert {"code", "message"} <= set(resp.json())
    emu.control.set_knobs(latency_ms=0, fail_next=[])  # undo whatever a knob body changed


def test_control_api_refuses_wrongly_typed_identifiers(
    emu: EmulatorHandle, http: httpx.Client, setup: ScheduleSetup
) -> None:
    t = f"{emu.base_url}/_control/tenants/fsz2"
    tt = f"{t}/tables/{setup.table_id}"
    cases: list[tuple[str, str, Any]] = [
        ("POST", f"{tt}/filters", {"name": "f", "conditions": [{"field": ["x"], "op": "eq"}]}),
        ("POST", f"{tt}/fields", {"type": ["text"]}),
        ("POST", f"{tt}/fields", {"type": "select", "options": "abc"}),
        ("POST", f"{tt}/panels", {"fields": [["x"]]}),
        ("POST", f"{t}/api-keys", {"tables": [["x"]]}),
        ("POST", f"{t}/api-keys", {"tables": [setup.table_id], "permissions": "read"}),
        ("PATCH", f"{t}/api-keys/{setup.api_key}", {"tables": 5}),
        ("PATCH", f"{t}/api-keys/nope", {"enabled": False}),
        ("PUT", f"{tt}/records/1", {"record": {setup.title_field: "x"}}),
        ("PUT", f"{emu.base_url}/_control/knobs", {"latency_ms": 1e300}),
        ("POST", f"{emu.base_url}/_control/clock/advance", {"seconds": 1e300}),
        ("POST", f"{t}/users", {"userId": ["a"], "name": "x"}),
        ("POST", f"{emu.base_url}/_control/tenants", {"tenant": "Bad Name"}),
        ("POST", f"{emu.base_url}/_control/tenants", {"tenant": "fsz2"}),
    ]
    for method, url, body in cases:
        resp = http.request(method, url, json=body)
        assert 400 <= resp.status_code < 500, (method, url, body, resp.text)
        assert {"code", "message"} <= set(resp.json())
    assert emu.control.health()["ok"]
