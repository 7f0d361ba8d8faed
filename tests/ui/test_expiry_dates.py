"""C6/L3: a certificate's expiry is one date everywhere -- the day in the company's time zone on the
company settings screen, in the dashboard's warning and in `sfacal check --connections`."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from sfacal.web.ops import connection_report
from tests.ui.conftest import make_pfx

pytestmark = pytest.mark.django_db

ZONE = "America/Los_Angeles"  # UTC-7/-8: 03:00 UTC is the evening before


@pytest.fixture
def expired_certificate(company):
    """A certificate that expired two days ago at 03:00 UTC, stored as the company's credentials."""
    utc_day = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=2)
    not_after = dt.datetime.combine(utc_day, dt.time(3, 0), tzinfo=dt.UTC)
    pfx, thumbprint = make_pfx(not_after=not_after)
    company.timezone = ZONE
    company.save()
    settings = company.sync_settings
    settings.client_id = "00000000-0000-0000-0000-000000000001"
    settings.token_endpoint = "https://login.microsoftonline.com/acme.onmicrosoft.com/oauth2/v2.0/token"
    settings.auth_method = "certificate"
    settings.certificate_pfx = pfx
    settings.certificate_password = "pfx-pass"
    settings.certificate_thumbprint = thumbprint.hex().upper()
    settings.certificate_expires_at = not_after
    settings.save()
    local_day = (utc_day - dt.timedelta(days=1)).isoformat()
    return local_day, utc_day.isoformat()


def test_c6_certificate_expiry_is_the_companys_day_on_every_screen_and_the_command_line(
    admin_client, expired_certificate
):
    local_day, utc_day = expired_certificate
    page = admin_client.get(reverse("company_settings")).content.decode()
    dashboard = admin_client.get(reverse("dashboard")).content.decode()
    lines: list[str] = []
    connection_report.report(lines.append)
    printed = "\n".join(lines)
    for text in (page, dashboard, printed):
        assert local_day in text
        assert utc_day not in text
