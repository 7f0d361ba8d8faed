"""L1/L2: a log line keeps its error's parameters, so the log screen shows the whole message and hint
(host, field, status ...) in the reader's language; lines written before they were kept still render."""

from __future__ import annotations

import json

import httpx
import pytest
from django.db import connection as db
from django.urls import reverse
from django.utils.html import escape

from sfacal.core.errors import (
    InputError,
    MailboxNotFoundError,
    NetworkDnsError,
    NetworkTlsError,
    SfacalError,
    SourceIdentifierError,
    error_from_code,
    log_params,
)
from sfacal.core.schedule import SourceRef
from sfacal.directory.connections.models import SourceConnection, SourceKind
from sfacal.engine.context import load_context
from sfacal.engine.loglines import insert_log_lines, log_line
from sfacal.engine.models import LogResult, SyncLogEntry, Trigger
from sfacal.sources.push.writeback import WriteBackPayload, deliver_write_back
from sfacal.web.logs.presenters import describe

UNKNOWN = ("(unknown)", "（不明）")
HOST = "graph.microsoft.com"


def _screen(client_for, user, lang: str) -> str:
    response = client_for(user, lang).get(reverse("logs"))
    assert response.status_code == 200
    return response.content.decode()


def _shows(page: str, error: SfacalError, lang: str) -> None:
    assert escape(error.user_message(lang)) in page
    assert escape(error.hint(lang)) in page
    for unknown in UNKNOWN:
        assert unknown not in page


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_l2_engine_line_keeps_a_param_no_column_holds(client_for, admin_user, company, employee, lang):
    """``network_tls`` names the host in its message and hint: no log column holds it."""
    error = NetworkTlsError("certificate verify failed", host=HOST)
    ctx = load_context(company.pk)
    insert_log_lines(  # the raw executemany path (write-ahead, two-way)
        [
            log_line(
                ctx,
                trigger=Trigger.BATCH,
                operation="create",
                result=LogResult.WARNING,
                employee_id=employee.pk,
                login_id=employee.login_id,
                mailbox="taro@acme.onmicrosoft.com",
                ref=SourceRef("acme", "push", "S-1"),
                error=error,
            )
        ]
    )
    line = SyncLogEntry.objects.get()
    assert line.error_params == {"host": HOST}
    page = _screen(client_for, admin_user, lang)
    _shows(page, error, lang)
    assert HOST in error.user_message(lang)


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_l2_orm_saved_line_keeps_its_params(client_for, admin_user, company, lang):
    """``source_identifier_invalid`` needs the identifier and the field (reconciliation saves lines
    with the ORM)."""
    error = SourceIdentifierError("panel unknown", source="justsfa", identifier="panel_17", field="panel")
    log_line(
        load_context(company.pk),
        trigger=Trigger.POLL,
        operation="list",
        result=LogResult.FAILURE,
        ref=SourceRef("acme", "justsfa", "7"),
        error=error,
    ).save()
    page = _screen(client_for, admin_user, lang)
    _shows(page, error, lang)
    assert "panel_17" in error.user_message(lang)


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_l2_write_back_failure_names_the_host_and_status(client_for, admin_user, company, lang):
    conn = SourceConnection.objects.create(
        company=company,
        kind=SourceKind.PUSH,
        callback_url="https://erp.example.com/sfa/writeback?token=abc",
        callback_secret="signing-secret-1",
    )
    payload = WriteBackPayload(
        source_id="S-1",
        changed_fields=("subject",),
        calendar={"subject": "x"},
        event_id="AAMk",
        mailbox="t@x",
    )
    transport = httpx.MockTransport(lambda request: httpx.Response(401, text="bad signature"))
    with httpx.Client(transport=transport) as http:
        result = deliver_write_back(conn, payload, client=http, sleep=lambda s: None)
    assert not result.delivered
    line = SyncLogEntry.objects.get(operation="writeback")
    assert line.error_code == "callback_unauthorized"
    assert line.error_params == {"host": "erp.example.com", "status": "401"}
    expected = error_from_code("callback_unauthorized", {"host": "erp.example.com", "status": "401"})
    page = _screen(client_for, admin_user, lang)
    _shows(page, expected, lang)
    assert "signing-secret-1" not in page and "token=abc" not in page


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_l2_old_line_without_params_still_renders(client_for, admin_user, company, employee, lang):
    SyncLogEntry.objects.create(  # written before error_params: the columns fill the message
        company=company,
        employee=employee,
        login_id=employee.login_id,
        mailbox="ghost@acme.onmicrosoft.com",
        trigger=Trigger.BATCH,
        operation="create",
        result=LogResult.FAILURE,
        error_code="mailbox_not_found",
    )
    SyncLogEntry.objects.create(  # a param no column holds: the placeholder, as before
        company=company,
        trigger=Trigger.BATCH,
        operation="create",
        result=LogResult.WARNING,
        error_code="network_dns",
    )
    with db.cursor() as cursor:  # a JSON null (not the default {}) must not break the screen either
        cursor.execute(
            f"UPDATE {SyncLogEntry._meta.db_table} SET error_params = %s WHERE error_code = %s",
            ["null", "network_dns"],
        )
    page = _screen(client_for, admin_user, lang)
    mailbox = MailboxNotFoundError(mailbox="ghost@acme.onmicrosoft.com")
    assert escape(mailbox.user_message(lang)) in page and escape(mailbox.hint(lang)) in page
    assert escape(NetworkDnsError().user_message(lang)) in page
    assert UNKNOWN[0 if lang == "en" else 1] in page
    export = client_for(admin_user, lang).get(reverse("log_export"))
    text = b"".join(export.streaming_content).decode("utf-8-sig")
    assert mailbox.user_message(lang) in text


def test_l2_stored_params_win_over_columns_and_columns_fill_gaps(company):
    entry = SyncLogEntry(
        company=company,
        login_id="taro",
        mailbox="taro@acme.onmicrosoft.com",
        calendar_name="営業",
        error_code="calendar_not_found",
        error_params={"calendar": "訪問予定"},
    )
    line = describe(entry, "en")
    assert line.message == 'The mailbox taro@acme.onmicrosoft.com has no calendar named "訪問予定".'
    old = SyncLogEntry(company=company, login_id="hanako", error_code="unknown_participant")
    assert "hanako" in describe(old, "ja").message


def test_l2_input_error_fields_survive_the_round_trip(company):
    error = InputError("starts_at", "is not a date", reason_ja="日付ではありません")
    entry = SyncLogEntry(company=company, error_code=error.code, error_params=log_params(error))
    assert describe(entry, "ja").message == error.user_message("ja")
    assert describe(entry, "en").message == "Invalid input (starts_at): is not a date"


def test_l2_log_params_are_json_safe_and_without_secrets():
    error = NetworkDnsError(
        "lookup failed for s3cret-value", host="s3cret-value.example.com", secrets=["s3cret-value"]
    )
    assert error.params == {"host": "***.example.com"}
    stored = log_params(
        {
            "host": "h",
            "attempts": 3,
            "gone": None,
            "detail": "internal",
            "note": "client_secret=abc123",
            "x": "y" * 900,
        }
    )
    assert stored == {"host": "h", "attempts": "3", "note": "client_secret=***", "x": "y" * 500}
    assert json.loads(json.dumps(stored)) == stored
    assert log_params(None) == {} and log_params(error) == {"host": "***.example.com"}
