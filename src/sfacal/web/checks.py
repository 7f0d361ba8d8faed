"""The "test" buttons of the screens, in one place (C7, E5, J1, J3, push write-back).

Each check builds the connector from the stored settings, runs it, and answers with a
:class:`CheckResult` (ok + message + hint in the viewer's language). Local checks run first so
that a wrong thumbprint or an unreadable ``.pfx`` is reported before any network call.

Microsoft 365 checks use the calendar service the engine would use
(:func:`sfacal.engine.calendar.build_service`, the one place that turns the company settings into
the Graph connector's settings); source checks use the source's own ``check_connection``.

Guarantees (each has a test):

* **A check never answers a bare "unexpected error".** A failure carries a reference the reader can
  quote: the upstream request id (Graph's ``request-id``, the identity platform's correlation id)
  or, for a failure inside sfacal, a reference written next to the traceback in the server log.
* **Every check is in the sync log** (trigger ``check``): who was checked, the result, the error
  code with its parameters and the reference -- so "look in the log" always finds it.
* **No database access on the connector's event loop** (see :func:`_call_service`).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from django.utils import timezone, translation

from sfacal.calendars.google import parse_key
from sfacal.core.errors import (
    AppNotConfiguredError,
    CertificateExpiredError,
    InputError,
    NetworkError,
    SfacalError,
    log_params,
    normalize_lang,
)
from sfacal.core.expiry import expiry_day
from sfacal.directory.companies.certs import check_thumbprint, read_pfx
from sfacal.directory.companies.models import AuthMethod, BusinessName, CompanySettings, Purpose
from sfacal.directory.companies.models import CalendarService as CalendarServiceChoice
from sfacal.directory.connections.models import SourceConnection
from sfacal.directory.employees.models import Employee
from sfacal.engine.calendar import build_service
from sfacal.engine.models import LogResult, SyncLogEntry, Trigger
from sfacal.sources.base import CheckResult as SourceCheckResult
from sfacal.sources.justsfa import JustSfaSettings, check_saved_connection
from sfacal.sources.justsfa import check_connection as check_justsfa
from sfacal.sources.push.source import PushSource

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
    # The error's (non-secret) parameters, stored so a later page shows the message in full.
    params: Mapping[str, str] = field(default_factory=dict)
    # JUST.SFA: the first records as the product reads them (resolve_preview), shown before trust.
    preview: tuple[Mapping[str, Any], ...] = ()

    @classmethod
    def failure(cls, error: SfacalError, lang: str) -> CheckResult:
        return cls(
            False,
            error.code,
            error.user_message(lang),
            error.hint(lang),
            error.detail,
            params=dict(error.params),
        )

    @property
    def reference(self) -> str:
        """What to quote when asking for help: the upstream request id, or sfacal's own reference
        of a failure written to the server log."""
        return str(self.params.get("request_id") or self.params.get("reference") or "")


@dataclass(frozen=True)
class Who:
    """Whose mailbox a check is about (for its sync log line)."""

    employee_id: int | None = None
    login_id: str = ""


def unexpected(exc: BaseException, what: str) -> SfacalError:
    """A failure inside sfacal (a bug, not a setting): logged with its traceback under a fresh
    reference, which the screen and the sync log show."""
    reference = secrets.token_hex(6)
    logger.error("%s failed unexpectedly (reference %s)", what, reference, exc_info=exc)
    return SfacalError(type(exc).__name__, reference=reference)


def record_check(
    company_id: int,
    operation: str,
    result: CheckResult,
    *,
    who: Who | None = None,
    mailbox: str | None = None,
    calendar_name: str | None = None,
) -> None:
    """One sync log line (trigger ``check``) for a check someone ran from a screen."""
    who = who or Who()
    if result.ok:
        text = "check succeeded" + (f"; calendars: {', '.join(result.data)}" if result.data else "")
    else:
        text = result.detail or result.message
        if result.reference and result.reference not in text:
            text = f"{text} (reference {result.reference})"
    try:
        SyncLogEntry.objects.create(
            company_id=company_id,
            employee_id=who.employee_id,
            login_id=who.login_id[:150],
            mailbox=(mailbox or "")[:254],
            calendar_name=(calendar_name or "")[:255],
            trigger=Trigger.CHECK,
            operation=operation[:32],
            result=LogResult.SUCCESS if result.ok else LogResult.FAILURE,
            error_code="" if result.ok else result.code[:64],
            error_params=log_params(result.params),
            message=text[:2000],
        )
    except Exception:  # the log must not turn a check's answer into an error page
        logger.exception("recording a check in the sync log failed")


def _lang(lang: str | None) -> str:
    return normalize_lang(lang)


# --------------------------------------------------------------------------------------------
# Microsoft 365 (C7, E5)


def local_credential_check(settings: CompanySettings) -> None:
    """Everything that can be proven without a network call; raises the matching error.

    Google Calendar: a service-account key that reads (:func:`sfacal.calendars.google.parse_key`);
    another service (CalDAV) checks its own settings when its connector is built."""
    if settings.calendar_service == CalendarServiceChoice.GOOGLE:
        parse_key(settings.google_service_account_key or None)
        return
    if settings.calendar_service != CalendarServiceChoice.MICROSOFT_365:
        return
    if not settings.client_id:
        raise AppNotConfiguredError("the client ID is empty", setting="client_id")
    if not settings.token_endpoint:
        raise AppNotConfiguredError("the token endpoint is empty", setting="token_endpoint")
    if settings.auth_method == AuthMethod.CERTIFICATE:
        if not settings.certificate_pfx:
            raise AppNotConfiguredError("no certificate is stored", setting="certificate_pfx")
        info = read_pfx(bytes(settings.certificate_pfx), settings.certificate_password or "")
        if settings.certificate_thumbprint:
            check_thumbprint(info, settings.certificate_thumbprint)
        if info.not_after <= timezone.now():
            raise CertificateExpiredError(expires_at=expiry_day(info.not_after, settings.company.timezone))
    elif not settings.client_secret:
        raise AppNotConfiguredError("no client secret is stored", setting="client_secret")


def credentials_complete(settings: CompanySettings) -> bool:
    """Whether ``settings`` hold credentials that may be in use: they pass the local checks."""
    try:
        local_credential_check(settings)
    except SfacalError:
        return False
    return True


def _call_service(settings: CompanySettings, method: str, *args: Any) -> Any:
    """Run one async method of the company's calendar service on a private event loop.

    The service is the one the engine would use (``sfacal.engine.calendar.build_service``), so a
    test factory installed there is honoured; it runs in its own thread so that the caller may
    itself be inside an event loop.

    The service is built here, on the caller's thread, before the private loop starts: building it
    reads the company's settings (and their company) from the database, which Django refuses from
    inside a running event loop. Only the network calls run on the loop.
    """
    service = build_service(settings)

    async def run() -> Any:
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
        host = {"google": "Google Calendar", "caldav": "CalDAV"}.get(
            settings.calendar_service, "Microsoft 365"
        )
        raise NetworkError("the check did not finish in time", host=host)
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
        return replace(CheckResult.failure(error, lang), data=names)
    return CheckResult.failure(SfacalError("the check failed without a reason"), lang)


def check_company_connection(settings: CompanySettings, lang: str | None = "ja") -> CheckResult:
    """C7: acquire a token and call Graph. Records the outcome on ``settings`` (saved)."""
    result = check_company_credentials(settings, lang)
    record_result(settings, result)
    return result


def check_company_credentials(settings: CompanySettings, lang: str | None = "ja") -> CheckResult:
    """C7 without recording anything: ``settings`` may be a candidate that is never saved (the
    stored settings copied, with the new values applied and its company attached, so that
    building the connector reads nothing from the database)."""
    lang = _lang(lang)
    try:
        local_credential_check(settings)
        result = _from_service_result(_call_service(settings, "check_connection"), lang)
    except SfacalError as exc:
        result = CheckResult.failure(exc, lang)
    except Exception as exc:  # a connector bug must not break the screen
        result = CheckResult.failure(unexpected(exc, "the company connection check"), lang)
    record_check(settings.company_id, "check_connection", result)
    return result


def record_result(row: CompanySettings | SourceConnection, result: CheckResult) -> None:
    """Store ``result`` as the last connection test of the saved ``row`` (its ``last_test_*``)."""
    row.last_test_at = timezone.now()
    row.last_test_ok = result.ok
    row.last_test_code = result.code
    row.last_test_message = result.detail[:2000]
    row.last_test_params = dict(result.params)
    row.save(
        update_fields=[
            "last_test_at",
            "last_test_ok",
            "last_test_code",
            "last_test_message",
            "last_test_params",
        ]
    )


def _unresolved(lang: str) -> CheckResult:
    return CheckResult.failure(
        InputError(
            "user_id",
            "no mailbox user ID can be resolved",
            reason_ja="連携ユーザーIDを決定できません（ユーザーIDまたは基本設定のドメイン名を確認してください）",
        ),
        lang,
    )


def check_mailbox(
    settings: CompanySettings,
    mailbox: str | None,
    calendar_name: str | None,
    lang: str | None = "ja",
    *,
    who: Who | None = None,
) -> CheckResult:
    """E5: the mailbox exists and the calendar (empty = default) is reachable; in the sync log."""
    lang = _lang(lang)
    if not mailbox:
        result = _unresolved(lang)
    else:
        try:
            local_credential_check(settings)
            result = _from_service_result(
                _call_service(settings, "check_mailbox", mailbox, calendar_name or None), lang
            )
        except SfacalError as exc:
            result = CheckResult.failure(exc, lang)
        except Exception as exc:
            result = CheckResult.failure(unexpected(exc, "the mailbox check"), lang)
    record_check(
        settings.company_id, "check_mailbox", result, who=who, mailbox=mailbox, calendar_name=calendar_name
    )
    return result


def list_calendars(
    settings: CompanySettings, mailbox: str | None, lang: str | None = "ja", *, who: Who | None = None
) -> CheckResult:
    """The calendar names of a mailbox (``data``), for the calendar picker; a failure is logged."""
    lang = _lang(lang)
    if not mailbox:
        result = _unresolved(lang)
    else:
        try:
            local_credential_check(settings)
            calendars = _call_service(settings, "list_calendars", mailbox)
            names = tuple(str(getattr(c, "name", c)) for c in calendars)
            return CheckResult(True, "", _ok_text(lang), data=names)
        except SfacalError as exc:
            result = CheckResult.failure(exc, lang)
        except Exception as exc:
            result = CheckResult.failure(unexpected(exc, "listing calendars"), lang)
    record_check(settings.company_id, "list_calendars", result, who=who, mailbox=mailbox)
    return result


# --------------------------------------------------------------------------------------------
# Sources: JUST.SFA (J1) and the push connection's write-back callback (T1)


def resolve_preview(company_id: int, rows: Any, lang: str) -> tuple[dict[str, Any], ...]:
    """The preview rows of a JUST.SFA check with participants resolved to employees ("unknown"
    when no employee has the user ID) and purpose / business name matched to the masters."""
    if not isinstance(rows, list) or not rows:
        return ()
    ids = {p for row in rows for p in row.get("participants") or ()}
    names = dict(
        Employee.objects.filter(company_id=company_id, login_id__in=ids).values_list("login_id", "name")
    )
    purposes = set(Purpose.objects.filter(company_id=company_id).values_list("name", flat=True))
    businesses = set(BusinessName.objects.filter(company_id=company_id).values_list("name", flat=True))
    out = []
    for row in rows:
        shown = dict(row)
        if "error" in row:
            shown["error"] = row.get("error_ja" if lang == "ja" else "error", "")
            out.append(shown)
            continue
        shown["people"] = [
            {"user_id": uid, "name": names.get(uid, ""), "known": uid in names}
            for uid in row.get("participants") or ()
        ]
        shown["purpose_known"] = not row.get("purpose") or row["purpose"] in purposes
        shown["business_known"] = not row.get("business") or row["business"] in businesses
        out.append(shown)
    return tuple(out)


def _from_source_result(found: SourceCheckResult, lang: str) -> CheckResult:
    problems = tuple(found.problems)
    notes = tuple(f"{p.user_message(lang)} {p.hint(lang)}" for p in problems[1:]) + tuple(
        str(w) for w in found.warnings
    )
    if found.ok:
        return CheckResult(True, "", found.message(lang), notes=notes)
    error = found.error
    return CheckResult(
        False,
        found.code,
        found.message(lang),
        found.hint(lang),
        error.detail if error is not None else "",
        notes=notes,
        params=dict(error.params) if error is not None else {},
    )


def check_source(source: SourceConnection, lang: str | None = "ja") -> CheckResult:
    """J1: prove tenant, API key and identifiers; the source records ``last_test_*`` itself."""
    lang = _lang(lang)
    return _source_check(source.company_id, lambda: check_saved_connection(source, lang=lang), lang)


def _source_check(company_id: int, run: Callable[[], SourceCheckResult], lang: str) -> CheckResult:
    try:
        found = run()
        result = _from_source_result(found, lang)
        preview = resolve_preview(company_id, found.details.get("preview"), lang)
        if preview:
            result = replace(result, preview=preview)
    except SfacalError as exc:
        result = CheckResult.failure(exc, lang)
    except Exception as exc:
        result = CheckResult.failure(unexpected(exc, "the source check"), lang)
    record_check(company_id, "check_source", result)
    return result


def source_settings_complete(source: SourceConnection) -> bool:
    """Whether a JUST.SFA connection holds settings that may be in use (tenant, API key and
    every required identifier, well formed)."""
    try:
        JustSfaSettings.from_connection(source)
    except SfacalError:
        return False
    return True


def check_source_candidate(candidate: SourceConnection, lang: str | None = "ja") -> CheckResult:
    """J1 without recording anything: ``candidate`` is a JUST.SFA connection that may never be
    saved (the stored one copied, with the new values applied)."""
    lang = _lang(lang)
    return _source_check(
        candidate.company_id,
        lambda: check_justsfa(JustSfaSettings.from_connection(candidate), lang=lang),
        lang,
    )


def check_push_connection(connection: SourceConnection, lang: str | None = "ja") -> CheckResult:
    """Push write-back: send a signed ``ping`` to the callback URL; records ``last_test_*``."""
    lang = _lang(lang)
    try:
        result = _from_source_result(PushSource(connection).check_connection(), lang)
    except SfacalError as exc:
        result = CheckResult.failure(exc, lang)
    except Exception as exc:
        result = CheckResult.failure(unexpected(exc, "the push connection check"), lang)
    record_check(connection.company_id, "check_push", result)
    record_result(connection, result)
    return result


def _ok_text(lang: str) -> str:
    with translation.override(lang):
        return str(translation.gettext("Connection succeeded."))
