"""L2: the administrator guides list every error exactly as the product shows it.

The troubleshooting table between the ``errors:begin`` / ``errors:end`` markers of
``docs/admin-guide.{ja,en}.md`` is generated from :mod:`sfacal.core.errors`; regenerate it with::

    .venv/bin/python -m tests.ui.test_admin_guide ja   # or en
"""

from __future__ import annotations

import sys
from pathlib import Path

import django
import pytest

from sfacal.core.errors import ERROR_TYPES
from sfacal.core.expiry import CredentialKind, ExpiringCredentialWarning

DOCS = Path(__file__).resolve().parents[2] / "docs"
BEGIN, END = "<!-- errors:begin -->", "<!-- errors:end -->"

# Example values for the placeholders of the messages, as a log line would carry them.
EXAMPLE = {
    "mailbox": "taro@example.onmicrosoft.com",
    "calendar": "営業",
    "source": "justsfa",
    "host": "login.microsoftonline.com",
    "field": "title_field",
    "identifier": "field_1638871565",
    "tenant": "fsz2",
    "status": "503",
    "expires_at": "2025-12-31",
    "retry_after": "30",
    "reason": "is required",
    "reason_ja": "入力してください",
    "login_id": "taro",
    "setting": "client_id",
    "client_id": "117538206583542215305",
    "project": "sfacal-calendar",
    "service": "CalDAV",
}
HEAD = {
    "ja": "| コード | 画面・ログに表示されるメッセージ | 対処方法（ヒント） |\n| --- | --- | --- |",
    "en": "| code | message shown on the screens and in the log | what to do (hint) |\n| --- | --- | --- |",
}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_table(lang: str) -> str:
    rows = [HEAD[lang]]
    for code in sorted(ERROR_TYPES):
        error = ERROR_TYPES[code].from_params(EXAMPLE)
        rows.append(f"| `{code}` | {_cell(error.user_message(lang))} | {_cell(error.hint(lang))} |")
    for kind in CredentialKind:
        import datetime as dt

        for days, code in ((12, "credential_expiring_soon"), (-1, "credential_expired")):
            warning = ExpiringCredentialWarning(kind, dt.datetime(2025, 12, 31, tzinfo=dt.UTC), days)
            rows.append(f"| `{code}` | {_cell(warning.user_message(lang))} | {_cell(warning.hint(lang))} |")
    return "\n".join(rows)


def _block(text: str) -> str:
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    return text[start:end].strip()


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_l2_admin_guide_lists_every_error_and_hint(lang):
    guide = (DOCS / f"admin-guide.{lang}.md").read_text(encoding="utf-8")
    assert _block(guide) == render_table(lang)
    for cls in ERROR_TYPES.values():
        assert cls.from_params(EXAMPLE).hint(lang) in guide


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_l2_admin_guide_covers_the_first_manuals_rows(lang):
    guide = (DOCS / f"admin-guide.{lang}.md").read_text(encoding="utf-8")
    for marker in (
        "The SMTP address has no mailbox associated with it",
        "AADSTS70001",
        "AADSTS50012",
        "AADSTS50064",
        "AADSTS90002",
        "AADSTS7000215",
        "AADSTS7000222",
        "Calendars.ReadWrite",
        "MailboxNotEnabledForRESTAPI",
    ):
        assert marker in guide, marker


if __name__ == "__main__":  # pragma: no cover - a maintenance helper
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sfacal.web.settings")
    django.setup()
    print(render_table(sys.argv[1] if len(sys.argv) > 1 else "ja"))
