"""E-mail notices to company administrators, through a real SMTP server (aiosmtpd): 30/7/1 days
before a secret expires, consent or credentials lost, an employee failing too long; each once per
problem (sfacal.engine.notices)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from sfacal.directory.companies.models import Company, CompanySettings, Membership, Role
from sfacal.directory.companies.provisioning import ensure_company
from sfacal.directory.employees.models import Employee
from sfacal.engine import notices, tasks
from sfacal.engine.models import Notice, SyncLogEntry
from tests.ops.smtp import SmtpServer

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 6, 3, 0, tzinfo=UTC)
EXPIRES = datetime(2027, 1, 31, 15, 0, tzinfo=UTC)  # 2027-02-01 in Tokyo
JA, EN = "kanri@example.jp", "admin@example.com"


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch, settings: Any) -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    monkeypatch.setenv("SFACAL_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SFACAL_BASE_URL", "https://sync.example.jp/")
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = server.port
    settings.EMAIL_USE_TLS = False
    settings.DEFAULT_FROM_EMAIL = "sfacal@example.jp"
    yield server
    server.stop()


@pytest.fixture
def company() -> Company:
    c = ensure_company("akagi", "赤木商事")
    CompanySettings.objects.filter(company=c).update(
        sync_enabled=True, client_id="app-1", auth_method="secret", client_secret_expires_at=EXPIRES
    )
    users = get_user_model().objects
    for name, address, role, lang in (
        ("kanri", JA, Role.COMPANY_ADMIN, "ja"),
        ("admin", EN, Role.COMPANY_ADMIN, "en"),
        ("nomail", "", Role.COMPANY_ADMIN, "ja"),
        ("taro", "taro@example.jp", Role.EMPLOYEE, "ja"),
    ):
        user = users.create_user(name, email=address, password=None)
        Membership.objects.create(user=user, company=c, role=role, language=lang)
    other = ensure_company("other", "他社")
    stranger = users.create_user("stranger", email="s@example.org", password=None)
    Membership.objects.create(user=stranger, company=other, role=Role.COMPANY_ADMIN)
    return c


def subject(message: Any) -> str:
    return str(message["Subject"]).strip()


def log_line(
    company: Company, result: str, code: str = "", *, at: datetime, employee: Employee | None = None
) -> None:
    entry = SyncLogEntry.objects.create(
        company=company,
        employee=employee,
        login_id=employee.login_id if employee else "",
        trigger="webhook",
        operation="create",
        result=result,
        error_code=code,
    )
    SyncLogEntry.objects.filter(pk=entry.pk).update(at=at)


def test_notices_need_a_mail_server(company: Company, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SFACAL_SMTP_HOST", raising=False)
    assert notices.send_notices(EXPIRES - timedelta(days=1)) == {"sent": 0, "cleared": 0, "failed": 0}
    assert not Notice.objects.exists()


def test_secret_expiry_told_30_7_and_1_days_before_once_each(company: Company, smtp: SmtpServer) -> None:
    assert notices.send_notices(EXPIRES - timedelta(days=31))["sent"] == 0
    for days, threshold in ((29.5, "30"), (6.5, "7"), (0.5, "1")):
        at = EXPIRES - timedelta(days=days)
        assert notices.send_notices(at)["sent"] == 1, threshold
        assert notices.send_notices(at + timedelta(hours=1))["sent"] == 0  # once per threshold
        assert Notice.objects.filter(threshold=threshold, cleared_at=None).count() == 1
    assert len(smtp.mailbox.messages) == 6  # three notices, two administrators with an address
    ja = smtp.mailbox.to(JA)
    en = smtp.mailbox.to(EN)
    assert [subject(m) for m in ja] == [
        "[sfacal] 赤木商事: クライアントシークレットの有効期限まで残り 29 日",
        "[sfacal] 赤木商事: クライアントシークレットの有効期限まで残り 6 日",
        "[sfacal] 赤木商事: クライアントシークレットの有効期限まで残り 0 日",
    ]
    assert subject(en[0]) == "[sfacal] 赤木商事: the client secret expires in 29 days"
    body = smtp.mailbox.text(ja[0])
    assert "2027-02-01" in body  # the day in the company's zone
    assert "証明書とシークレット" in body  # the fix (L2 hint)
    assert "https://sync.example.jp/settings/" in body
    assert "Certificates & secrets" in smtp.mailbox.text(en[0])
    assert all(str(m["From"]) == "sfacal@example.jp" for m in smtp.mailbox.messages)
    assert not smtp.mailbox.to("taro@example.jp") and not smtp.mailbox.to("s@example.org")


def test_first_seen_with_five_days_left_gets_the_seven_day_notice_only(
    company: Company, smtp: SmtpServer
) -> None:
    assert notices.send_notices(EXPIRES - timedelta(days=5))["sent"] == 1
    assert list(Notice.objects.values_list("threshold", flat=True)) == ["7"]


def test_a_renewed_secret_clears_the_problem_and_its_expiry_is_told_again(
    company: Company, smtp: SmtpServer
) -> None:
    notices.send_notices(EXPIRES - timedelta(days=20))
    renewed = EXPIRES + timedelta(days=365)
    CompanySettings.objects.filter(company=company).update(client_secret_expires_at=renewed)
    counts = notices.send_notices(EXPIRES - timedelta(days=19))
    assert counts == {"sent": 0, "cleared": 1, "failed": 0}
    assert notices.send_notices(renewed - timedelta(days=10))["sent"] == 1
    assert Notice.objects.filter(cleared_at=None).get().problem == "client_secret_expiry:2028-02-01"


def test_certificate_expiry_when_the_company_signs_in_with_a_certificate(
    company: Company, smtp: SmtpServer
) -> None:
    CompanySettings.objects.filter(company=company).update(
        auth_method="certificate", certificate_expires_at=EXPIRES, client_secret_expires_at=None
    )
    notices.send_notices(EXPIRES - timedelta(days=3))
    assert subject(smtp.mailbox.to(EN)[0]) == "[sfacal] 赤木商事: the certificate expires in 3 days"


def test_consent_lost_told_once_and_again_after_it_came_back(company: Company, smtp: SmtpServer) -> None:
    CompanySettings.objects.filter(company=company).update(client_secret_expires_at=None)
    log_line(company, "success", at=NOW - timedelta(hours=3))
    log_line(company, "failure", "access_denied", at=NOW - timedelta(hours=2))
    log_line(company, "failure", "access_denied", at=NOW - timedelta(hours=1))
    assert notices.send_notices(NOW)["sent"] == 1
    assert notices.send_notices(NOW + timedelta(minutes=1))["sent"] == 0  # one per problem, not per failure
    ja = smtp.mailbox.to(JA)
    assert len(ja) == 1
    assert subject(ja[0]) == "[sfacal] 赤木商事: Microsoft 365 への接続が失敗しています"
    assert "Calendars.ReadWrite" in smtp.mailbox.text(ja[0])  # the hint: grant admin consent
    assert "Grant admin consent" in smtp.mailbox.text(smtp.mailbox.to(EN)[0])
    # fixed: the next write succeeds -> cleared; broken again -> told again
    log_line(company, "success", at=NOW + timedelta(minutes=2))
    assert notices.send_notices(NOW + timedelta(minutes=3))["cleared"] == 1
    log_line(company, "failure", "secret_invalid", at=NOW + timedelta(minutes=4))
    assert notices.send_notices(NOW + timedelta(minutes=5))["sent"] == 1
    assert Notice.objects.filter(problem="credentials").count() == 2
    assert len(smtp.mailbox.to(JA)) == 2


def test_a_failed_connection_test_after_the_last_write_counts(company: Company, smtp: SmtpServer) -> None:
    CompanySettings.objects.filter(company=company).update(client_secret_expires_at=None)
    log_line(company, "success", at=NOW - timedelta(hours=1))
    CompanySettings.objects.filter(company=company).update(
        last_test_at=NOW, last_test_ok=False, last_test_code="secret_invalid"
    )
    notices.send_notices(NOW + timedelta(minutes=1))
    assert "クライアントシークレット" in smtp.mailbox.text(smtp.mailbox.to(JA)[0])
    # a write failing for another reason (a mailbox) says nothing about the credentials
    CompanySettings.objects.filter(company=company).update(last_test_ok=True, last_test_code="")
    assert notices.send_notices(NOW + timedelta(minutes=2))["cleared"] == 1


def test_employee_failing_longer_than_the_setting(
    company: Company, smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    CompanySettings.objects.filter(company=company).update(client_secret_expires_at=None)
    monkeypatch.setenv("SFACAL_NOTICE_FAILING_HOURS", "24")
    emp = Employee.objects.create(
        company=company, login_id="hanako", name="花子", state="on", last_result="failed"
    )
    log_line(company, "success", at=NOW - timedelta(hours=30), employee=emp)
    log_line(company, "failure", "mailbox_not_found", at=NOW - timedelta(hours=20), employee=emp)
    log_line(company, "failure", "mailbox_not_found", at=NOW - timedelta(hours=1), employee=emp)
    assert notices.send_notices(NOW)["sent"] == 0  # failing for 20 hours only
    assert notices.send_notices(NOW + timedelta(hours=5))["sent"] == 1
    assert notices.send_notices(NOW + timedelta(hours=6))["sent"] == 0
    message = smtp.mailbox.to(JA)[0]
    assert subject(message) == "[sfacal] 赤木商事: 花子 さんの連携が 24 時間以上失敗しています"
    text = smtp.mailbox.text(message)
    assert "mailbox_not_found" in text and f"https://sync.example.jp/employees/{emp.pk}/" in text
    en = smtp.mailbox.text(smtp.mailbox.to(EN)[0])
    assert "First failure: 2026-12-05 16:00" in en  # in the company's zone (Tokyo)
    # the employee is fixed: cleared, and nothing more is sent
    Employee.objects.filter(pk=emp.pk).update(last_result="ok")
    assert notices.send_notices(NOW + timedelta(hours=7)) == {"sent": 0, "cleared": 1, "failed": 0}


def test_mail_server_down_keeps_the_notice_due(company: Company, smtp: SmtpServer) -> None:
    smtp.stop()
    counts = notices.send_notices(EXPIRES - timedelta(days=2))
    assert counts["failed"] == 1 and not Notice.objects.exists()
    smtp.restart()
    assert notices.send_notices(EXPIRES - timedelta(days=2))["sent"] == 1
    assert Notice.objects.get().recipients == 2


def test_one_open_notice_per_problem_is_a_database_rule(company: Company) -> None:
    Notice.objects.create(company=company, problem="credentials", threshold="", kind="credentials")
    with pytest.raises(IntegrityError), transaction.atomic():
        Notice.objects.create(company=company, problem="credentials", threshold="", kind="credentials")
    Notice.objects.update(cleared_at=NOW)
    Notice.objects.create(company=company, problem="credentials", threshold="", kind="credentials")


def test_the_minute_job_queues_the_notices_once_a_minute(company: Company) -> None:
    assert tasks.tick.call_local().get("notices") == 1
    again = tasks.tick.call_local()  # the same minute: the sweep (and the notices with it) claimed
    assert again is None or "notices" not in again


def test_notices_follow_the_language_of_the_last_sign_in(company: Company) -> None:
    from django.test import Client

    user = get_user_model().objects.create_user("eigo", email="eigo@example.com", password="x-Very-long-pw-1")
    membership = Membership.objects.create(user=user, company=company, role=Role.COMPANY_ADMIN)
    assert membership.language == "ja"
    signed_in = Client(HTTP_ACCEPT_LANGUAGE="en").post(
        "/accounts/signin/", {"username": "eigo", "password": "x-Very-long-pw-1"}
    )
    assert signed_in.status_code == 302
    membership.refresh_from_db()
    assert membership.language == "en"
    Client(HTTP_ACCEPT_LANGUAGE="ja").post(
        "/accounts/signin/", {"username": "eigo", "password": "x-Very-long-pw-1"}
    )
    membership.refresh_from_db()
    assert membership.language == "ja"
