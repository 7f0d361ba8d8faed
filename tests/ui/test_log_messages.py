"""L1: a log line without an error code reads as a sentence in the reader's language.

The engine stores the planner's reason code (``sync``, ``excluded`` ...) as the message of a
calendar write or a skip, and short English texts for reconciliation, two-way sync and the
sources; the log screen, the dashboard and the CSV export show them translated, never the raw code.
"""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils.html import escape

from sfacal.core.policy import Reason
from sfacal.core.schedule import SourceRef
from sfacal.engine.context import load_context
from sfacal.engine.loglines import insert_log_lines, log_line
from sfacal.engine.models import LogResult, SyncLogEntry, Trigger
from sfacal.web.logs import presenters
from sfacal.web.logs.presenters import describe

MAILBOX = "taro@acme.onmicrosoft.com"

CREATED = {"ja": "作成しました（連携）", "en": "Created (sync)"}
EXCLUDED = {
    "ja": "対象外の設定に該当するため連携しません",
    "en": "Not synced: excluded by the exclusion rules",
}
CREATE_OP = {"ja": "予定の作成", "en": "Create event"}
SKIP_OP = {"ja": "書き込みなし", "en": "No calendar write"}


def _engine_lines(company, employee, **extra_params):
    """A create line as the Recorder writes it (message = the operation's reason) and a skip line as
    the pass writes it for an excluded purpose (message = the outcome's reason)."""
    ctx = load_context(company.pk)
    ref = SourceRef("acme", "justsfa", "R-1")
    create = log_line(
        ctx,
        trigger=Trigger.WEBHOOK,
        operation="create",
        result=LogResult.SUCCESS,
        employee_id=employee.pk,
        login_id=employee.login_id,
        mailbox=MAILBOX,
        calendar_name="営業",
        ref=ref,
        subject="赤木電機/定期訪問",
        message=Reason.SYNC.value,
    )
    skip = log_line(
        ctx,
        trigger=Trigger.WEBHOOK,
        operation="skip",
        result=LogResult.SKIPPED,
        employee_id=employee.pk,
        login_id=employee.login_id,
        ref=SourceRef("acme", "justsfa", "R-2"),
        subject="青木商事/情報提供",
        message=Reason.EXCLUDED.value,
    )
    skip.error_params = dict(extra_params)
    insert_log_lines([create, skip])


def _message_cells(body: str) -> list[str]:
    cells = body.split('<td class="log-msg small">')[1:]
    return [cell.split("</td>")[0] for cell in cells]


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_l1_p3_create_and_excluded_skip_lines_read_as_sentences(
    client_for, admin_user, company, employee, lang
):
    _engine_lines(company, employee)
    response = client_for(admin_user, lang).get(reverse("logs"))
    assert response.status_code == 200
    messages = {line.entry.operation: line.message for line in response.context["lines"]}
    assert messages == {"create": CREATED[lang], "skip": EXCLUDED[lang]}
    body = response.content.decode()
    assert escape(CREATED[lang]) in body and escape(EXCLUDED[lang]) in body
    assert escape(CREATE_OP[lang]) in body and escape(SKIP_OP[lang]) in body
    for cell in _message_cells(body):  # the raw reason codes are not shown
        assert '<div class="log-message">sync</div>' not in cell
        assert '<div class="log-message">excluded</div>' not in cell
    assert "青木商事/情報提供" in body


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_l1_u1_employee_sees_own_lines_translated(client_for, company, employee, lang):
    _engine_lines(company, employee)
    body = client_for(employee.account, lang).get(reverse("logs")).content.decode()
    assert escape(CREATED[lang]) in body and escape(EXCLUDED[lang]) in body
    assert 'class="log-label"' in body and 'class="logtable"' in body  # the phone card layout


@pytest.mark.parametrize(
    ("key", "value", "lang", "text"),
    [
        ("purpose", "情報提供", "ja", "対象外の設定に該当するため連携しません（商談目的: 情報提供）"),
        ("purpose", "情報提供", "en", "Not synced: excluded by the exclusion rules (purpose 情報提供)"),
        ("business_name", "会議", "ja", "対象外の設定に該当するため連携しません（業務名: 会議）"),
        ("business_name", "会議", "en", "Not synced: excluded by the exclusion rules (business name 会議)"),
    ],
)
def test_l1_p3_excluded_line_names_the_excluded_value_when_stored(company, employee, key, value, lang, text):
    _engine_lines(company, employee, **{key: value})
    skip = SyncLogEntry.objects.get(operation="skip")
    assert describe(skip, lang).message == text


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_l1_csv_export_has_the_sentences(client_for, admin_user, company, employee, lang):
    _engine_lines(company, employee)
    response = client_for(admin_user, lang).get(reverse("log_export"))
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    assert CREATED[lang] in text and EXCLUDED[lang] in text and CREATE_OP[lang] in text
    assert ",sync," not in text and ",excluded," not in text


def test_l1_every_reason_and_operation_has_a_label():
    assert set(presenters.REASONS) == set(Reason)
    for operation in ("create", "update", "delete", "recreate", "skip", "resolve", "plan"):
        assert operation in presenters.OPERATIONS
    assert set(presenters.DONE) <= set(presenters.OPERATIONS)


def _line(operation: str, message: str, result: str = LogResult.SUCCESS) -> SyncLogEntry:
    return SyncLogEntry(
        operation=operation, result=result, message=message, trigger=Trigger.BATCH, error_params={}
    )


@pytest.mark.parametrize("reason", list(Reason))
@pytest.mark.parametrize("operation", ["create", "update", "delete", "recreate", "skip"])
@pytest.mark.parametrize("lang", ["ja", "en"])
def test_l1_no_reason_code_is_shown_raw(reason, operation, lang):
    result = LogResult.SKIPPED if operation == "skip" else LogResult.SUCCESS
    shown = describe(_line(operation, reason.value, result), lang)
    assert shown.message and shown.message != reason.value
    assert reason.value not in shown.message or "_" not in reason.value
    if lang == "ja":
        assert shown.message.isascii() is False


@pytest.mark.parametrize(
    ("operation", "message", "ja", "en"),
    [
        ("update", "sync", "更新しました（連携）", "Updated (sync)"),
        (
            "delete",
            "excluded",
            "削除しました（対象外の設定に該当）",
            "Deleted (excluded by the exclusion rules)",
        ),
        (
            "recreate",
            "recreate_lost",
            "再作成しました（カレンダーで削除後、SFAで変更）",
            "Re-created (deleted in the calendar, changed in the SFA since)",
        ),
        (
            "skip",
            "frozen_actual",
            "「実績」になったため更新しません（カレンダーの予定はそのまま残ります）",
            "Not updated: the plan became an actual; its event stays as it was",
        ),
        ("adopt", "found event AAMk-1 in the calendar", "カレンダーにあった予定を引き継ぎました", None),
        (
            "moved",
            "moved to the calendar 私用 in Outlook: put back into the target calendar",
            "Outlook でカレンダー「私用」に移動されたため、連携先カレンダーに戻します",
            "Moved to the calendar 私用 in Outlook: the event is put back into the target calendar",
        ),
        (
            "remove_duplicate",
            "2 duplicate(s) removed",
            "重複した予定を 2 件削除しました",
            "2 duplicate events removed",
        ),
        (
            "remove_orphan",
            "1 event(s) of justsfa:R-9 with no mirror row removed",
            "連携の記録がない justsfa:R-9 の予定を 1 件削除しました",
            "1 event of justsfa:R-9 without a sync record removed",
        ),
        (
            "write_back",
            "T1: subject, span written back to the SFA record (the SFA had a newer change meanwhile)",
            "SFAに反映しました: 件名、日時。その間にSFAでより新しい変更がありました",
            "Written back to the SFA: subject, date and time; the SFA had a newer change meanwhile",
        ),
        ("receive", "ADD_RECORD accepted", "変更を受信しました（新規登録）", "Change received (new record)"),
        (
            "receive",
            "UPDATE_RECORD duplicate; participants without a user mapping (kept, synced once mapped): jiro",
            "同じ内容を再度受信したため、処理しません（変更）。ユーザー対応表にない参加者は保存し、対応付けの後に連携します: jiro",
            None,
        ),
        ("test", "test send received", "テスト送信を受信しました", "Test send received"),
        ("create", "something the presenter does not know", None, None),
    ],
)
def test_l1_known_texts_are_translated_and_unknown_ones_kept(operation, message, ja, en):
    line = _line(operation, message)
    assert describe(line, "ja").message == (ja or message)
    assert describe(line, "en").message == (en or describe(line, "en").message)
    if en is None and ja is None:
        assert describe(line, "en").message == message


def test_l2_error_lines_keep_their_rehydrated_message():
    line = _line("create", "ErrorNonExistentMailbox", LogResult.FAILURE)
    line.error_code = "mailbox_not_found"
    line.mailbox = MAILBOX
    shown = describe(line, "en")
    assert MAILBOX in shown.message and shown.hint and shown.detail == "ErrorNonExistentMailbox"
    assert shown.operation == "Create event" and describe(line, "ja").operation == "予定の作成"
