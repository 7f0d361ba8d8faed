"""L1 on the log screen: a line names its schedule (a line of an older deletion without a known
subject at least its record), shows its notes (a cut subject, wall-clock times read as RFC 5545
reads them) and when a postponed write is tried again -- in Japanese and English, and in the CSV."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.urls import reverse
from django.utils.html import escape

from sfacal.core.errors import ThrottledError
from sfacal.core.schedule import SourceRef
from sfacal.engine.context import load_context
from sfacal.engine.loglines import insert_log_lines, log_line
from sfacal.engine.models import LogResult, Trigger

MAILBOX = "taro@acme.onmicrosoft.com"
DUE = datetime(2026, 11, 24, 1, 0, 30, tzinfo=UTC)  # 10:00:30 in Tokyo, the company's zone

TEXTS = {
    "ja": {
        "retry": "2026-11-24 10:00:30 に自動で再試行します",
        "cut": "件名がカレンダーには長すぎるため短縮しました。全文は予定の本文の先頭にあります",
        "gap": "開始 2026-03-08 02:30 は America/New_York では存在しない時刻です",
        "record": "レコード push:R-OLD",
    },
    "en": {
        "retry": "Tried again automatically at 2026-11-24 10:00:30",
        "cut": "The subject was too long for the calendar and was shortened",
        "gap": "The start 2026-03-08 02:30 does not exist in America/New_York",
        "record": "Record push:R-OLD",
    },
}


def _lines(company, employee) -> None:
    ctx = load_context(company.pk)
    common = {
        "employee_id": employee.pk,
        "login_id": employee.login_id,
        "mailbox": MAILBOX,
    }
    postponed = log_line(
        ctx,
        trigger=Trigger.PUSH,
        operation="create",
        result=LogResult.WARNING,
        ref=SourceRef("acme", "push", "R-1"),
        subject="赤木電機/定期訪問",
        error=ThrottledError("429", retry_after=30),
        next_attempt_at=DUE,
        **common,
    )
    cut = log_line(
        ctx,
        trigger=Trigger.PUSH,
        operation="create",
        result=LogResult.WARNING,
        ref=SourceRef("acme", "push", "R-2"),
        subject="長" * 254 + "…",
        params={
            "subject_shortened": "1",
            "start_issue": "gap",
            "start_received": "2026-03-08 02:30",
            "start_written": "2026-03-08 03:30 (UTC-04:00)",
            "timezone": "America/New_York",
        },
        message="sync",
        **common,
    )
    old_deletion = log_line(
        ctx,
        trigger=Trigger.PUSH,
        operation="delete",
        result=LogResult.SUCCESS,
        ref=SourceRef("acme", "push", "R-OLD"),
        message="schedule_deleted",
        **common,
    )
    insert_log_lines([postponed, cut, old_deletion])


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_l1_log_screen_shows_retry_time_notes_and_the_record(client_for, admin_user, company, employee, lang):
    _lines(company, employee)
    response = client_for(admin_user, lang).get(reverse("logs"))
    assert response.status_code == 200
    body = response.content.decode()
    for text in TEXTS[lang].values():
        assert escape(text) in body, text
    assert 'class="log-retry"' in body and 'class="log-note"' in body


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_l1_csv_export_has_the_next_attempt_and_the_notes(client_for, admin_user, company, employee, lang):
    _lines(company, employee)
    response = client_for(admin_user, lang).get(reverse("log_export"))
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    header = text.splitlines()[0]
    assert header.endswith("次回の再試行" if lang == "ja" else "Next attempt")
    assert "2026-11-24 10:00:30" in text
    assert TEXTS[lang]["cut"] in text and TEXTS[lang]["gap"] in text
