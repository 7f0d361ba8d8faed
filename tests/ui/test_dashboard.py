"""The dashboard (L3) lists each connection once."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from sfacal.directory.connections.models import ApiToken, SourceConnection, SourceKind

pytestmark = pytest.mark.django_db


def test_l3_push_api_is_one_row_with_its_tokens_and_its_write_back_test(admin_client, company):
    SourceConnection.objects.create(company=company, kind=SourceKind.JUSTSFA, name="default")
    SourceConnection.objects.create(
        company=company,
        kind=SourceKind.PUSH,
        name="push",
        last_test_at=timezone.now(),
        last_test_ok=False,
        last_test_code="callback_unauthorized",
    )
    ApiToken.objects.create(company=company, name="SFA", prefix="sfc_abc", token_hash="x" * 64)
    body = admin_client.get(reverse("dashboard")).content.decode()
    assert body.count("プッシュAPI") == 2  # the navigation and one row of the connections table
    assert "プッシュAPI（Sales Force Assistant ほか）" not in body
    row = body[body.index('<tr class="push-row">') :]
    row = row[: row.index("</tr>")]
    assert "有効なトークン 1 件" in row and 'class="badge bad"' in row
    assert body.count('<td><a href="/justsfa/">JUST.SFA</a>') == 1


def test_l3_push_api_row_without_a_push_connection(admin_client, company):
    body = admin_client.get(reverse("dashboard")).content.decode()
    assert body.count('<tr class="push-row">') == 1
