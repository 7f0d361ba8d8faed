"""Every screen renders in Japanese and in English."""

from __future__ import annotations

import pytest
from django.urls import reverse

from sfacal.directory.companies.models import Role
from sfacal.engine.models import LogResult, SyncLogEntry, Trigger
from tests.ui.conftest import make_user

pytestmark = pytest.mark.django_db

ADMIN_PAGES = [
    ("dashboard", {"ja": "ダッシュボード", "en": "Dashboard"}),
    ("company_settings", {"ja": "共通認証情報", "en": "Shared credentials"}),
    ("masters", {"ja": "商談目的", "en": "Purposes"}),
    ("employees", {"ja": "社員", "en": "Employees"}),
    ("employee_new", {"ja": "連携先カレンダー", "en": "Target calendar"}),
    ("employee_import", {"ja": "CSV", "en": "CSV"}),
    ("justsfa", {"ja": "Webhook", "en": "Webhook"}),
    ("mappings", {"ja": "JUST.SFAユーザーID", "en": "JUST.SFA user ID"}),
    ("api_tokens", {"ja": "トークン", "en": "token"}),
    ("logs", {"ja": "ログ", "en": "Log"}),
]


@pytest.mark.parametrize("lang", ["ja", "en"])
@pytest.mark.parametrize(("name", "texts"), ADMIN_PAGES)
def test_admin_screens_render(client_for, admin_user, employee, name, texts, lang):
    client = client_for(admin_user, lang)
    response = client.get(reverse(name))
    assert response.status_code == 200, response.content[:500]
    body = response.content.decode()
    assert f'<html lang="{lang}">' in body
    assert texts[lang] in body
    assert "Content-Security-Policy" in response.headers


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_employee_edit_renders(client_for, admin_user, employee, lang):
    response = client_for(admin_user, lang).get(reverse("employee_edit", args=[employee.pk]))
    assert response.status_code == 200
    assert ("連携確認" if lang == "ja" else "Check the link") in response.content.decode()


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_personal_settings_render(client_for, employee, lang):
    response = client_for(employee.account, lang).get(reverse("personal_settings"))
    assert response.status_code == 200
    body = response.content.decode()
    assert ("スケジュール連携設定" if lang == "ja" else "Schedule sync settings") in body
    pseudo = ("*未選択*", "*マスタ設定値以外*") if lang == "ja" else ("*None chosen*", "*Not in the master*")
    assert pseudo[0] in body and pseudo[1] in body


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_super_admin_screens_render(client_for, db, lang):
    root = make_user(None, "root", Role.SUPER_ADMIN)
    client = client_for(root, lang)
    assert client.get(reverse("home")).url == reverse("companies")
    for name in ("companies", "company_new"):
        response = client.get(reverse(name))
        assert response.status_code == 200
        assert ("会社" if lang == "ja" else "compan") in response.content.decode().lower()


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_sign_in_renders(client, db, lang):
    response = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE=lang)
    assert response.status_code == 200
    assert ("ログイン" if lang == "ja" else "Sign in") in response.content.decode()


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_l2_log_shows_hint_in_viewer_language(client_for, admin_user, employee, company, lang):
    SyncLogEntry.objects.create(
        company=company,
        employee=employee,
        login_id="taro",
        mailbox="taro@acme.onmicrosoft.com",
        trigger=Trigger.WEBHOOK,
        operation="create",
        result=LogResult.FAILURE,
        error_code="mailbox_not_found",
        message="ErrorNonExistentMailbox",
    )
    body = client_for(admin_user, lang).get(reverse("logs")).content.decode()
    if lang == "ja":
        assert "ユーザーIDが誤っている可能性があります" in body
    else:
        assert "The user ID is probably wrong" in body
    assert "taro@acme.onmicrosoft.com" in body
