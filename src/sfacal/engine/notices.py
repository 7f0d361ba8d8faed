"""E-mail notices to a company's administrators: one message per problem, not per failure.

Problems looked for, company by company, at each run of :func:`send_notices` (queued by the
minute job, :func:`sfacal.engine.tasks.tick`):

1. **A client secret or certificate expires** (the one the company's authentication method uses):
   told when 30, 7 and 1 days or less are left (one notice per threshold reached; a company first
   seen with 5 days left gets the 7-day notice only).
2. **The app's consent or credentials stopped working**: the company's latest calendar write failed
   with a credential or permission error (:data:`CREDENTIAL_CODES`), or the latest connection test
   (C7) did, after the latest write.
3. **An employee's sync has been failing** for longer than ``SFACAL_NOTICE_FAILING_HOURS``
   (default 24): every write since the first failure after their last success failed.

Guarantees:

- **Once per problem.** A :class:`~sfacal.engine.models.Notice` row is written *before* the mail
  is sent, under a database constraint allowing one open notice per (company, problem,
  threshold): whatever the number of workers running this at once, one sends. The notice stays
  open while the problem lasts and is closed (``cleared_at``) the first run the problem is gone;
  a problem that comes back is told again. A message that could not be sent (mail server down)
  removes its row, so the next run tries again.
- **What to do and where.** Each message names the problem, the fix (the error's hint, L2) and
  links the screen (``SFACAL_BASE_URL``, else ``SFACAL_PUBLIC_URL``).
- **In the administrator's language**: each recipient's ``Membership.language`` (the language of
  their last sign-in; Japanese by default).
- Sent only when a mail server is configured (``SFACAL_SMTP_HOST``); otherwise nothing is
  detected or recorded. No secret is ever in a message.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage, get_connection
from django.db import IntegrityError, transaction
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from sfacal import config
from sfacal.core.errors import error_from_code, normalize_lang
from sfacal.core.expiry import CredentialKind, credential_expiry_warning, expiry_day
from sfacal.core.schedule import zone
from sfacal.directory.companies.models import AuthMethod, Company, CompanySettings, Membership, Role
from sfacal.directory.employees.models import Employee, LastResult, SyncState
from sfacal.engine.figures import EXECUTIONS
from sfacal.engine.models import LogResult, Notice, SyncLogEntry

__all__ = [
    "CREDENTIAL_CODES",
    "EXPIRY_THRESHOLDS",
    "Problem",
    "company_problems",
    "failing_hours",
    "send_notices",
]

log = logging.getLogger(__name__)

EXPIRY_THRESHOLDS = (30, 7, 1)
CREDENTIAL_CODES = frozenset(
    {
        "credential_error",
        "app_not_found",
        "invalid_signature",
        "pfx_unreadable",
        "thumbprint_mismatch",
        "tenant_not_found",
        "secret_invalid",
        "secret_expired",
        "certificate_expired",
        "access_denied",
        "unauthorized",
    }
)
DEFAULT_FAILING_HOURS = 24.0


def failing_hours() -> float:
    """``SFACAL_NOTICE_FAILING_HOURS`` (default 24; at least 0.01)."""
    try:
        return max(0.01, float(os.environ.get("SFACAL_NOTICE_FAILING_HOURS", "") or DEFAULT_FAILING_HOURS))
    except ValueError:
        return DEFAULT_FAILING_HOURS


@dataclass(frozen=True)
class Problem:
    """One problem of a company: what the notice says, per language."""

    key: str
    kind: str
    threshold: str
    subject: dict[str, str]
    body: dict[str, str]
    hint: dict[str, str]
    screen: str = ""
    details: dict[str, str] = field(default_factory=dict)


_SUBJECTS = {
    "expiry": {
        "ja": "[sfacal] {company}: {what}の有効期限まで残り {days} 日",
        "en": "[sfacal] {company}: the {what} expires in {days} days",
    },
    "credentials": {
        "ja": "[sfacal] {company}: Microsoft 365 への接続が失敗しています",
        "en": "[sfacal] {company}: the connection to Microsoft 365 stopped working",
    },
    "failing": {
        "ja": "[sfacal] {company}: {employee} さんの連携が {hours} 時間以上失敗しています",
        "en": "[sfacal] {company}: the sync of {employee} has been failing for over {hours} hours",
    },
}
_TEXT = {
    "ja": {
        "greeting": "{company} の管理者の方へ",
        "fix": "対処方法",
        "screen": "画面",
        "footer": "この通知は問題ごとに 1 回だけ送られます。解消した後に再発した場合は、改めてお知らせします。",
        "since": "最初の失敗: {since}（エラーコード: {code}）",
    },
    "en": {
        "greeting": "To the administrators of {company}",
        "fix": "What to do",
        "screen": "Screen",
        "footer": "This notice is sent once per problem. If the problem clears and comes back, you are told again.",
        "since": "First failure: {since} (error code: {code})",
    },
}
_NAMES = {
    CredentialKind.CERTIFICATE: {"ja": "証明書", "en": "certificate"},
    CredentialKind.CLIENT_SECRET: {"ja": "クライアントシークレット", "en": "client secret"},
}


def _path(name: str, *args: object) -> str:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:  # the engine runs without the screens' URLs in a few tests
        return ""


def _expiry_problem(company: Company, cs: CompanySettings, now: datetime) -> Problem | None:
    if cs.auth_method == AuthMethod.CERTIFICATE:
        kind, expires = CredentialKind.CERTIFICATE, cs.certificate_expires_at
    else:
        kind, expires = CredentialKind.CLIENT_SECRET, cs.client_secret_expires_at
    if expires is None or not cs.client_id:
        return None
    left = expires - now
    reached = [t for t in EXPIRY_THRESHOLDS if left <= timedelta(days=t)]
    if not reached:
        return None
    threshold = min(reached)
    warning = credential_expiry_warning(
        expires, now, kind=kind, within_days=EXPIRY_THRESHOLDS[0], timezone=company.timezone
    )
    assert warning is not None
    days = max(0, warning.days_left)
    names = _NAMES[kind]
    return Problem(
        key=f"{kind.value}_expiry:{expiry_day(expires, company.timezone)}",
        kind="expiry",
        threshold=str(threshold),
        subject={
            lang: _SUBJECTS["expiry"][lang].format(company=company.name, what=names[lang], days=days)
            for lang in ("ja", "en")
        },
        body={lang: warning.user_message(lang) for lang in ("ja", "en")},
        hint={lang: warning.hint(lang) for lang in ("ja", "en")},
        screen=_path("company_settings"),
    )


def _credentials_problem(company: Company, cs: CompanySettings) -> Problem | None:
    """The latest of (the company's latest calendar write, its latest connection test) decides."""
    events: list[tuple[datetime, str, dict[str, object]]] = []
    latest = (
        SyncLogEntry.objects.filter(
            company=company, operation__in=EXECUTIONS, result__in=[LogResult.SUCCESS, LogResult.FAILURE]
        )
        .order_by("-at", "-id")  # the (company, result, at) index
        .values("at", "result", "error_code", "error_params")
        .first()
    )
    if latest is not None:
        failed = latest["result"] == LogResult.FAILURE and latest["error_code"] in CREDENTIAL_CODES
        events.append((latest["at"], latest["error_code"] if failed else "", latest["error_params"] or {}))
    if cs.last_test_at is not None and cs.last_test_ok is not None:
        failed = not cs.last_test_ok and cs.last_test_code in CREDENTIAL_CODES
        events.append((cs.last_test_at, cs.last_test_code if failed else "", cs.last_test_params or {}))
    if not events:
        return None
    _, code, params = max(events, key=lambda e: e[0])
    if not code:
        return None
    error = error_from_code(code, {str(k): str(v) for k, v in params.items()})
    return Problem(
        key="credentials",
        kind="credentials",
        threshold="",
        subject={lang: _SUBJECTS["credentials"][lang].format(company=company.name) for lang in ("ja", "en")},
        body={lang: error.user_message(lang) for lang in ("ja", "en")},
        hint={lang: error.hint(lang) for lang in ("ja", "en")},
        screen=_path("company_settings"),
        details={"code": code},
    )


def _failing_problems(company: Company, now: datetime) -> list[Problem]:
    hours = failing_hours()
    cutoff = now - timedelta(hours=hours)
    problems: list[Problem] = []
    failing = Employee.objects.filter(company=company, state=SyncState.ON, last_result=LastResult.FAILED)
    for employee in failing.only("pk", "login_id", "name"):
        entries = SyncLogEntry.objects.filter(
            employee_id=employee.pk,
            operation__in=EXECUTIONS,
            result__in=[LogResult.SUCCESS, LogResult.FAILURE],
        )
        # ordered by time: the (employee, at) index
        last_ok = (
            entries.filter(result=LogResult.SUCCESS).order_by("-at").values_list("at", flat=True).first()
        )
        failures = entries.filter(result=LogResult.FAILURE)
        if last_ok is not None:
            failures = failures.filter(at__gt=last_ok)
        first = failures.order_by("at").values("at").first()
        last = failures.order_by("-at", "-id").values("error_code", "error_params").first()
        if first is None or last is None or first["at"] > cutoff:
            continue
        error = error_from_code(
            last["error_code"] or "unexpected_error",
            {str(k): str(v) for k, v in (last["error_params"] or {}).items()},
        )
        who = employee.name or employee.login_id
        since = first["at"].astimezone(zone(company.timezone)).strftime("%Y-%m-%d %H:%M")
        problems.append(
            Problem(
                key=f"failing:{employee.pk}",
                kind="failing",
                threshold="",
                subject={
                    lang: _SUBJECTS["failing"][lang].format(
                        company=company.name, employee=who, hours=f"{hours:g}"
                    )
                    for lang in ("ja", "en")
                },
                body={
                    lang: error.user_message(lang)
                    + "\n"
                    + _TEXT[lang]["since"].format(since=since, code=error.code)
                    for lang in ("ja", "en")
                },
                hint={lang: error.hint(lang) for lang in ("ja", "en")},
                screen=_path("employee_edit", employee.pk),
            )
        )
    return problems


def company_problems(company: Company, now: datetime | None = None) -> list[Problem]:
    """Every problem of ``company`` a notice is due for (see the module docstring)."""
    now = now or timezone.now()
    cs = CompanySettings.objects.filter(company=company).first()
    problems: list[Problem] = []
    if cs is not None and cs.sync_enabled:
        expiry = _expiry_problem(company, cs, now)
        if expiry is not None:
            problems.append(expiry)
        credentials = _credentials_problem(company, cs)
        if credentials is not None:
            problems.append(credentials)
    problems.extend(_failing_problems(company, now))
    return problems


def _recipients(company: Company) -> list[tuple[str, str]]:
    """``(address, language)`` of the company's active administrators that have an address."""
    user_model = get_user_model()
    rows = Membership.objects.filter(company=company, role=Role.COMPANY_ADMIN).values_list(
        "user_id", "language"
    )
    languages = dict(rows)
    users = user_model.objects.filter(pk__in=list(languages), is_active=True).exclude(email="")
    return [(u.email, normalize_lang(languages.get(u.pk) or "ja")) for u in users.order_by("pk")]


def _message(company: Company, problem: Problem, lang: str) -> tuple[str, str]:
    text = _TEXT[lang]
    link = config.base_url() + problem.screen if problem.screen else ""
    parts = [
        text["greeting"].format(company=company.name),
        "",
        problem.body[lang],
        "",
        f"{text['fix']}:",
        problem.hint[lang],
    ]
    if link:
        parts += ["", f"{text['screen']}: {link}"]
    parts += ["", "--", text["footer"]]
    return problem.subject[lang], "\n".join(parts) + "\n"


def _deliver(company: Company, problem: Problem, recipients: Iterable[tuple[str, str]]) -> int:
    messages = []
    for address, lang in recipients:
        subject, body = _message(company, problem, lang)
        messages.append(EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [address]))
    if not messages:
        return 0
    with get_connection(fail_silently=False) as connection:
        return int(connection.send_messages(messages) or 0)


def send_notices(now: datetime | None = None) -> dict[str, int]:
    """Send the notices that are due and close those whose problem is gone; returns counts."""
    counts = {"sent": 0, "cleared": 0, "failed": 0}
    if not config.smtp_config().enabled:
        return counts
    now = now or timezone.now()
    for company in Company.objects.order_by("pk"):
        try:
            _notify_company(company, now, counts)
        except Exception:  # one company's bad data must not keep the others' notices back
            log.exception("notices of company %s could not be worked out", company.slug)
    return counts


def _notify_company(company: Company, now: datetime, counts: dict[str, int]) -> None:
    problems = company_problems(company, now)
    counts["cleared"] += (
        Notice.objects.filter(company=company, cleared_at__isnull=True)
        .exclude(problem__in=[p.key for p in problems])
        .update(cleared_at=now)
    )
    for problem in problems:
        if Notice.objects.filter(
            company=company, problem=problem.key, threshold=problem.threshold, cleared_at__isnull=True
        ).exists():
            continue
        try:
            with transaction.atomic():
                notice = Notice.objects.create(
                    company=company, problem=problem.key, threshold=problem.threshold, kind=problem.kind
                )
        except IntegrityError:  # another worker claimed it first
            continue
        recipients = _recipients(company)
        try:
            sent = _deliver(company, problem, recipients)
        except Exception as exc:
            notice.delete()
            counts["failed"] += 1
            log.warning(
                "notice %s of company %s not sent (%s: %s); tried again at the next run",
                problem.key,
                company.slug,
                type(exc).__name__,
                exc,
            )
            continue
        Notice.objects.filter(pk=notice.pk).update(recipients=sent)
        if not recipients:
            log.warning(
                "company %s has no administrator with a mail address: notice %s not sent",
                company.slug,
                problem.key,
            )
        else:
            log.info(
                "notice %s (%s) sent to %d administrators of %s",
                problem.key,
                problem.threshold or "-",
                sent,
                company.slug,
            )
        counts["sent"] += 1
