"""Company and employee settings as plain data (C and E/P rules), for the policy and the planner."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from sfacal.core.errors import InputError
from sfacal.core.frozen import FrozenMap
from sfacal.core.schedule import DEFAULT_TIMEZONE, require_aware, zone

__all__ = [
    "DEFAULT_BUSINESS_NAMES",
    "DEFAULT_PURPOSES",
    "OUTSIDE_MASTER",
    "UNSELECTED",
    "CompanyPolicy",
    "EmployeeSettings",
    "Masters",
    "SyncState",
    "UserIdMode",
    "normalize_calendar",
    "normalize_mailbox",
]

UNSELECTED = "未選択"
"""Exclusion pseudo-entry: matches a schedule with no purpose / business name chosen."""
OUTSIDE_MASTER = "マスタ設定値以外"
"""Exclusion pseudo-entry: matches a purpose / business name that is not in the master list."""

DEFAULT_PURPOSES: Mapping[str, bool] = FrozenMap(
    {
        "定期訪問": True,
        "情報提供": True,
        "商品PR": True,
        "新規開拓": True,
        "案件商談": True,
        "納品": True,
        "集金": True,
        "クレーム対応": True,
        "TEL・FAX・MAIL": False,
    }
)
"""C9 default 商談目的: name -> counted as a visit."""
DEFAULT_BUSINESS_NAMES: tuple[str, ...] = ("資料作成", "伝票発行", "会議", "その他")
"""C9 default 業務名."""


def normalize_mailbox(value: str | None) -> str | None:
    """SMTP addresses compare case-insensitively: strip and lower-case; empty -> ``None``."""
    if value is None:
        return None
    text = value.strip().lower()
    return text or None


def normalize_calendar(value: str | None) -> str | None:
    """Calendar name as configured; empty or blank means the default calendar (``None``, E3)."""
    if value is None:
        return None
    text = value.strip()
    return text or None


class SyncState(StrEnum):
    """E1 per-employee state."""

    ON = "on"  # 連携する
    OFF = "off"  # 連携しない
    FORBIDDEN = "forbidden"  # 使用禁止 (also hides the personal settings screen)


class UserIdMode(StrEnum):
    """E2: how the employee's mailbox is found."""

    EXPLICIT = "explicit"  # 個別にユーザーIDを設定する
    LOGIN_AT_DOMAIN = "login_at_domain"  # 社員ログインID@ドメイン名


def _names(values: Iterable[str] | None, field_name: str) -> frozenset[str]:
    if values is None:
        return frozenset()
    if isinstance(values, str):
        raise InputError(field_name, "a list of names is required", reason_ja="名前の一覧が必要です")
    out = set()
    for value in values:
        if not isinstance(value, str):
            raise InputError(field_name, "names must be text", reason_ja="名前は文字列です")
        if value.strip():
            out.add(value.strip())
    return frozenset(out)


@dataclass(frozen=True)
class EmployeeSettings:
    """One employee's sync settings (E1-E4, P1-P3)."""

    login_id: str
    state: SyncState = SyncState.OFF
    user_id_mode: UserIdMode = UserIdMode.LOGIN_AT_DOMAIN
    user_id: str | None = None
    calendar_name: str | None = None
    sync_start: datetime | None = None
    excluded_purposes: frozenset[str] = frozenset()
    excluded_business_names: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if not isinstance(self.login_id, str) or not self.login_id.strip():
            raise InputError("login_id", "must not be empty", reason_ja="社員ログインIDは必須です")
        set_ = object.__setattr__
        set_(self, "login_id", self.login_id.strip())
        try:
            set_(self, "state", SyncState(self.state))
        except ValueError as exc:
            raise InputError(
                "state", f"unknown state {self.state!r}", reason_ja="不明な連携状態です"
            ) from exc
        try:
            set_(self, "user_id_mode", UserIdMode(self.user_id_mode))
        except ValueError as exc:
            raise InputError(
                "user_id_mode", f"unknown mode {self.user_id_mode!r}", reason_ja="不明なユーザーID設定です"
            ) from exc
        set_(self, "user_id", normalize_mailbox(self.user_id))
        set_(self, "calendar_name", normalize_calendar(self.calendar_name))
        if self.sync_start is not None:
            require_aware(self.sync_start, "sync_start")
        set_(self, "excluded_purposes", _names(self.excluded_purposes, "excluded_purposes"))
        set_(self, "excluded_business_names", _names(self.excluded_business_names, "excluded_business_names"))

    @property
    def is_on(self) -> bool:
        return self.state is SyncState.ON

    def mailbox(self, domain: str | None) -> str | None:
        """The mailbox user ID (E2), lower-case; ``None`` when it cannot be resolved.

        Explicit mode: the configured user ID. Login-ID mode: ``login_id@domain`` (a login ID that
        already contains ``@`` is used as it is); without a domain it cannot be resolved.
        """
        if self.user_id_mode is UserIdMode.EXPLICIT:
            return self.user_id
        if "@" in self.login_id:
            return normalize_mailbox(self.login_id)
        dom = (domain or "").strip().lstrip("@")
        if not dom:
            return None
        return normalize_mailbox(f"{self.login_id}@{dom}")


@dataclass(frozen=True)
class Masters:
    """C9 master lists: 商談目的 (name -> counted as a visit) and 業務名."""

    purposes: Mapping[str, bool] = field(default_factory=lambda: DEFAULT_PURPOSES)
    business_names: tuple[str, ...] = DEFAULT_BUSINESS_NAMES

    def __post_init__(self) -> None:
        purposes: dict[str, bool] = {}
        for name, counted in dict(self.purposes).items():
            if not isinstance(name, str) or not name.strip():
                raise InputError("purposes", "names must be non-empty text", reason_ja="商談目的名は必須です")
            purposes[name.strip()] = bool(counted)
        object.__setattr__(self, "purposes", FrozenMap(purposes))
        names: dict[str, None] = {}
        for name in self.business_names:
            if not isinstance(name, str) or not name.strip():
                raise InputError(
                    "business_names", "names must be non-empty text", reason_ja="業務名は必須です"
                )
            names.setdefault(name.strip(), None)
        object.__setattr__(self, "business_names", tuple(names))

    @property
    def counted_purposes(self) -> tuple[str, ...]:
        return tuple(name for name, counted in self.purposes.items() if counted)

    @property
    def uncounted_purposes(self) -> tuple[str, ...]:
        return tuple(name for name, counted in self.purposes.items() if not counted)


@dataclass(frozen=True)
class CompanyPolicy:
    """Company-wide switches (C1, C3, C4, C5), time zone (S5) and mailbox domain (C6, E2)."""

    sync_enabled: bool = True  # C1
    write_enabled: bool = True  # C4
    two_way: bool = False  # C5
    timezone: str = DEFAULT_TIMEZONE
    domain: str | None = None
    personal_settings_allowed: bool = False  # C3

    def __post_init__(self) -> None:
        zone(self.timezone)
        object.__setattr__(self, "timezone", self.timezone.strip())
        dom = (self.domain or "").strip().lstrip("@").lower()
        object.__setattr__(self, "domain", dom or None)
