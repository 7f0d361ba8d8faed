"""The records API over real HTTPS: listing, panels, filters, paging, writes, validation, keys, tenants."""

from __future__ import annotations

import httpx

from sfacal.emulators.justsfa import EmulatorHandle, ScheduleSetup

from .conftest import Api, schedule_record

# ----------------------------------------------------------------------------- listing


def test_list_returns_array_of_record_items_with_record_ids(api: Api, setup: ScheduleSetup) -> None:
    created = api.post([schedule_record(setup, "訪問", ["yamada"])])
    assert created.status_code == 200
    (rid,) = created.json()["recordIds"]
    resp = api.get()
    assert resp.status_code == 200
    body = resp.json()
    assert isinstance(body, list) and len(body) == 1
    assert body[0]["recordId"] == rid
    rec = body[0]["record"]
    assert rec[setup.title_field] == "訪問"
    sched = rec[setup.schedule_field]
    assert sched[f"{setup.schedule_field}_period"] == ["2025-12-30T10:00+09:00", "2025-12-30T11:00+09:00"]
    assert sched[f"{setup.schedule_field}_participants"] == [["yamada", "山田 太郎"]]
    assert rec[setup.key_field] == "1"


def test_paging_default_limit_offset_and_max(api: Api, setup: ScheduleSetup) -> None:
    for start in range(0, 120, 40):
        resp = api.post([schedule_record(setup, f"r{i}", ["yamada"]) for i in range(start, start + 40)])
        assert resp.status_code == 200, resp.text
    assert len(api.get().json()) == 10  # default limit
    page = api.get({"limit": 25, "offset": 50}).json()
    assert [p["record"][setup.title_field] for p in page] == [f"r{i}" for i in range(50, 75)]
    assert len(api.get({"limit": 500}).json()) == 100  # at most 100 per request
    assert api.get({"offset": 119, "limit": 5}).json()[0]["record"][setup.title_field] == "r119"
    assert api.get({"offset": 120}).json() == []
    for bad in ({"limit": "x"}, {"limit": 0}, {"offset": -1}):
        resp = api.get(bad)
        assert resp.status_code == 400 and resp.json()["code"] == "INVALID_PARAMETER"


def test_panel_selects_returned_fields(emu: EmulatorHandle, api: Api, setup: ScheduleSetup) -> None:
    panel = emu.control.add_panel("fsz2", setup.table_id, "narrow", [setup.title_field, setup.schedule_field])
    api.post([schedule_record(setup, "a", ["yamada"])])
    rec = api.get({"panelName": panel["panelId"]}).json()[0]["record"]
    assert set(rec) == {setup.title_field, setup.schedule_field}
    full = api.get({"panelName": setup.panel_id}).json()[0]["record"]
    assert setup.location_field in full and setup.status_field in full


def test_participant_filter_with_dynamic_user(api: Api, setup: ScheduleSetup) -> None:
    api.post(
        [
            schedule_record(setup, "both", ["yamada", "suzuki"]),
            schedule_record(setup, "suzuki only", ["suzuki"]),
            schedule_record(setup, "tanaka only", ["tanaka"]),
        ]
    )
    param = f"_{setup.schedule_field}-0"

    def titles(user: str | None) -> list[str]:
        params = {"panelName": setup.panel_id, "filterName": setup.filter_id}
        if user is not None:
            params[param] = user
        resp = api.get(params)
        assert resp.status_code == 200, resp.text
        return [r["record"][setup.title_field] for r in resp.json()]

    assert titles("yamada") == ["both"]
    assert titles("suzuki") == ["both", "suzuki only"]
    assert titles("nobody") == []
    assert titles(None) == ["both", "suzuki only", "tanaka only"]  # no user given: no restriction


def test_filter_with_fixed_and_range_conditions(emu: EmulatorHandle, api: Api, setup: ScheduleSetup) -> None:
    flt = emu.control.add_filter(
        "fsz2",
        setup.table_id,
        "plans in a window",
        [
            {"field": setup.status_field, "op": "eq", "value": "予定"},
            {"field": setup.schedule_field, "op": "gte", "value": None},
            {"field": setup.schedule_field, "op": "lte", "value": None},
        ],
    )
    api.post(
        [
            schedule_record(setup, "dec", ["yamada"], "2025-12-01T09:00+09:00", "2025-12-01T10:00+09:00"),
            schedule_record(setup, "jan", ["yamada"], "2026-01-10T09:00+09:00", "2026-01-10T10:00+09:00"),
            schedule_record(
                setup,
                "done",
                ["yamada"],
                "2026-01-11T09:00+09:00",
                "2026-01-11T10:00+09:00",
                **{setup.status_field: "実績"},
            ),
        ]
    )
    f = setup.schedule_field
    resp = api.get(
        {
            "filterName": flt["filterId"],
            f"_{f}-0": "2026-01-01T00:00+09:00",
            f"_{f}-1": "2026-02-01T00:00+09:00",
        }
    )
    assert [r["record"][setup.title_field] for r in resp.json()] == ["jan"]
    resp = api.get({"filterName": flt["filterId"]})
    assert [r["record"][setup.title_field] for r in resp.json()] == ["dec", "jan"]
    bad = api.get({"filterName": flt["filterId"], f"_{f}-0": "yesterday"})
    assert bad.status_code == 400 and bad.json()["target"] == f


def test_field_value_search(api: Api, setup: ScheduleSetup) -> None:
    api.post([schedule_record(setup, "a", ["yamada"]), schedule_record(setup, "b", ["yamada"])])
    resp = api.get({f"_{setup.title_field}": "b"})
    assert [r["record"][setup.title_field] for r in resp.json()] == ["b"]
    resp = api.get({f"_{setup.key_field}": "1"})
    assert [r["record"][setup.title_field] for r in resp.json()] == ["a"]
    resp = api.get({"_field_nope": "x"})
    assert resp.status_code == 400 and resp.json()["target"] == "field_nope"


def test_single_record_get_is_wrapped_in_an_array(api: Api, setup: ScheduleSetup) -> None:
    (rid,) = api.post([schedule_record(setup, "one", ["yamada"])]).json()["recordIds"]
    resp = api.get(path=str(rid))
    assert resp.status_code == 200
    assert resp.json()[0]["recordId"] == rid
    missing = api.get(path="999999")
    assert missing.status_code == 404 and missing.json()["code"] == "RECORD_NOT_FOUND"


def test_unknown_identifiers_are_named(
    emu: EmulatorHandle, api: Api, http: httpx.Client, setup: ScheduleSetup
) -> None:
    resp = api.get({"panelName": "panel_0"})
    assert resp.status_code == 400 and resp.json() == {
        "code": "PANEL_NOT_FOUND",
        "message": resp.json()["message"],
        "target": "panel_0",
    }
    assert "panel_0" in resp.json()["message"]
    resp = api.get({"filterName": "filter_0"})
    assert (
        resp.status_code == 400
        and resp.json()["code"] == "FILTER_NOT_FOUND"
        and resp.json()["target"] == "filter_0"
    )
    url = emu.records_url("fsz2", "table_0")
    resp = http.get(url, headers={"Authorization": f"Bearer {setup.api_key}"})
    assert (
        resp.status_code == 404
        and resp.json()["code"] == "TABLE_NOT_FOUND"
        and resp.json()["target"] == "table_0"
    )
    resp = api.post([{"field_0": "x"}])
    assert (
        resp.status_code == 400
        and resp.json()["code"] == "UNKNOWN_FIELD"
        and resp.json()["target"] == "field_0"
    )


# ----------------------------------------------------------------------------- writes


def test_create_update_by_record_key_and_delete(emu: EmulatorHandle, api: Api, setup: ScheduleSetup) -> None:
    (rid,) = api.post([schedule_record(setup, "before", ["yamada"])]).json()["recordIds"]
    key = emu.control.record("fsz2", setup.table_id, rid)["record"][setup.key_field]
    new_sched = setup.schedule_value("2025-12-31T13:00+09:00", "2025-12-31T14:30+09:00", ["yamada"])
    resp = api.put(
        [
            {
                "recordKey": {setup.key_field: key},
                "record": {setup.title_field: "after", setup.schedule_field: new_sched},
            }
        ]
    )
    assert resp.status_code == 200 and resp.json() == {"recordIds": [rid]}
    stored = emu.control.record("fsz2", setup.table_id, rid)
    assert stored["record"][setup.title_field] == "after"
    assert stored["record"][setup.schedule_field][f"{setup.schedule_field}_period"] == [
        "2025-12-31T13:00+09:00",
        "2025-12-31T14:30+09:00",
    ]
    assert stored["record"][setup.status_field] == "予定"  # untouched fields stay
    assert stored["revision"] == 2
    # by recordId too
    assert api.put([{"recordId": rid, "record": {setup.location_field: "東京都千代田区"}}]).status_code == 200
    assert emu.control.record("fsz2", setup.table_id, rid)["record"][setup.location_field] == "東京都千代田区"
    # missing key, key on a non-unique field
    resp = api.put([{"recordKey": {setup.key_field: "999"}, "record": {setup.title_field: "x"}}])
    assert resp.status_code == 404 and resp.json()["code"] == "RECORD_NOT_FOUND"
    api.post([schedule_record(setup, "after", ["suzuki"])])
    resp = api.put([{"recordKey": {setup.title_field: "after"}, "record": {setup.title_field: "x"}}])
    assert resp.status_code == 400 and resp.json()["code"] == "KEY_NOT_UNIQUE"
    # delete
    assert api.delete([{"recordId": rid}]).json() == {"recordIds": [rid]}
    assert [r["recordId"] for r in emu.control.records("fsz2", setup.table_id)] != [rid]
    assert api.delete([{"recordId": rid}]).status_code == 404


def test_delete_by_path_and_by_record_key(emu: EmulatorHandle, api: Api, setup: ScheduleSetup) -> None:
    ids = api.post([schedule_record(setup, "a", ["yamada"]), schedule_record(setup, "b", ["yamada"])]).json()[
        "recordIds"
    ]
    resp = api.http.delete(api.url + str(ids[0]), headers={"Authorization": f"Bearer {api.key}"})
    assert resp.status_code == 200 and resp.json() == {"recordIds": [ids[0]]}
    assert api.delete([{"recordKey": {setup.key_field: "2"}}]).json() == {"recordIds": [ids[1]]}
    assert emu.control.records("fsz2", setup.table_id) == []


def test_writes_are_all_or_nothing(emu: EmulatorHandle, api: Api, setup: ScheduleSetup) -> None:
    resp = api.post([schedule_record(setup, "ok", ["yamada"]), {setup.status_field: "未定"}])
    assert resp.status_code == 400
    assert emu.control.records("fsz2", setup.table_id) == []


def test_validation_errors_name_the_field(api: Api, setup: ScheduleSetup) -> None:
    f = setup.schedule_field
    cases = [
        (
            {f: {f"{f}_period": ["2025/12/30 10:00", "2025-12-30T11:00+09:00"], f"{f}_participants": []}},
            "INVALID_FIELD_VALUE",
            f"{f}_period",
        ),
        (
            {
                f: {
                    f"{f}_period": ["2025-12-30T11:00+09:00", "2025-12-30T10:00+09:00"],
                    f"{f}_participants": [],
                }
            },
            "INVALID_FIELD_VALUE",
            f"{f}_period",
        ),
        (
            {f: {f"{f}_period": ["2025-12-30T10:00+09:00"], f"{f}_participants": []}},
            "INVALID_FIELD_VALUE",
            f"{f}_period",
        ),
        (
            {f: {f"{f}_period": ["2025-02-30T10:00+09:00", "2025-02-30T11:00+09:00"]}},
            "INVALID_FIELD_VALUE",
            f"{f}_period",
        ),
        (schedule_record(setup, "x", ["ghost"]), "UNKNOWN_USER", f"{f}_participants"),
        (
            {
                f: {
                    f"{f}_period": ["2025-12-30T10:00+09:00", "2025-12-30T11:00+09:00"],
                    f"{f}_participants": ["yamada"],
                }
            },
            "INVALID_FIELD_VALUE",
            f"{f}_participants",
        ),
        ({f: "2025-12-30T10:00+09:00"}, "INVALID_FIELD_VALUE", f),
        ({setup.status_field: "未定"}, "INVALID_FIELD_VALUE", setup.status_field),
        ({setup.title_field: "x" * 121}, "INVALID_FIELD_VALUE", setup.title_field),
        ({setup.title_field: "two\nlines"}, "INVALID_FIELD_VALUE", setup.title_field),
        ({setup.title_field: {"a": 1}}, "INVALID_FIELD_VALUE", setup.title_field),
        ({setup.key_field: "7"}, "READ_ONLY_FIELD", setup.key_field),
        ({"nope": 1}, "UNKNOWN_FIELD", "nope"),
    ]
    for record, code, target in cases:
        resp = api.post([record])
        assert resp.status_code == 400, (record, resp.text)
        assert resp.json()["code"] == code, (record, resp.json())
        assert resp.json()["target"] == target, (record, resp.json())


def test_datetimes_are_normalised_to_the_tenant_offset(api: Api, setup: ScheduleSetup) -> None:
    f = setup.schedule_field
    rec = {
        f: {
            f"{f}_period": ["2025-12-30T01:00:00Z", "2025-12-30T11:30:00+09:00"],
            f"{f}_participants": [["yamada"]],
        }
    }
    (rid,) = api.post([rec]).json()["recordIds"]
    got = api.get(path=str(rid)).json()[0]["record"][f]
    assert got[f"{f}_period"] == ["2025-12-30T10:00+09:00", "2025-12-30T11:30+09:00"]
    all_day = {
        f: {f"{f}_period": ["2025-12-30", "2025-12-31"], f"{f}_participants": [["suzuki", "鈴木 花子"]]}
    }
    (rid2,) = api.post([all_day]).json()["recordIds"]
    assert api.get(path=str(rid2)).json()[0]["record"][f][f"{f}_period"] == ["2025-12-30", "2025-12-31"]


def test_malformed_bodies_get_400_not_500(api: Api) -> None:
    bodies = [
        b"",
        b"{",
        b"[]",
        b'"x"',
        b"null",
        b'{"records": {}}',
        b'{"records": []}',
        b'{"records": [1]}',
        b'{"records": [{"record": 1}]}',
        b'{"records": [{"nope": {}}]}',
        b"\xff\xfe",
        b'{"records": [null]}',
        b'{"records": [{"record": {"x": NaN}}]}',
        b'{"records": [{"record": {"x": Infinity}}]}',
    ]
    for method in ("POST", "PUT", "DELETE"):
        for body in bodies:
            resp = api.raw(method, body)
            assert resp.status_code == 400, (method, body, resp.text)
            assert "code" in resp.json() and "message" in resp.json()


def test_too_many_records_in_one_request(emu: EmulatorHandle, api: Api, setup: ScheduleSetup) -> None:
    emu.control.set_knobs(max_records_per_write=2)
    resp = api.post([schedule_record(setup, str(i), ["yamada"]) for i in range(3)])
    assert resp.status_code == 400 and resp.json()["code"] == "TOO_MANY_RECORDS"


# ----------------------------------------------------------------------------- keys and tenants


def test_authentication_failures_are_401(
    emu: EmulatorHandle, api: Api, http: httpx.Client, setup: ScheduleSetup
) -> None:
    assert http.get(api.url).status_code == 401
    assert http.get(api.url, headers={"Authorization": f"Basic {setup.api_key}"}).status_code == 401
    resp = api.get(key="wrong-key-0000")
    assert resp.status_code == 401 and resp.json()["code"] == "UNAUTHORIZED"
    emu.control.update_api_key("fsz2", setup.api_key, enabled=False)
    assert api.get().status_code == 401
    emu.control.update_api_key("fsz2", setup.api_key, enabled=True)
    assert api.get().status_code == 200
    expired = emu.control.create_api_key("fsz2", [setup.table_id], expires_at="2000-01-01T00:00+09:00")
    assert api.get(key=expired["key"]).status_code == 401


def test_scope_and_permission_failures_are_403(
    emu: EmulatorHandle, api: Api, http: httpx.Client, setup: ScheduleSetup
) -> None:
    other = emu.control.create_table("fsz2", "顧客", [{"name": "名前", "type": "text"}])
    read_only = emu.control.create_api_key("fsz2", [setup.table_id], ["read"])["key"]
    assert api.get(key=read_only).status_code == 200
    for resp in (
        api.post([{setup.title_field: "x"}], key=read_only),
        api.put([{"recordId": 1, "record": {}}], key=read_only),
        api.delete([{"recordId": 1}], key=read_only),
    ):
        assert resp.status_code == 403 and resp.json()["code"] == "FORBIDDEN"
    url = emu.records_url("fsz2", other["tableId"])
    resp = http.get(url, headers={"Authorization": f"Bearer {setup.api_key}"})
    assert resp.status_code == 403 and resp.json()["target"] == other["tableId"]


def test_tenants_by_host_header_or_path_prefix(
    emu: EmulatorHandle, http: httpx.Client, setup: ScheduleSetup
) -> None:
    other = emu.control.setup_schedule("acme")
    auth = {"Authorization": f"Bearer {setup.api_key}"}
    path = f"/sites/api/services/v1/tables/{setup.table_id}/records/"
    by_host = http.get(emu.base_url + path, headers={**auth, "Host": f"fsz2.localhost:{emu.port}"})
    assert by_host.status_code == 200
    by_real_name = http.get(emu.base_url + path, headers={**auth, "Host": "fsz2.justsfa.com"})
    assert by_real_name.status_code == 200
    by_path = http.get(emu.tenant_url("fsz2") + path, headers=auth)
    assert by_path.status_code == 200
    no_tenant = http.get(emu.base_url + path, headers=auth)
    assert no_tenant.status_code == 404 and no_tenant.json()["code"] == "TENANT_NOT_FOUND"
    unknown = http.get(emu.tenant_url("nobody") + path, headers=auth)
    assert unknown.status_code == 404 and unknown.json()["code"] == "TENANT_NOT_FOUND"
    # a key of one tenant is not valid in another
    cross = http.get(emu.records_url("acme", other.table_id), headers=auth)
    assert cross.status_code == 401
    journal = emu.control.journal(tenant="fsz2")
    assert {e["via"] for e in journal} == {"host", "path"}


def test_journal_records_requests_without_secrets(
    emu: EmulatorHandle, api: Api, setup: ScheduleSetup
) -> None:
    api.post([schedule_record(setup, "a", ["yamada"])])
    api.get(key="wrong-key-0000")
    entries = emu.control.journal(tenant="fsz2")
    assert [(e["method"], e["status"]) for e in entries] == [("POST", 200), ("GET", 401)]
    assert entries[0]["apiKeyTitle"] == "sfacal"
    assert entries[0]["body"]["records"][0]["record"][setup.title_field] == "a"
    assert setup.api_key not in str(entries)
    since = emu.control.journal(since=entries[0]["seq"], tenant="fsz2")
    assert [e["seq"] for e in since] == [entries[1]["seq"]]


def test_injected_failures(emu: EmulatorHandle, api: Api) -> None:
    emu.control.set_knobs(fail_next=[503, 429])
    first, second, third = api.get(), api.get(), api.get()
    assert first.status_code == 503 and first.json()["code"] == "SERVICE_UNAVAILABLE"
    assert second.status_code == 429 and second.headers["Retry-After"] == "1"
    assert third.status_code == 200
    emu.control.set_knobs(fail_rate_503=1.0)
    assert api.get().status_code == 503
    emu.control.set_knobs(fail_rate_503=0.0, seed=7)
    assert api.get().status_code == 200


def test_bad_knobs_are_refused(emu: EmulatorHandle) -> None:
    from sfacal.emulators.justsfa import ControlError

    for knobs in (
        {"nope": 1},
        {"per_minute": "x"},
        {"fail_rate_429": 2},
        {"minute_seconds": 0},
        {"fail_next": [200]},
    ):
        try:
            emu.control.set_knobs(**knobs)
        except ControlError as exc:
            assert exc.status == 400
        else:
            raise AssertionError(f"accepted {knobs}")


def test_injected_connection_reset(emu: EmulatorHandle, api: Api) -> None:
    emu.control.set_knobs(fail_next=[0])
    try:
        api.get()
    except httpx.TransportError:
        pass
    else:
        raise AssertionError("the connection was not dropped")
    assert api.get().status_code == 200
    assert [e["status"] for e in emu.control.journal(tenant="fsz2")] == [0, 200]


def test_other_methods_and_paths_answer_json(emu: EmulatorHandle, api: Api, http: httpx.Client) -> None:
    auth = {"Authorization": f"Bearer {api.key}"}
    assert http.head(api.url, headers=auth).status_code == 200
    resp = http.patch(api.url, headers=auth, json={})
    assert resp.status_code == 405 and resp.json()["code"] == "METHOD_NOT_ALLOWED"
    resp = http.get(emu.tenant_url("fsz2") + "/sites/api/services/v1/tables/", headers=auth)
    assert resp.status_code == 404 and resp.json()["code"] == "NOT_FOUND"
