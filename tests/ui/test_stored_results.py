"""A stored "save and test" result is shown in full later, in the reader's language (C7, J1, L2)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from sfacal.directory.companies.models import Company, CompanySettings
from sfacal.directory.connections.models import SourceConnection, SourceKind

from .conftest import signed_in

pytestmark = pytest.mark.django_db


def test_c7_l2_stored_failure_keeps_its_parameters(company: Company, admin_user: object) -> None:
    CompanySettings.objects.filter(company=company).update(
        last_test_at=timezone.now(),
        last_test_ok=False,
        last_test_code="network_refused",
        last_test_params={"host": "login.microsoftonline.com"},
    )
    for lang, text in (("ja", "login.microsoftonline.com への接続が拒否されました"), ("en", "was refused")):
        page = signed_in(admin_user, lang).get(reverse("company_settings")).content.decode()
        assert text in page
        assert "login.microsoftonline.com" in page
        assert "(不明)" not in page and "(unknown)" not in page


def test_j1_l2_stored_source_failure_names_the_field(company: Company, admin_client: Client) -> None:
    SourceConnection.objects.create(
        company=company,
        kind=SourceKind.JUSTSFA,
        last_test_at=timezone.now(),
        last_test_ok=False,
        last_test_code="source_identifier_invalid",
        last_test_params={"field": "panel", "identifier": "panel_9", "source": "JUST.SFA"},
    )
    page = admin_client.get(reverse("justsfa")).content.decode()
    assert "panel_9" in page
