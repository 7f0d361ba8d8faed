"""J1: the settings of a JUST.SFA connection, validated once, as a typed :class:`JustSfaSettings`.

Non-secret settings live in ``SourceConnection.config`` (JSON) under the keys of
:data:`CONFIG_KEYS`; the API key lives encrypted in ``SourceConnection.api_key``.
:meth:`JustSfaSettings.from_config` validates everything and raises
:class:`~sfacal.core.errors.InputError` naming the config key at fault (``tenant``, ``table``,
``title_field``...), so a settings form can show the message next to the right input.

The tenant is what the administrator sees in the browser: ``fsz2`` (→ ``https://fsz2.justsfa.com``),
a full domain (``fsz2.just-db.com`` → ``https://fsz2.just-db.com``) or a full URL. ``base_url``
overrides where the API is called (the emulator: ``https://127.0.0.1:PORT/_tenant/fsz2``).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from sfacal.core.errors import InputError
from sfacal.core.schedule import DEFAULT_TIMEZONE, zone

__all__ = [
    "CONFIG_KEYS",
    "DEFAULT_DOMAIN",
    "LABELS",
    "OPTIONAL_FIELDS",
    "REQUIRED_FIELDS",
    "JustSfaSettings",
    "label",
]

DEFAULT_DOMAIN = "justsfa.com"
API_PATH = "/sites/api/services/v1"

IDENTIFIER_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,39}$")
TENANT_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
HOST_LABEL_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")

REQUIRED_FIELDS = ("schedule_field", "title_field", "location_field", "content_field")
"""Field identifiers every connection needs (the second manual's settings screen)."""
OPTIONAL_FIELDS = (
    "key_field",
    "status_field",
    "kind_field",
    "purpose_field",
    "business_field",
    "customer_field",
    "address_field",
    "updated_field",
    "record_id_field",
    "all_day_field",
)
"""Field identifiers that enable more rules: record key for write-back, S1 status, S2 purpose..."""

ELEMENT_SETTINGS: Mapping[str, str] = {
    "status_field": "status_element",
    "kind_field": "kind_element",
    "purpose_field": "purpose_element",
    "business_field": "business_element",
    "customer_field": "customer_element",
    "address_field": "address_element",
}
"""Which element of an array value each field is read from (config key per field setting).

Public JUST.DB code reads select values as ``value[0]`` and lookups as ``value[1]`` or
``value[3]``; a plain string is read as it is whatever the setting."""
ELEMENT_CHOICES = ("auto", "1", "2", "3", "4", "last", "join")
"""``auto``: the default of the field (:data:`ELEMENT_DEFAULTS`); ``1``–``4``: that element (a
one-element array is read as its element); ``last``: the last non-empty element; ``join``: every
element joined with ", "."""
ELEMENT_DEFAULTS: Mapping[str, str] = {
    "status_field": "1",  # a select: ["予定"]
    "kind_field": "1",
    "purpose_field": "1",
    "business_field": "1",
    "customer_field": "last",  # a lookup: ["12", "C-001", "…", "株式会社A"]
    "address_field": "last",
}
PARTICIPANT_ELEMENTS = ("1", "2")
"""Which element of a participant ``[a, b]`` is the user ID (``1``: ``[userId, name]``)."""
WRITEBACK_FORMS = ("recordId", "recordKey")
"""How a write-back ``PUT`` addresses the record: ``{"recordId": N}`` (the only form seen in
public code) or ``{"recordKey": {key_field: value}}``."""

LABELS: Mapping[str, tuple[str, str]] = {
    "tenant": ("テナント", "tenant"),
    "base_url": ("接続先URL", "API base URL"),
    "api_key": ("APIキー", "API key"),
    "table": ("データテーブル識別名", "data table identifier"),
    "panel": ("パネル識別名", "panel identifier"),
    "filter": ("フィルタ識別名", "filter identifier"),
    "schedule_field": ("スケジュールフィールド識別名", "schedule field identifier"),
    "title_field": ("見出しフィールド識別名", "title (見出し) field identifier"),
    "location_field": ("場所フィールド識別名", "location (場所) field identifier"),
    "content_field": ("内容フィールド識別名", "content (内容) field identifier"),
    "key_field": ("レコードキーフィールド識別名", "record key field identifier"),
    "status_field": ("状態（予定／実績）フィールド識別名", "status (plan/actual) field identifier"),
    "kind_field": ("区分（商談／業務）フィールド識別名", "kind (meeting/task) field identifier"),
    "purpose_field": ("商談目的フィールド識別名", "purpose (商談目的) field identifier"),
    "business_field": ("業務名フィールド識別名", "business name (業務名) field identifier"),
    "customer_field": ("顧客名フィールド識別名", "customer name field identifier"),
    "address_field": ("顧客住所フィールド識別名", "customer address field identifier"),
    "updated_field": ("更新日時フィールド識別名", "updated-at field identifier"),
    "record_id_field": ("レコードIDフィールド識別名", "record-ID field identifier"),
    "all_day_field": ("終日フィールド識別名", "all-day flag field identifier"),
    "participant_element": ("参加者のユーザーIDの位置", "position of the user ID in a participant"),
    "writeback_form": ("書き戻しのレコード指定方法", "how write-back names the record"),
    "status_element": ("状態の配列の読み方", "how to read an array status value"),
    "kind_element": ("区分の配列の読み方", "how to read an array kind value"),
    "purpose_element": ("商談目的の配列の読み方", "how to read an array purpose value"),
    "business_element": ("業務名の配列の読み方", "how to read an array business name value"),
    "customer_element": ("顧客名の配列の読み方", "how to read an array customer value"),
    "address_element": ("顧客住所の配列の読み方", "how to read an array address value"),
}

CONFIG_KEYS = (
    "tenant",
    "base_url",
    "table",
    "panel",
    "filter",
    *REQUIRED_FIELDS,
    *OPTIONAL_FIELDS,
    "plan_values",
    "actual_values",
    "meeting_values",
    "task_values",
    "midnight_all_day",
    "participant_element",
    *ELEMENT_SETTINGS.values(),
    "writeback_form",
    "writeback_test",
    "requests_per_minute",
    "requests_per_day",
    "minute_seconds",
    "day_seconds",
    "page_size",
    "poll_max_requests",
)
"""Keys of ``SourceConnection.config`` read by :meth:`JustSfaSettings.from_config`."""

# The manual's screen shows 60 per minute and 20,000 per day; the defaults leave headroom for
# other tools that use the same tenant's API.
DEFAULT_PER_MINUTE = 50
DEFAULT_PER_DAY = 15_000
MAX_PAGE_SIZE = 100


def label(key: str, lang: str = "ja") -> str:
    ja, en = LABELS.get(key, (key, key))
    return ja if lang == "ja" else en


def both_labels(key: str) -> str:
    """``見出しフィールド識別名 / title (見出し) field identifier``: one text for both languages."""
    ja, en = LABELS.get(key, (key, key))
    return f"{ja} / {en}"


def _err(key: str, reason: str, reason_ja: str) -> InputError:
    return InputError(key, reason, reason_ja=reason_ja)


def _text(config: Mapping[str, Any], key: str) -> str:
    value = config.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _err(key, "text is required", "文字列で入力してください")
    return value.strip()


_PREFIXES = {"table": "table_", "panel": "panel_", "filter": "filter_"}


def _identifier(config: Mapping[str, Any], key: str, *, required: bool) -> str | None:
    value = _text(config, key)
    if not value:
        if required:
            raise _err(key, "is required", "入力してください")
        return None
    if not IDENTIFIER_RE.match(value):
        if any(ord(c) > 127 for c in value) or " " in value:
            raise _err(
                key,
                f"{value!r} looks like a display name: enter the identifier (識別名, e.g. field_1638871621)",
                f"「{value}」は表示名のようです。識別名（例: field_1638871621）を入力してください",
            )
        raise _err(
            key,
            f"{value!r} is not an identifier (letters, digits and '_', at most 40)",
            f"「{value}」は識別名ではありません（半角英数字と _、40文字以内）",
        )
    # A table/panel/filter identifier pasted into the wrong box is a common mistake.
    for other, prefix in _PREFIXES.items():
        if other != key and value.startswith(prefix):
            raise _err(
                key,
                f"{value!r} looks like a {other} identifier",
                f"「{value}」は{label(other)}のようです",
            )
    return value


def _values(config: Mapping[str, Any], key: str, default: tuple[str, ...]) -> tuple[str, ...]:
    value = config.get(key)
    if value is None:
        return default
    if isinstance(value, str):
        items = [v.strip() for v in re.split(r"[,、\n]", value)]
    elif isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        items = [v.strip() for v in value]
    else:
        raise _err(key, "a list of texts is required", "文字列の一覧を入力してください")
    return tuple(dict.fromkeys(v for v in items if v))


def _int(config: Mapping[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = config.get(key)
    if value is None or value == "":
        return default
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _err(
            key, f"a whole number from {low} to {high} is required", f"{low}〜{high} の整数を入力してください"
        )
    return value


def _seconds(config: Mapping[str, Any], key: str, default: float | None) -> float | None:
    value = config.get(key)
    if value is None or value == "":
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 86_400 * 2:
        raise _err(key, "a positive number of seconds is required", "正の秒数を入力してください")
    return float(value)


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _url(value: str, key: str) -> str:
    parts = urlsplit(value)
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("https", "http") or not host:
        raise _err(key, f"{value!r} is not an https URL", f"「{value}」は https の URL ではありません")
    if parts.scheme == "http" and not _is_loopback(host):
        raise _err(key, "https is required", "https の URL を入力してください")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise _err(
            key,
            "the URL must not contain a query, fragment or user",
            "URL に ? # や ユーザー名を含めないでください",
        )
    return value


def tenant_base_url(value: str) -> tuple[str, str]:
    """``(tenant name, https base URL)`` from what an administrator typed as the tenant."""
    text = value.strip()
    if not text:
        raise _err("tenant", "is required", "入力してください")
    if "://" in text:
        _url(text, "tenant")
        parts = urlsplit(text)
        host = (parts.hostname or "").lower()
        netloc = host if parts.port is None else f"{host}:{parts.port}"
        return host.split(".")[0], f"{parts.scheme}://{netloc}"
    text = text.lower().rstrip("/").rstrip(".")
    if "." in text:
        labels = text.split(".")
        if len(text) > 253 or not all(HOST_LABEL_RE.match(lbl) for lbl in labels) or len(labels) < 2:
            raise _err("tenant", f"{value!r} is not a host name", f"「{value}」はホスト名ではありません")
        return labels[0], f"https://{text}"
    if not TENANT_RE.match(text):
        raise _err(
            "tenant",
            f"{value!r} is not a tenant name (the TENANT in https://TENANT.justsfa.com)",
            f"「{value}」はテナント名ではありません（https://TENANT.justsfa.com の TENANT の部分）",
        )
    return text, f"https://{text}.{DEFAULT_DOMAIN}"


@dataclass(frozen=True)
class JustSfaSettings:
    """A validated JUST.SFA connection (J1). Build with :meth:`from_config`."""

    tenant: str
    base_url: str
    api_key: str
    table: str
    panel: str
    filter: str
    schedule_field: str
    title_field: str
    location_field: str
    content_field: str
    key_field: str | None = None
    status_field: str | None = None
    kind_field: str | None = None
    purpose_field: str | None = None
    business_field: str | None = None
    customer_field: str | None = None
    address_field: str | None = None
    updated_field: str | None = None
    record_id_field: str | None = None
    all_day_field: str | None = None
    plan_values: tuple[str, ...] = ("予定",)
    actual_values: tuple[str, ...] = ("実績",)
    meeting_values: tuple[str, ...] = ("商談",)
    task_values: tuple[str, ...] = ("業務",)
    midnight_all_day: bool = True
    participant_element: int = 0
    elements: Mapping[str, str] = field(default_factory=dict)
    writeback_form: str = "recordId"
    writeback_test: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    requests_per_minute: int = DEFAULT_PER_MINUTE
    requests_per_day: int = DEFAULT_PER_DAY
    minute_seconds: float = 60.0
    day_seconds: float | None = None
    page_size: int = MAX_PAGE_SIZE
    poll_max_requests: int = 20
    timezone: str = DEFAULT_TIMEZONE
    company: str = "company"
    source: str = "justsfa"
    extra_config: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def __repr__(self) -> str:  # never print the API key
        return f"JustSfaSettings(tenant={self.tenant!r}, base_url={self.base_url!r}, table={self.table!r})"

    # -- derived ---------------------------------------------------------------------------------

    @property
    def api_base(self) -> str:
        return self.base_url.rstrip("/") + API_PATH

    @property
    def records_url(self) -> str:
        return f"{self.api_base}/tables/{self.table}/records/"

    @property
    def host(self) -> str:
        return urlsplit(self.base_url).hostname or ""

    @property
    def limiter_key(self) -> str:
        """JUST.SFA counts requests per tenant: one budget per API base URL."""
        parts = urlsplit(self.base_url)
        return f"justsfa:{parts.netloc.lower()}{parts.path.rstrip('/')}"

    def identifiers(self) -> dict[str, str]:
        """Every configured identifier by its config key (table, panel, filter and fields)."""
        out = {"table": self.table, "panel": self.panel, "filter": self.filter}
        for key in (*REQUIRED_FIELDS, *OPTIONAL_FIELDS):
            value = getattr(self, key)
            if value:
                out[key] = value
        return out

    def field_settings(self) -> dict[str, str]:
        """Configured field identifiers only (config key -> identifier)."""
        return {k: v for k, v in self.identifiers().items() if k.endswith("_field")}

    def element_for(self, setting: str) -> str:
        """How an array value of the field ``setting`` is read (``1``–``4``, ``last`` or ``join``)."""
        chosen = self.elements.get(setting, "auto")
        return ELEMENT_DEFAULTS.get(setting, "join") if chosen == "auto" else chosen

    def writeback_fingerprint(self) -> str:
        """What a passed write-back test proves: this tenant, table and update form."""
        key = self.key_field or "" if self.writeback_form == "recordKey" else ""
        return "|".join((self.base_url, self.table, self.writeback_form, key, self.content_field))

    @property
    def writeback_proven(self) -> bool:
        """Whether a write-back test passed with the current tenant, table and update form."""
        test = self.writeback_test
        return bool(test.get("ok")) and test.get("fingerprint") == self.writeback_fingerprint()

    def setting_for_identifier(self, identifier: str) -> str | None:
        """Which config key holds ``identifier`` (to name it in an error)."""
        for key, value in self.identifiers().items():
            if value == identifier:
                return key
        return None

    # -- construction ----------------------------------------------------------------------------

    @classmethod
    def from_config(
        cls,
        config: Mapping[str, Any],
        api_key: str,
        *,
        timezone: str = DEFAULT_TIMEZONE,
        company: str = "company",
        source: str = "justsfa",
        require_api_key: bool = True,
    ) -> JustSfaSettings:
        """Validate ``config`` (``SourceConnection.config``) and the API key; see the module doc.
        ``require_api_key=False`` is for reading webhooks, which need no key."""
        if not isinstance(config, Mapping):
            raise _err("config", "an object is required", "設定が正しくありません")
        tenant, base = tenant_base_url(_text(config, "tenant"))
        override = _text(config, "base_url")
        if override:
            base = _url(override.rstrip("/"), "base_url")
        key = api_key.strip() if isinstance(api_key, str) else ""
        if not key and require_api_key:
            raise _err("api_key", "is required", "入力してください")
        if any(c.isspace() for c in key) or not key.isprintable():
            raise _err(
                "api_key", "must not contain spaces or line breaks", "空白や改行を含めずに貼り付けてください"
            )
        zone(timezone)
        values: dict[str, Any] = {}
        for name in ("table", "panel", "filter", *REQUIRED_FIELDS):
            values[name] = _identifier(config, name, required=True)
        for name in OPTIONAL_FIELDS:
            values[name] = _identifier(config, name, required=False)
        per_minute = _int(config, "requests_per_minute", DEFAULT_PER_MINUTE, 1, 10_000)
        per_day = _int(config, "requests_per_day", DEFAULT_PER_DAY, 1, 10_000_000)
        if per_day < per_minute:
            raise _err(
                "requests_per_day",
                "must not be below the per-minute limit",
                "1分あたりの上限以上にしてください",
            )
        midnight = config.get("midnight_all_day", True)
        if not isinstance(midnight, bool):
            raise _err("midnight_all_day", "true or false is required", "true か false を指定してください")
        elements = {}
        for setting, element_key in ELEMENT_SETTINGS.items():
            chosen = _text(config, element_key) or "auto"
            if chosen not in ELEMENT_CHOICES:
                raise _err(
                    element_key,
                    f"one of {', '.join(ELEMENT_CHOICES)} is required",
                    "選択肢から選んでください",
                )
            elements[setting] = chosen
        participant = (
            _text(config, "participant_element")
            if not isinstance(config.get("participant_element"), int)
            else str(config["participant_element"])
        )
        if (participant or "1") not in PARTICIPANT_ELEMENTS:
            raise _err("participant_element", "1 or 2 is required", "1 か 2 を選んでください")
        form = _text(config, "writeback_form") or "recordId"
        if form not in WRITEBACK_FORMS:
            raise _err(
                "writeback_form",
                "recordId or recordKey is required",
                "recordId か recordKey を選んでください",
            )
        if form == "recordKey" and not values.get("key_field"):
            raise _err(
                "key_field",
                "the recordKey form needs the record key field",
                "recordKey で書き戻すにはレコードキーフィールドの識別名が必要です",
            )
        test = config.get("writeback_test")
        settings = cls(
            tenant=tenant,
            base_url=base,
            api_key=key,
            **values,
            plan_values=_values(config, "plan_values", ("予定",)),
            actual_values=_values(config, "actual_values", ("実績",)),
            meeting_values=_values(config, "meeting_values", ("商談",)),
            task_values=_values(config, "task_values", ("業務",)),
            midnight_all_day=midnight,
            participant_element=int(participant or "1") - 1,
            elements=elements,
            writeback_form=form,
            writeback_test=test if isinstance(test, Mapping) else {},
            requests_per_minute=per_minute,
            requests_per_day=per_day,
            minute_seconds=_seconds(config, "minute_seconds", 60.0) or 60.0,
            day_seconds=_seconds(config, "day_seconds", None),
            page_size=_int(config, "page_size", MAX_PAGE_SIZE, 1, MAX_PAGE_SIZE),
            poll_max_requests=_int(config, "poll_max_requests", 20, 1, 10_000),
            timezone=timezone.strip(),
            company=company,
            source=source,
            extra_config={k: v for k, v in config.items() if k not in CONFIG_KEYS},
        )
        overlap = set(settings.plan_values) & set(settings.actual_values)
        if overlap:
            raise _err(
                "actual_values",
                f"{sorted(overlap)} cannot mean both plan and actual",
                f"{sorted(overlap)} を予定と実績の両方に指定できません",
            )
        for name, value in settings.field_settings().items():
            if name != "schedule_field" and value == settings.schedule_field:
                raise _err(
                    name,
                    f"{value!r} is the schedule field; this setting needs another field",
                    f"「{value}」はスケジュールフィールドです。別のフィールドの識別名を入力してください",
                )
        return settings

    @classmethod
    def from_connection(cls, connection: Any, *, require_api_key: bool = True) -> JustSfaSettings:
        """From a ``SourceConnection`` row (kind ``justsfa``): its config, API key and company."""
        company = connection.company
        return cls.from_config(
            connection.config or {},
            connection.api_key or "",
            timezone=getattr(company, "timezone", None) or DEFAULT_TIMEZONE,
            company=company.slug,
            source=source_name(connection.name),
            require_api_key=require_api_key,
        )


def source_name(connection_name: str | None) -> str:
    """The ``SourceRef.source`` of a connection: ``justsfa``, or ``justsfa-NAME`` for a second one."""
    name = (connection_name or "").strip()
    return "justsfa" if name in ("", "default") else f"justsfa-{name}"
