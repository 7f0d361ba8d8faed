"""J1 "Save and test": prove the API key and every identifier, and say exactly which one is wrong.

The probes, each one request (all within the shared budget):

1. ``GET records/?limit=1`` -- tenant, API key, data table (and the key's access to it);
2. ``… &panelName=P&limit=5`` -- the panel; its records are also shown as the product reads them
   (``details["preview"]``, :mod:`.preview`), so a wrong field-element choice is seen at once;
3. ``… &panelName=P&filterName=F`` -- the participant filter;
4. the fields: looked up in the records the probes returned (the panel must show them, since the
   periodic poll reads through it). When the table has no record yet, each field is probed with a
   value search ``_FIELD=…`` (the service refuses unknown fields); a field that cannot be verified
   either way is reported as a warning, not an error.

Every wrong field is listed in ``CheckResult.problems``; ``error`` is the first problem.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sfacal.core.errors import InputError, SfacalError, SourceError, SourceIdentifierError

from ..base import CheckResult
from .client import SOURCE_LABEL, RecordItem, RecordsClient
from .parse import field_text
from .preview import PREVIEW_LIMIT, preview_records
from .settings import JustSfaSettings, both_labels, label

__all__ = ["check_connection", "check_saved_connection"]

_PROBE_VALUE = "sfacal-connection-test"


def _identifier_error(settings: JustSfaSettings, setting: str, reason: str) -> SourceIdentifierError:
    return SourceIdentifierError(
        f"{setting}={settings.identifiers().get(setting, '')}: {reason}",
        source=SOURCE_LABEL,
        identifier=settings.identifiers().get(setting, ""),
        field=both_labels(setting),
        setting=setting,
    )


def _as_setting(settings: JustSfaSettings, exc: SfacalError, setting: str) -> SfacalError:
    """A refusal of a probe that only added ``setting``: it is that identifier that is wrong."""
    if isinstance(exc, SourceIdentifierError):
        return (
            exc if exc.params.get("setting") == setting else _identifier_error(settings, setting, exc.detail)
        )
    if type(exc) is SourceError and exc.http_status in (400, 404):
        return _identifier_error(settings, setting, exc.detail)
    return exc


def _has_field(record: Mapping[str, Any], field_id: str, *, schedule: bool) -> bool:
    if schedule:
        value = record.get(field_id)
        return (
            isinstance(value, Mapping) and f"{field_id}_period" in value
        ) or f"{field_id}_period" in record
    return field_id in record


def _probe_field(client: RecordsClient, settings: JustSfaSettings, setting: str, field_id: str) -> str:
    """``ok`` / ``missing`` / ``unverified`` for a field, by a value search on it."""
    try:
        client.list_records(limit=1, params={f"_{field_id}": _PROBE_VALUE})
    except SourceIdentifierError as exc:
        return "missing" if exc.params.get("setting") == setting else "unverified"
    except SourceError as exc:
        # Refused as "cannot search this type of field": the field exists.
        if exc.http_status == 400 and exc.upstream_code not in (None, "UNKNOWN_FIELD"):
            return "ok"
        return "missing" if exc.upstream_code == "UNKNOWN_FIELD" else "unverified"
    return "ok"


def check_connection(
    settings: JustSfaSettings, *, client: RecordsClient | None = None, lang: str = "ja"
) -> CheckResult:
    """Run the probes of the module docstring against the records API."""
    own = client is None
    api = client if client is not None else RecordsClient(settings, max_wait=20.0)
    verified: dict[str, str] = {}
    warnings: list[str] = []
    try:
        try:
            table_page = api.list_records(limit=1)
        except SfacalError as exc:
            return CheckResult.failure([exc], details={"verified": verified})
        verified.update(tenant="ok", api_key="ok", table="ok")
        try:
            panel_page = api.list_records(panel=settings.panel, limit=PREVIEW_LIMIT)
        except SfacalError as exc:
            return CheckResult.failure([_as_setting(settings, exc, "panel")], details={"verified": verified})
        verified["panel"] = "ok"
        try:
            filter_page = api.list_records(panel=settings.panel, filter_name=settings.filter, limit=1)
        except SfacalError as exc:
            return CheckResult.failure([_as_setting(settings, exc, "filter")], details={"verified": verified})
        verified["filter"] = "ok"

        sample: list[RecordItem] = panel_page[:1] or filter_page
        problems: list[SfacalError] = []
        for setting, field_id in settings.field_settings().items():
            schedule = setting == "schedule_field"
            if sample:
                if _has_field(sample[0].record, field_id, schedule=schedule):
                    verified[setting] = "ok"
                    continue
                in_table = bool(table_page) and _has_field(table_page[0].record, field_id, schedule=schedule)
                if in_table:
                    reason = "the field exists but the panel does not show it"
                    problems.append(_identifier_error(settings, setting, reason))
                    verified[setting] = "not_in_panel"
                elif schedule and field_id in sample[0].record:
                    problems.append(_identifier_error(settings, setting, "the field is not a schedule field"))
                    verified[setting] = "not_schedule"
                else:
                    problems.append(_identifier_error(settings, setting, "no such field in the records"))
                    verified[setting] = "missing"
                continue
            state = _probe_field(api, settings, setting, field_id)
            verified[setting] = state
            if state == "missing":
                problems.append(_identifier_error(settings, setting, "the service does not know the field"))
            elif state == "unverified":
                warnings.append(_unverified(setting, field_id, lang))
        if sample and settings.status_field:
            warnings += _status_warnings(settings, sample[0].record, lang)
        details: dict[str, Any] = {
            "verified": verified,
            "records_seen": len(sample),
            "preview": preview_records(settings, panel_page, now=datetime.now(UTC)),
        }
        if problems:
            return CheckResult.failure(problems, warnings=warnings, details=details)
        return CheckResult(
            ok=True,
            warnings=tuple(warnings),
            details=details,
            summary_ja="JUST.SFA に接続できました（APIキー・データテーブル・パネル・フィルタ・各フィールドを確認しました）。",
            summary_en="Connected to JUST.SFA (API key, data table, panel, filter and every field verified).",
        )
    finally:
        if own:
            api.close()


def _unverified(setting: str, field_id: str, lang: str) -> str:
    if lang == "ja":
        return f"{label(setting)}「{field_id}」はレコードがないため確認できませんでした。レコードを1件登録してから再テストしてください。"
    return (
        f"The {label(setting, 'en')} {field_id!r} could not be verified because the table has no record "
        "yet. Register one record and test again."
    )


def _status_warnings(settings: JustSfaSettings, record: Mapping[str, Any], lang: str) -> list[str]:
    try:
        value = field_text(settings, record, "status_field")
    except InputError:
        return []
    if not value:
        return []
    known = set(settings.plan_values) | set(settings.actual_values)
    if value.strip() in known:
        return []
    if lang == "ja":
        return [
            f"状態フィールドの値「{value}」は予定・実績のどちらにも設定されていません（予定として扱います）。"
        ]
    return [f"The status value {value!r} is neither a plan nor an actual value (treated as a plan)."]


def check_saved_connection(
    connection: Any, *, client: RecordsClient | None = None, lang: str = "ja"
) -> CheckResult:
    """Validate a ``SourceConnection``'s settings, run :func:`check_connection` and record the
    outcome in its ``last_test_*`` fields. A settings error is a failed check naming the field."""
    from django.utils import timezone as dj_timezone

    try:
        settings = JustSfaSettings.from_connection(connection)
        result = check_connection(settings, client=client, lang=lang)
    except InputError as exc:
        result = CheckResult.failure([exc])
    connection.last_test_at = dj_timezone.now()
    connection.last_test_ok = result.ok
    connection.last_test_code = result.code
    connection.last_test_message = result.message(lang)[:2000]
    connection.last_test_params = dict(result.error.params) if result.error is not None else {}
    connection.save(
        update_fields=[
            "last_test_at",
            "last_test_ok",
            "last_test_code",
            "last_test_message",
            "last_test_params",
        ]
    )
    return result
