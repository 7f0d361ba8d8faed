"""Company and employee settings (C, E)."""

from __future__ import annotations

from datetime import datetime

import pytest

from sfacal.core.errors import InputError
from sfacal.core.frozen import FrozenMap
from sfacal.core.settings import (
    DEFAULT_BUSINESS_NAMES,
    CompanyPolicy,
    EmployeeSettings,
    Masters,
    SyncState,
    UserIdMode,
    normalize_mailbox,
)


def test_e2_login_at_domain_mailbox() -> None:
    emp = EmployeeSettings("Taro", SyncState.ON, UserIdMode.LOGIN_AT_DOMAIN)
    assert emp.mailbox("example.onmicrosoft.com") == "taro@example.onmicrosoft.com"
    assert emp.mailbox("@Example.com") == "taro@example.com"
    assert emp.mailbox(None) is None and emp.mailbox("  ") is None
    assert EmployeeSettings("a@b.jp", user_id_mode="login_at_domain").mailbox(None) == "a@b.jp"  # type: ignore[arg-type]


def test_e2_explicit_mailbox() -> None:
    emp = EmployeeSettings("taro", "on", "explicit", user_id=" Yamada.Taro@Example.com ")  # type: ignore[arg-type]
    assert emp.state is SyncState.ON and emp.user_id_mode is UserIdMode.EXPLICIT
    assert emp.mailbox("ignored.example") == "yamada.taro@example.com"
    assert EmployeeSettings("taro", SyncState.ON, UserIdMode.EXPLICIT, user_id="  ").mailbox("x") is None


def test_e3_blank_calendar_means_default() -> None:
    assert EmployeeSettings("t", calendar_name="  ").calendar_name is None
    assert EmployeeSettings("t", calendar_name=" 営業 ").calendar_name == "営業"


def test_e1_states_and_exclusions_normalised() -> None:
    emp = EmployeeSettings("t", "forbidden", excluded_purposes=["納品", " ", "納品 "])  # type: ignore[arg-type]
    assert emp.state is SyncState.FORBIDDEN and not emp.is_on
    assert emp.excluded_purposes == frozenset({"納品"})


@pytest.mark.parametrize(
    "kwargs,field",
    [
        ({"login_id": " "}, "login_id"),
        ({"state": "maybe"}, "state"),
        ({"user_id_mode": "magic"}, "user_id_mode"),
        ({"sync_start": datetime(2025, 1, 1)}, "sync_start"),
        ({"excluded_purposes": "納品"}, "excluded_purposes"),
        ({"excluded_business_names": [1]}, "excluded_business_names"),
    ],
)
def test_employee_validation_names_the_field(kwargs: dict[str, object], field: str) -> None:
    args: dict[str, object] = {"login_id": "t", **kwargs}
    with pytest.raises(InputError) as exc:
        EmployeeSettings(**args)  # type: ignore[arg-type]
    assert exc.value.field == field


def test_c9_default_masters() -> None:
    m = Masters()
    assert m.counted_purposes == (
        "定期訪問",
        "情報提供",
        "商品PR",
        "新規開拓",
        "案件商談",
        "納品",
        "集金",
        "クレーム対応",
    )
    assert m.uncounted_purposes == ("TEL・FAX・MAIL",)
    assert m.business_names == DEFAULT_BUSINESS_NAMES == ("資料作成", "伝票発行", "会議", "その他")
    assert hash(m) == hash(Masters())


def test_c9_custom_masters_validated() -> None:
    m = Masters({" 展示会 ": True, "電話": False}, ("会議", " 会議", "移動"))
    assert dict(m.purposes) == {"展示会": True, "電話": False} and m.business_names == ("会議", "移動")
    with pytest.raises(InputError) as exc:
        Masters({"": True})
    assert exc.value.field == "purposes"
    with pytest.raises(InputError) as exc:
        Masters(business_names=("",))
    assert exc.value.field == "business_names"


def test_company_policy_defaults_and_validation() -> None:
    p = CompanyPolicy(domain=" @Example.COM ")
    assert p.sync_enabled and p.write_enabled and not p.two_way and p.timezone == "Asia/Tokyo"
    assert p.domain == "example.com" and CompanyPolicy(domain="").domain is None
    with pytest.raises(InputError) as exc:
        CompanyPolicy(timezone="Tokyo")
    assert exc.value.field == "timezone"


def test_frozen_map_behaves_like_a_mapping() -> None:
    fm = FrozenMap({"a": 1})
    assert fm == {"a": 1} and fm == FrozenMap([("a", 1)]) and len(fm) == 1 and list(fm) == ["a"]
    assert hash(fm) == hash(FrozenMap({"a": 1})) and "FrozenMap" in repr(fm)
    assert (fm == 3) is False
    assert normalize_mailbox(None) is None and normalize_mailbox(" ") is None


def test_none_exclusions_mean_nothing_excluded() -> None:
    emp = EmployeeSettings("t", excluded_purposes=None, excluded_business_names=None)  # type: ignore[arg-type]
    assert emp.excluded_purposes == frozenset() and emp.excluded_business_names == frozenset()
