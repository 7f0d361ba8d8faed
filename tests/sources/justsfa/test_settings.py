"""J1: JUST.SFA settings are validated, naming the setting at fault."""

from __future__ import annotations

from typing import Any

import pytest

from sfacal.core.errors import InputError
from sfacal.sources.justsfa import JustSfaSettings
from sfacal.sources.justsfa.settings import source_name

BASE: dict[str, Any] = {
    "tenant": "fsz2",
    "table": "table_162331777",
    "panel": "panel_1638871430",
    "filter": "filter_1650278004",
    "schedule_field": "field_1638871621",
    "title_field": "field_1638871565",
    "location_field": "field_1638871584",
    "content_field": "field_1638871597",
}
KEY = "uPlazaMlyAx7Vvj1NqA0wYaCxdCJOtEn"


def build(api_key: str = KEY, **changes: Any) -> JustSfaSettings:
    return JustSfaSettings.from_config({**BASE, **changes}, api_key)


def test_j1_manual_example_builds_the_records_url():
    s = build()
    assert s.base_url == "https://fsz2.justsfa.com"
    assert s.records_url == "https://fsz2.justsfa.com/sites/api/services/v1/tables/table_162331777/records/"
    assert s.requests_per_minute == 50 and s.requests_per_day == 15_000
    assert KEY not in repr(s)


@pytest.mark.parametrize(
    ("tenant", "base"),
    [
        ("FSZ2", "https://fsz2.justsfa.com"),
        ("fsz2.just-db.com", "https://fsz2.just-db.com"),
        ("https://fsz2.justsfa.com/sites/administration#api_links", "https://fsz2.justsfa.com"),
        ("https://fsz2.justsfa.com/", "https://fsz2.justsfa.com"),
    ],
)
def test_j1_tenant_forms(tenant: str, base: str):
    if "#" in tenant:
        with pytest.raises(InputError) as err:
            build(tenant=tenant)
        assert err.value.field == "tenant"
        return
    assert build(tenant=tenant).base_url == base


def test_j1_base_url_override_points_at_another_server():
    s = build(base_url="https://127.0.0.1:8444/_tenant/fsz2/")
    assert s.records_url.startswith("https://127.0.0.1:8444/_tenant/fsz2/sites/api/services/v1/tables/")
    assert s.tenant == "fsz2"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"tenant": ""}, "tenant"),
        ({"tenant": "fs z2"}, "tenant"),
        ({"tenant": "http://fsz2.justsfa.com"}, "tenant"),
        ({"table": ""}, "table"),
        ({"table": "テスト｜カレンダーテーブル"}, "table"),
        ({"table": "panel_1638871430"}, "table"),
        ({"panel": "filter_1650278004"}, "panel"),
        ({"filter": "bad id!"}, "filter"),
        ({"title_field": "タイトル"}, "title_field"),
        ({"location_field": "table_1"}, "location_field"),
        ({"content_field": None}, "content_field"),
        ({"status_field": "field_1638871621"}, "status_field"),
        ({"requests_per_minute": 0}, "requests_per_minute"),
        ({"requests_per_minute": 100, "requests_per_day": 50}, "requests_per_day"),
        ({"actual_values": ["予定"]}, "actual_values"),
        ({"page_size": 500}, "page_size"),
    ],
)
def test_j1_each_bad_setting_is_named(changes: dict[str, Any], field: str):
    with pytest.raises(InputError) as err:
        build(**changes)
    assert err.value.field == field
    assert err.value.user_message("ja") and err.value.user_message("en")


@pytest.mark.parametrize("key", ["", "  ", "abc def", "abc\ndef"])
def test_j1_api_key_is_required_and_clean(key: str):
    with pytest.raises(InputError) as err:
        build(api_key=key)
    assert err.value.field == "api_key"


def test_j1_api_key_is_optional_for_reading_webhooks():
    s = JustSfaSettings.from_config(BASE, "", require_api_key=False)
    assert s.api_key == ""


def test_j1_status_values_may_be_given_as_text():
    s = build(status_field="field_9", plan_values="予定, 計画", actual_values="実績、完了")
    assert s.plan_values == ("予定", "計画") and s.actual_values == ("実績", "完了")


def test_j1_identifier_names_its_setting():
    s = build(purpose_field="field_77")
    assert s.setting_for_identifier("field_77") == "purpose_field"
    assert s.setting_for_identifier("panel_1638871430") == "panel"
    assert s.limiter_key == "justsfa:fsz2.justsfa.com"


def test_j1_second_connection_has_its_own_source_name():
    assert source_name("default") == "justsfa"
    assert source_name("osaka") == "justsfa-osaka"
