"""Pages that show a new token, a secret or an invitation link are never stored by a browser or a
proxy cache (``Cache-Control: no-store``); static files stay cacheable."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from sfacal.directory.companies.models import Role
from sfacal.directory.connections.models import SourceConnection, SourceKind
from sfacal.web.accounts.invitations import invitation_path
from tests.ui.conftest import make_user, signed_in

pytestmark = pytest.mark.django_db


def assert_no_store(response) -> None:
    assert response.status_code in (200, 302), response.status_code
    assert "no-store" in response.headers.get("Cache-Control", ""), response.headers


def test_new_api_token_page_is_not_stored(admin_client):
    response = admin_client.post(reverse("api_tokens"), {"name": "SFA"})
    assert re.search(r"sfa_[A-Za-z0-9_-]{20,}", response.content.decode())
    assert_no_store(response)


def test_webhook_url_pages_are_not_stored(admin_client, company):
    source = SourceConnection.objects.create(company=company, kind=SourceKind.JUSTSFA, name="default")
    page = admin_client.get(reverse("justsfa"))
    assert source.webhook_token in page.content.decode()
    assert_no_store(page)
    assert_no_store(admin_client.post(reverse("webhook_regenerate")))


def test_push_connection_page_is_not_stored(admin_client):
    assert_no_store(admin_client.get(reverse("push_connection")))


def test_invitation_link_pages_are_not_stored(admin_client, employee, company):
    invite = admin_client.post(reverse("employee_invite", args=[employee.pk]))
    assert "/accounts/invitation/" in invite.content.decode()
    assert_no_store(invite)
    root = signed_in(make_user(None, "root", Role.SUPER_ADMIN))
    created = root.post(
        reverse("company_new"),
        {"slug": "beta", "name": "Beta", "timezone": "Asia/Tokyo", "admin_username": "beta-admin"},
    )
    assert "/accounts/invitation/" in created.content.decode()
    assert_no_store(created)
    assert_no_store(signed_in(employee.account).get(reverse("personal_settings")))


def test_the_invitation_page_itself_is_not_stored(client, employee):
    assert_no_store(client.get(invitation_path(employee.account)))


def test_company_settings_page_is_not_stored(admin_client):
    assert_no_store(admin_client.get(reverse("company_settings")))
