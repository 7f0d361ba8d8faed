"""U1 (who may open what) and U2 (no company sees another's data)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from sfacal.directory.companies.models import BusinessName, Purpose, Role
from sfacal.directory.connections.models import ApiToken, SourceConnection, SourceKind, UserMapping
from sfacal.directory.employees.models import Employee, SyncState
from sfacal.engine.models import LogResult, SyncLogEntry, Trigger
from tests.ui.conftest import make_user

pytestmark = pytest.mark.django_db

ADMIN_ONLY = [
    "company_settings",
    "masters",
    "employees",
    "employee_new",
    "employee_import",
    "justsfa",
    "mappings",
    "api_tokens",
]


@pytest.mark.parametrize("name", ADMIN_ONLY)
def test_u1_employee_cannot_open_admin_screens(client_for, employee, name):
    response = client_for(employee.account).get(reverse(name))
    assert response.status_code == 403


@pytest.mark.parametrize("name", ADMIN_ONLY)
def test_u1_employee_cannot_post_to_admin_screens(client_for, employee, name):
    response = client_for(employee.account).post(reverse(name), {"sync_enabled": "1"})
    assert response.status_code == 403


def test_u1_employee_cannot_open_another_employees_settings(client_for, company, employee):
    colleague = Employee.objects.create(company=company, login_id="hanako", name="花子")
    client = client_for(employee.account)
    assert client.get(reverse("employee_edit", args=[colleague.pk])).status_code == 403
    assert client.post(reverse("employee_edit", args=[colleague.pk]), {"state": "on"}).status_code == 403
    assert client.post(reverse("employee_invite", args=[colleague.pk])).status_code == 403


def test_u1_anonymous_is_sent_to_sign_in(client, db):
    for name in ("dashboard", "company_settings", "logs", "personal_settings"):
        response = client.get(reverse(name))
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))


def test_u1_company_admin_cannot_manage_companies(admin_client):
    assert admin_client.get(reverse("companies")).status_code == 403
    assert admin_client.post(reverse("company_new"), {"slug": "x"}).status_code == 403


def test_u1_super_admin_creates_company_with_first_admin(client_for, db):
    root = make_user(None, "root", Role.SUPER_ADMIN)
    response = client_for(root).post(
        reverse("company_new"),
        {"slug": "beta", "name": "Beta", "timezone": "Asia/Tokyo", "admin_username": "beta-admin"},
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "/accounts/invitation/" in body
    from sfacal.directory.companies.models import Company, Membership

    company = Company.objects.get(slug="beta")
    membership = Membership.objects.get(user__username="beta-admin")
    assert membership.company == company and membership.role == Role.COMPANY_ADMIN
    assert Purpose.objects.for_company(company).count() == 9


def test_u1_employee_sees_only_own_log_lines(client_for, company, employee):
    colleague = Employee.objects.create(company=company, login_id="hanako", name="花子")
    for who, subject in ((employee, "own-line"), (colleague, "colleague-line")):
        SyncLogEntry.objects.create(
            company=company,
            employee=who,
            login_id=who.login_id,
            trigger=Trigger.BATCH,
            operation="create",
            result=LogResult.SUCCESS,
            subject=subject,
        )
    client = client_for(employee.account)
    body = client.get(reverse("logs")).content.decode()
    assert "own-line" in body and "colleague-line" not in body
    export = b"".join(client.get(reverse("log_export")).streaming_content).decode("utf-8")
    assert "own-line" in export and "colleague-line" not in export


def test_u1_personal_settings_hidden_when_not_allowed(client_for, company, employee):
    settings = company.sync_settings
    settings.personal_settings_allowed = False
    settings.save()
    client = client_for(employee.account)
    assert client.get(reverse("personal_settings")).status_code == 404
    assert reverse("personal_settings") not in client.get(reverse("dashboard")).content.decode()


def test_u1_personal_settings_hidden_when_forbidden(client_for, employee):
    employee.state = SyncState.FORBIDDEN
    employee.save()
    client = client_for(employee.account)
    assert client.get(reverse("personal_settings")).status_code == 404
    assert client.post(reverse("personal_settings"), {"sync": "1"}).status_code == 404
    assert reverse("personal_settings") not in client.get(reverse("logs")).content.decode()


def test_u2_other_companys_objects_are_not_found(admin_client, other_company, other_employee):
    source = SourceConnection.objects.create(company=other_company, kind=SourceKind.JUSTSFA, name="default")
    mapping = UserMapping.objects.create(
        company=other_company, source=source, name="J", external_user_id="u1", mail_address="j@other.example"
    )
    token, _raw = ApiToken.issue(other_company, "theirs")
    purpose = Purpose.objects.for_company(other_company).first()
    business = BusinessName.objects.for_company(other_company).first()
    checks = [
        admin_client.get(reverse("employee_edit", args=[other_employee.pk])),
        admin_client.post(
            reverse("employee_edit", args=[other_employee.pk]), {"login_id": "x", "state": "on"}
        ),
        admin_client.post(reverse("employee_invite", args=[other_employee.pk])),
        admin_client.post(reverse("mapping_row", args=[mapping.pk]), {"action": "delete"}),
        admin_client.post(reverse("api_token_revoke", args=[token.pk])),
        admin_client.post(reverse("master_row", args=["purpose", purpose.pk]), {"action": "delete"}),
        admin_client.post(reverse("master_row", args=["business", business.pk]), {"action": "delete"}),
    ]
    assert [r.status_code for r in checks] == [404] * len(checks)
    assert UserMapping.objects.filter(pk=mapping.pk).exists()
    token.refresh_from_db()
    assert token.revoked_at is None
    assert Purpose.objects.filter(pk=purpose.pk).exists()


def test_u2_bulk_change_ignores_other_companys_employees(admin_client, other_employee):
    response = admin_client.post(reverse("employee_bulk"), {"ids": [other_employee.pk], "state": "forbidden"})
    assert response.status_code == 302
    other_employee.refresh_from_db()
    assert other_employee.state != SyncState.FORBIDDEN


def test_u2_lists_show_only_own_company(admin_client, company, other_company, other_employee):
    SyncLogEntry.objects.create(
        company=other_company,
        employee=other_employee,
        login_id="jiro",
        trigger=Trigger.BATCH,
        operation="create",
        result=LogResult.FAILURE,
        subject="their-secret-meeting",
    )
    ApiToken.issue(other_company, "their-token")
    SourceConnection.objects.create(
        company=other_company, kind=SourceKind.JUSTSFA, name="default", config={"tenant": "theirtenant"}
    )
    pages = {
        "employees": "jiro",
        "logs": "their-secret-meeting",
        "dashboard": "their-secret-meeting",
        "api_tokens": "their-token",
        "justsfa": "theirtenant",
    }
    for name, foreign in pages.items():
        body = admin_client.get(reverse(name)).content.decode()
        assert foreign not in body, name
    export = b"".join(admin_client.get(reverse("log_export")).streaming_content).decode("utf-8")
    assert "their-secret-meeting" not in export


def test_u2_webhook_url_differs_per_company(client_for, company, other_company, admin_user):
    other_admin = make_user(other_company, "other-admin", Role.COMPANY_ADMIN)
    first = client_for(admin_user).get(reverse("justsfa")).context["webhook_url"]
    second = client_for(other_admin).get(reverse("justsfa")).context["webhook_url"]
    assert first != second and "/hooks/justsfa/" in first
