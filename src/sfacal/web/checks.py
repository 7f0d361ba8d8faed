"""The "test" buttons of the screens, in one place (C7, E5, J1, J3) and the hooks the screens call.

Each check builds the connector from the stored settings, runs it, and answers with a
:class:`CheckResult` (ok + message + hint in the viewer's language). Local checks run first so
that a wrong thumbprint or an unreadable ``.pfx`` is reported before any network call.

The connectors live in other packages (``sfacal.calendars.msgraph``, ``sfacal.sources.justsfa``);
they are looked up when a check runs, so the screens work while a connector is absent and say so.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.utils import timezone, translation

from sfacal.core.errors import (
    ERROR_TYPES,
    CertificateExpiredError,
    ConfigurationError,
    InputError,
    NetworkError,
    SfacalError,
    error_from_code,
    normalize_lang,
)
from sfacal.web.companies.certs import check_thumbprint, read_pfx
from sfacal.web.companies.models import AuthMethod, CompanySettings

if TYPE_CHECKING:
    from sfacal.web.connections.models import SourceConnection, UserMapping
    from sfacal.web.employees.models import Employee

logger = logging.getLogger(__name__)

CHECK_TIMEOUT_S = 90


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    code: str
    message: str
    hint: str = ""
    detail: str = ""
    data: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @classmethod
    def failure(cls, error: SfacalError, lang: str) -> CheckResult:
        return cls(False, error.code, error.user_message(lang), error.hint(lang), error.detail)


class ConnectorUnavailableError(ConfigurationError):
    code = "connector_unavailable"
    message_ja = "この接続先のコネクタがインストールされていません。"
    message_en = "The connector for this service is not installed."
    hint_ja = "sfacal のインストールが完全か確認し、サービスを再起動してください。"
    hint_en = "Check that sfacal is installed completely and restart the service."


ERROR_TYPES.setdefault(ConnectorUnavailableError.code, ConnectorUnavailableError)


def error_for_code(code: str) -> SfacalError:
    """Re-hydrate a stored check or log code (the engine's own codes included)."""
    try:
        import sfacal.engine.errors  # noqa: F401 - registers the engine's error codes
    except ImportError:  # pragma: no cover - the engine is part of the product
        pass
    return error_from_code(code)


def _optional(module: str, name: str) -> Callable[..., Any] | None:
    try:
        mod = importlib.import_module(module)
    except ImportError:
        return None
    found = getattr(mod, name, None)
    return found if callable(found) else None


def _lang(lang: str | None) -> str:
    return normalize_lang(lang)


# --------------------------------------------------------------------------------------------
# Microsoft 365 (C7, E5)


def local_credential_check(settings: CompanySettings) -> None:
    """Everything that can be proven without a network call; raises the matching error."""
    if not settings.client_id:
        raise InputError("client_id", "is required", reason_ja="クライアントIDは必須です")
    if not settings.token_endpoint:
        raise InputError(
            "token_endpoint", "is required", reason_ja="OAuth 2.0 トークンエンドポイントは必須です"
        )
    if settings.auth_method == AuthMethod.CERTIFICATE:
        if not settings.certificate_pfx:
            raise InputError("certificate_pfx", "is required", reason_ja="証明書ファイル（.pfx）は必須です")
        info = read_pfx(bytes(settings.certificate_pfx), settings.certificate_password or "")
        if settings.certificate_thumbprint:
            check_thumbprint(info, settings.certificate_thumbprint)
        if info.not_after <= timezone.now():
            raise CertificateExpiredError(expires_at=info.not_after.date().isoformat())
    elif not settings.client_secret:
        raise InputError("client_secret", "is required", reason_ja="クライアントシークレットは必須です")


def _call_service(settings: CompanySettings, method: str, *args: Any) -> Any:
    """Run one async method of the company's calendar service on a private event loop.

    The service is the one the engine would use (``sfacal.engine.calendar.build_service``), so a
    test factory installed there is honoured; it runs in its own thread so that the caller may
    itself be inside an event loop.
    """
    try:
        from sfacal.engine.calendar import build_service
    except ImportError as exc:  # pragma: no cover - the engine is part of the product
        raise ConnectorUnavailableError("sfacal.engine.calendar is missing") from exc

    async def run() -> Any:
        service = build_service(settings)
        try:
            return await getattr(service, method)(*args)
        finally:
            close = getattr(service, "aclose", None)
            if close is not None:
                await close()

    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = asyncio.run(run())
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=target, name="sfacal-check", daemon=True)
    thread.start()
    thread.join(CHECK_TIMEOUT_S)
    if thread.is_alive():
        raise NetworkError("the check did not finish in time", host="Microsoft 365")
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def _from_service_result(found: Any, lang: str) -> CheckResult:
    """The connector's check result (``sfacal.calendars.base.CheckResult``) for the screens."""
    names = tuple(
        str(c.get("name", ""))
        for c in (getattr(found, "details", {}) or {}).get("calendars", [])
        if c.get("name")
    )
    if getattr(found, "ok", False):
        return CheckResult(True, "", _ok_text(lang), data=names)
    error = getattr(found, "error", None)
    if isinstance(error, SfacalError):
        failure = CheckResult.failure(error, lang)
        return CheckResult(failure.ok, failure.code, failure.message, failure.hint, failure.detail, names)
    return CheckResult.failure(SfacalError("the check failed without a reason"), lang)


def check_company_connection(settings: CompanySettings, lang: str | None = "ja") -> CheckResult:
    """C7: acquire a token and call Graph. Records the outcome on ``settings`` (saved)."""
    lang = _lang(lang)
    try:
        local_credential_check(settings)
        result = _from_service_result(_call_service(settings, "check_connection"), lang)
    except SfacalError as exc:
        result = CheckResult.failure(exc, lang)
    except Exception as exc:  # a connector bug must not break the screen
        logger.exception("company connection check failed unexpectedly")
        result = CheckResult.failure(SfacalError(type(exc).__name__), lang)
    settings.last_test_at = timezone.now()
    settings.last_test_ok = result.ok
    settings.last_test_code = result.code
    settings.last_test_message = result.detail[:2000]
    settings.save(update_fields=["last_test_at", "last_test_ok", "last_test_code", "last_test_message"])
    return result


def check_mailbox(
    settings: CompanySettings, mailbox: str | None, calendar_name: str | None, lang: str | None = "ja"
) -> CheckResult:
    """E5: the mailbox exists and the calendar (empty = default) is reachable."""
    lang = _lang(lang)
    if not mailbox:
        return CheckResult.failure(
            InputError(
                "user_id",
                "no mailbox user ID can be resolved",
                reason_ja="連携ユーザーIDを決定できません（ユーザーIDまたは基本設定のドメイン名を確認してください）",
            ),
            lang,
        )
    try:
        local_credential_check(settings)
        return _from_service_result(
            _call_service(settings, "check_mailbox", mailbox, calendar_name or None), lang
        )
    except SfacalError as exc:
        return CheckResult.failure(exc, lang)
    except Exception as exc:
        logger.exception("mailbox check failed unexpectedly")
        return CheckResult.failure(SfacalError(type(exc).__name__), lang)


def list_calendars(settings: CompanySettings, mailbox: str | None, lang: str | None = "ja") -> CheckResult:
    """The calendar names of a mailbox (``data``), for the calendar picker."""
    lang = _lang(lang)
    if not mailbox:
        return check_mailbox(settings, mailbox, None, lang)
    try:
        local_credential_check(settings)
        calendars = _call_service(settings, "list_calendars", mailbox)
        names = tuple(str(getattr(c, "name", c)) for c in calendars)
        return CheckResult(True, "", _ok_text(lang), data=names)
    except SfacalError as exc:
        return CheckResult.failure(exc, lang)
    except Exception as exc:
        logger.exception("listing calendars failed unexpectedly")
        return CheckResult.failure(SfacalError(type(exc).__name__), lang)


# --------------------------------------------------------------------------------------------
# JUST.SFA (J1, J3)


def check_source(source: SourceConnection, lang: str | None = "ja") -> CheckResult:
    """J1: prove tenant, API key and identifiers; the source records ``last_test_*`` itself."""
    lang = _lang(lang)
    check = _optional("sfacal.sources.justsfa", "check_saved_connection")
    try:
        if check is None:
            raise ConnectorUnavailableError("sfacal.sources.justsfa.check_saved_connection is missing")
        found = check(source, lang=lang)
    except SfacalError as exc:
        return CheckResult.failure(exc, lang)
    except Exception as exc:
        logger.exception("source check failed unexpectedly")
        return CheckResult.failure(SfacalError(type(exc).__name__), lang)
    problems = tuple(getattr(found, "problems", ()) or ())
    notes = tuple(
        f"{p.user_message(lang)} {p.hint(lang)}" for p in problems[1:] if isinstance(p, SfacalError)
    ) + tuple(str(w) for w in getattr(found, "warnings", ()) or ())
    if found.ok:
        return CheckResult(True, "", found.message(lang), notes=notes)
    error = found.error
    return CheckResult(
        False,
        found.code,
        found.message(lang),
        found.hint(lang),
        error.detail if isinstance(error, SfacalError) else "",
        notes=notes,
    )


def unlink_mapping(mapping: UserMapping) -> None:
    """J3: before a mapping row is deleted, its employee stops syncing (kept with its log)."""
    hook = _optional("sfacal.sources.justsfa", "unlink_mapping")
    if hook is not None:
        hook(mapping)
    elif mapping.employee_id is not None:
        from sfacal.web.employees.models import Employee, SyncState

        Employee.objects.filter(pk=mapping.employee_id).update(state=SyncState.OFF)


def sync_mapping(mapping: UserMapping) -> Employee | None:
    """J3: after a mapping row is saved, bring its employee in line (the source's own rule)."""
    hook = _optional("sfacal.sources.justsfa", "sync_mapping_to_employee")
    if hook is None:
        hook = _optional("sfacal.sources.justsfa.mapping", "sync_mapping_to_employee")
    if hook is not None:
        result = hook(mapping)
        return result if result is not None else mapping.employee
    return _sync_mapping_fallback(mapping)


def _sync_mapping_fallback(mapping: UserMapping) -> Employee:
    from sfacal.web.employees.models import Employee, SyncState, UserIdMode

    employee = mapping.employee
    if employee is None:
        employee, _created = Employee.objects.get_or_create(
            company_id=mapping.company_id,
            login_id=mapping.external_user_id,
            defaults={"name": mapping.name},
        )
    employee.name = employee.name or mapping.name
    employee.user_id_mode = UserIdMode.EXPLICIT
    employee.user_id = mapping.mail_address
    if employee.state != SyncState.FORBIDDEN:
        new_state = SyncState.ON if mapping.enabled else SyncState.OFF
        if new_state == SyncState.ON and employee.state != SyncState.ON:
            employee.sync_start = timezone.now()
        employee.state = new_state
    employee.save()
    if mapping.employee_id != employee.pk:
        mapping.employee = employee
        mapping.save(update_fields=["employee"])
    return employee


# --------------------------------------------------------------------------------------------
# Back-fill (P4)


def request_backfill(employee: Employee, old_calendar: str, new_calendar: str) -> bool:
    """P4: ask the engine to move the employee's events into the new calendar.

    Returns ``False`` when the engine offers no back-fill (nothing was requested).
    """
    hook = _optional("sfacal.engine.backfill", "request_backfill")
    if hook is None:
        logger.warning("calendar of employee %s changed but no back-fill is available", employee.pk)
        return False
    hook(employee, old_calendar, new_calendar)
    return True


def _ok_text(lang: str) -> str:
    with translation.override(lang):
        return str(translation.gettext("Connection succeeded."))
