"""``sfacal check --connections`` against the real emulators over TLS (C7, J1, push write-back).

Both emulators run in threads of the test process from one data directory (one CA), and the product
trusts that CA through ``SFACAL_CA_BUNDLE``, as in the browser tests. The command runs in this process
(``sfacal.cli.main``) on the test database.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.utils import translation

from sfacal import cli
from sfacal.directory.companies.models import Company
from sfacal.directory.companies.provisioning import ensure_company
from sfacal.directory.connections.models import SourceConnection, SourceKind
from sfacal.emulators import justsfa as justsfa_emulator
from sfacal.emulators import m365 as m365_emulator
from sfacal.engine import loop
from sfacal.sources.justsfa.settings import OPTIONAL_FIELDS, REQUIRED_FIELDS

pytestmark = pytest.mark.django_db

JUSTSFA_TENANT = "checkco"
WRONG_SECRET = "wrong-secret-Zq8~value-that-must-never-be-printed"
API_KEY = "api-key-that-must-never-be-printed-7f3a"


@pytest.fixture
def emulators(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Any]]:
    with m365_emulator.running_emulator(tmp_path / "emu") as m365:
        monkeypatch.setenv("SFACAL_CA_BUNDLE", str(m365.ca_pem))
        loop.forget_services()
        with justsfa_emulator.running_emulator(tmp_path / "emu") as justsfa:
            yield m365, justsfa
        loop.forget_services()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def microsoft_365_company(m365: Any, slug: str, *, secret: str | None = None) -> tuple[Company, str]:
    """A company whose app is registered in its own emulated tenant; the app's real secret."""
    tenant = m365.control.create_tenant(f"{slug}.onmicrosoft.com")
    app = m365.control.create_app(tenant.id, permissions=("Calendars.ReadWrite",))
    company = ensure_company(slug, f"{slug.title()} Inc.")
    stored = company.sync_settings
    stored.sync_enabled = True
    stored.client_id = app.client_id
    stored.auth_method = "secret"
    stored.client_secret = secret or app.secret
    stored.token_endpoint = m365.token_url(tenant.id)
    stored.graph_base_url = m365.graph_url
    stored.domain = tenant.domain
    stored.save()
    return company, app.secret


def justsfa_connection(company: Company, justsfa: Any) -> None:
    setup = justsfa.control.setup_schedule(
        JUSTSFA_TENANT, users=[{"userId": "taro", "name": "山田太郎"}], api_key=API_KEY
    )
    fields = [name for name in (*REQUIRED_FIELDS, *OPTIONAL_FIELDS) if hasattr(setup, name)]
    SourceConnection.objects.create(
        company=company,
        kind=SourceKind.JUSTSFA,
        name="default",
        enabled=True,
        api_key=API_KEY,
        config={
            "tenant": setup.tenant,
            "base_url": justsfa.tenant_url(JUSTSFA_TENANT),
            "table": setup.table_id,
            "panel": setup.panel_id,
            "filter": setup.filter_id,
            **{name: getattr(setup, name) for name in fields},
        },
    )


def check_connections(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, lang: str
) -> tuple[int, str]:
    monkeypatch.setenv("LANG", "ja_JP.UTF-8" if lang == "ja" else "C.UTF-8")
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    monkeypatch.delenv("SFACAL_LOG_LEVEL", raising=False)
    try:
        status = cli.main(["check", "--connections"])
    finally:
        translation.activate(settings.LANGUAGE_CODE)
    captured = capsys.readouterr()
    return status, captured.out + captured.err


def block(output: str, heading: str) -> str:
    """The lines of one company's block."""
    lines = output.splitlines()
    start = lines.index(heading)
    end = start + 1
    while end < len(lines) and lines[end].startswith("  "):
        end += 1
    return "\n".join(lines[start:end])


def test_c7_j1_check_connections_passes_for_a_working_company(emulators, capsys, monkeypatch):
    m365, justsfa = emulators
    good, good_secret = microsoft_365_company(m365, "good")
    justsfa_connection(good, justsfa)
    status, output = check_connections(capsys, monkeypatch, "en")
    assert status == 0, output
    lines = block(output, "Company good (Good Inc.)").splitlines()
    assert lines[1] == "  ✓ Microsoft 365 app: Connection succeeded.", output
    assert lines[2].startswith("  ✓ JUST.SFA connection “default”: "), output
    assert len(lines) == 3, output
    assert good_secret not in output and API_KEY not in output
    good.sync_settings.refresh_from_db()
    assert good.sync_settings.last_test_ok is True  # recorded as the screen's button records it


def test_c7_check_connections_reports_a_wrong_secret_with_its_hint(emulators, capsys, monkeypatch):
    m365, justsfa = emulators
    good, good_secret = microsoft_365_company(m365, "good")
    justsfa_connection(good, justsfa)
    wrong, real_secret = microsoft_365_company(m365, "wrong", secret=WRONG_SECRET)
    push = SourceConnection.objects.create(
        company=wrong,
        kind=SourceKind.PUSH,
        name="default",
        callback_url=f"http://127.0.0.1:{closed_port()}/sfacal-callback",
        callback_secret="callback-signing-secret-never-printed",
    )
    status, output = check_connections(capsys, monkeypatch, "en")
    assert status == 1, output
    assert "Company good (Good Inc.)" in output and "✗" not in block(output, "Company good (Good Inc.)")
    wrong_block = block(output, "Company wrong (Wrong Inc.)")
    assert "  ✗ Microsoft 365 app: The client secret is invalid (AADSTS7000215)." in wrong_block
    assert "What to do: Check that you entered the secret's Value, not its Secret ID." in wrong_block
    assert "  ✗ Push API write-back callback: " in wrong_block
    assert output.rstrip().endswith("sfacal check: 2 checks failed")
    assert " INFO " not in output  # the report only, not the service's log lines
    for secret in (WRONG_SECRET, real_secret, good_secret, API_KEY, push.callback_secret):
        assert secret not in output
    wrong.sync_settings.refresh_from_db()
    assert wrong.sync_settings.last_test_ok is False
    assert wrong.sync_settings.last_test_code == "secret_invalid"


def test_c7_check_connections_speaks_japanese_in_a_japanese_locale(emulators, capsys, monkeypatch):
    m365, _justsfa = emulators
    microsoft_365_company(m365, "wrong", secret=WRONG_SECRET)
    status, output = check_connections(capsys, monkeypatch, "ja")
    assert status == 1
    wrong_block = block(output, "会社 wrong（Wrong Inc.）")
    assert (
        "  ✗ Microsoft 365 アプリ: クライアントシークレットが正しくありません（AADSTS7000215）。"
        in wrong_block
    )
    assert "対処方法: シークレットの「ID」ではなく「値」を入力しているか確認してください。" in wrong_block
    assert "What to do" not in output and "Connection" not in output
    assert WRONG_SECRET not in output


def test_check_connections_without_companies_is_not_a_problem(capsys, monkeypatch):
    status, output = check_connections(capsys, monkeypatch, "en")
    assert status == 0, output
    assert "No company yet: no connection to test." in output


def test_check_connections_lists_but_does_not_test_what_is_off(capsys, monkeypatch):
    company = ensure_company("fresh", "Fresh")
    SourceConnection.objects.create(company=company, kind=SourceKind.JUSTSFA, name="default", enabled=False)
    status, output = check_connections(capsys, monkeypatch, "en")
    assert status == 0, output
    assert block(output, "Company fresh (Fresh)") == (
        "Company fresh (Fresh)\n"
        "  - Microsoft 365 app: not set up and sync is off, not tested\n"
        "  - JUST.SFA connection “default”: turned off, not tested"
    )
