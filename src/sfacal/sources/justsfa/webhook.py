"""J2: the webhook receiver, ``POST /hooks/justsfa/<token>``.

Order of checks, each failure answered with JSON ``{"ok": false, "error": {"code", "message",
"message_ja", "field"?}}`` and logged (never with the token, the secret header or the body):

1. method POST (405);
2. the token: the connection is looked up by its unguessable token and compared in constant time;
   an unknown token answers 404 with the same generic body as any unknown URL, so it never tells
   whether a company exists;
3. the secret request header, when the connection demands one (401 if missing or wrong; constant
   time);
4. the body: at most :data:`MAX_BODY_BYTES` (413), JSON nested at most
   :data:`~sfacal.sources.jsonbody.MAX_DEPTH` levels (400 ``invalid_json``); the delivery is the
   object itself, or the first item of an array, or that item's ``body`` (``[{"body": {...}}]``,
   the form an older public handler read) — one delivery per request (400 ``invalid_body``);
5. a test send is answered 200, logged as a test (operation ``test``) and never stored: an empty
   body, ``{}`` or ``[]``, a ``TEST``-like ``type``, or any body that names no record (``recordId``
   missing, 0 or empty, and no record-ID field value) — the test send's body is not public and
   may be an ordinary record body with sample data and ``recordId`` 0. A body that names a record
   needs a known ``type`` (400 ``unknown_type`` naming ``type``);
6. the record is normalised (400 ``input_invalid`` naming the field: a missing schedule field, an
   end before the start, a year outside 1900-2200, a NUL character or a lone surrogate in
   ``recordId`` or a participant) and handed to ``inbox.accept()`` inside the request (S11), in one
   transaction with its sync-log line (written in a savepoint: a failed line never costs the
   change). Only then is 200 answered (``outcome``: accepted, duplicate or stale). A database that cannot take
   the change now (locked past its busy timeout, unreachable) answers 503 with ``Retry-After``
   (:data:`sfacal.engine.inbox.RETRY_AFTER_SECONDS`) and stores nothing, so JUST.SFA delivers
   again.

No input answers 500: every text that goes into an answer, a log line or the sync log is cleaned
first (:func:`sfacal.core.text.clean_text`: a lone surrogate or a NUL character in a refused value
cannot break the answer or the database write). An unforeseen error is answered with the same JSON
shape (500 ``internal_error``) and logged with its traceback under the connection's number, never
the token.

The webhook carries the whole record, so no API call is made here (J4). Each outcome is also
written to the sync log (trigger ``webhook``) for the administrator, naming the schedule (its
subject as the calendar shows it; for a deletion, the subject its events had).

Text values are checked and cleaned as every source's are (:func:`sfacal.core.text.incoming_text`,
see :mod:`.parse`): up to 20,000 characters each, control characters (NUL included) removed; a
longer value is answered 400 naming the JUST.SFA field.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
from functools import cache
from typing import Any

from django.db import DatabaseError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone as dj_timezone
from django.views.decorators.csrf import csrf_exempt

from sfacal.core.errors import InputError, SfacalError, log_params
from sfacal.core.schedule import Schedule
from sfacal.core.text import clean_text
from sfacal.directory import sqlrows
from sfacal.directory.companies.models import Company
from sfacal.directory.connections.models import SourceConnection, SourceKind
from sfacal.directory.employees.known import unknown_logins
from sfacal.engine import inbox
from sfacal.engine.models import LogResult, SyncLogEntry, Trigger
from sfacal.sources.jsonbody import BodyNotJson, parse_json

from .parse import deletion, record_change
from .settings import JustSfaSettings

__all__ = ["MAX_BODY_BYTES", "RECORD_TYPES", "TEST_TYPES", "receive", "unknown"]

log = logging.getLogger("sfacal.sources.justsfa.webhook")

MAX_BODY_BYTES = 1024 * 1024
RECORD_TYPES = ("ADD_RECORD", "UPDATE_RECORD", "DELETE_RECORD")
TEST_TYPES = ("TEST", "TEST_SEND", "TEST_RECORD", "WEBHOOK_TEST", "PING")
_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def _error(status: int, code: str, message: str, message_ja: str, field: str | None = None) -> JsonResponse:
    # Messages may quote what was received: cleaned, a lone surrogate cannot break the answer.
    error: dict[str, Any] = {
        "code": code,
        "message": clean_text(message),
        "message_ja": clean_text(message_ja),
    }
    if field is not None:
        error["field"] = clean_text(field)
    response = JsonResponse(
        {"ok": False, "error": error}, status=status, json_dumps_params={"ensure_ascii": False}
    )
    # Django's request logger would log the path, which holds the secret token: we log ourselves.
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


def _not_found() -> JsonResponse:
    return _error(404, "not_found", "Not found.", "見つかりません。")


def _client(request: HttpRequest) -> str:
    return str(request.META.get("REMOTE_ADDR", "?"))


def _reject(
    request: HttpRequest,
    connection: SourceConnection | None,
    response: JsonResponse,
    reason: str,
    *,
    record_id: str = "",
    error: SfacalError | None = None,
) -> JsonResponse:
    """Log a refused delivery (and write it to the company's sync log when we know the company,
    with ``error``'s parameters when the refusal comes from one)."""
    conn = f"connection {connection.pk}" if connection is not None else "unknown token"
    reason = clean_text(reason)
    log.warning(
        "JUST.SFA webhook refused (%s) from %s, %s: %s", response.status_code, _client(request), conn, reason
    )
    if connection is not None:
        _sync_log(
            connection,
            LogResult.FAILURE,
            "receive",
            record_id=record_id,
            code=_code(response),
            params=log_params(error),
            message=reason,
        )
    return response


def _code(response: JsonResponse) -> str:
    try:
        return str(json.loads(response.content)["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return ""


def _sync_log(
    connection: SourceConnection,
    result: str,
    operation: str,
    *,
    record_id: str = "",
    subject: str = "",
    code: str = "",
    params: dict[str, str] | None = None,
    message: str = "",
) -> None:
    try:
        with transaction.atomic():  # a savepoint inside the acknowledgement's transaction
            SyncLogEntry.objects.create(
                company_id=connection.company_id,
                trigger=Trigger.WEBHOOK,
                operation=operation,
                result=result,
                source=connection.kind,
                record_id=clean_text(record_id)[:200],
                subject=clean_text(subject)[:255],
                error_code=code[:64],
                error_params={key: clean_text(value) for key, value in (params or {}).items()},
                message=clean_text(message)[:2000],
            )
    except DatabaseError:  # the log must never turn an accepted change into a failure
        log.exception("could not write the webhook outcome to the sync log")


def _find_connection(token: str) -> SourceConnection | None:
    if not _TOKEN_RE.match(token):
        return None
    rows = sqlrows.fetch(_connection_sql(), [token, SourceKind.JUSTSFA.value])
    if not rows:
        return None
    size = sqlrows.width(SourceConnection)
    connection = sqlrows.build(SourceConnection, rows[0][:size])
    if not hmac.compare_digest(connection.webhook_token.encode(), token.encode()):
        return None
    connection.company = sqlrows.build(Company, rows[0][size:])
    return connection


@cache
def _connection_sql() -> str:
    """The connection of a webhook token and its company, in one plain SQL statement
    (:mod:`sfacal.directory.sqlrows`; read afresh on every delivery, never cached)."""
    s, c = SourceConnection, Company
    return (
        f"SELECT {sqlrows.columns(s, 's')}, {sqlrows.columns(c, 'c')} FROM {sqlrows.table(s)} s "  # noqa: S608 - names from the model, values bound
        f"JOIN {sqlrows.table(c)} c ON c.{sqlrows.column(c, 'id')} = s.{sqlrows.column(s, 'company')} "
        f"WHERE s.{sqlrows.column(s, 'webhook_token')} = %s AND s.{sqlrows.column(s, 'kind')} = %s"
    )


def _secret_ok(request: HttpRequest, connection: SourceConnection) -> bool:
    name = (connection.webhook_header_name or "").strip()
    if not name:
        return True
    expected = connection.webhook_header_value or ""
    given = request.headers.get(name)
    if given is None:
        return False
    return hmac.compare_digest(given.strip().encode("utf-8"), expected.strip().encode("utf-8"))


def _unknown_participants(connection: SourceConnection, schedule: Schedule) -> list[str]:
    return unknown_logins(connection.company_id, schedule.participants)


@csrf_exempt
def unknown(request: HttpRequest, rest: str = "") -> HttpResponse:
    """Any other path under the webhook prefix: the same generic 404 as an unknown token."""
    return _reject(request, None, _not_found(), "unknown token")


def _unavailable(exc: BaseException) -> JsonResponse:
    response = _error(
        503,
        "unavailable",
        f"The change could not be stored now ({type(exc).__name__}); please send it again.",
        "変更を保存できませんでした。しばらくしてから再送してください。",
    )
    response["Retry-After"] = str(inbox.RETRY_AFTER_SECONDS)
    return response


@csrf_exempt
def receive(request: HttpRequest, token: str) -> HttpResponse:
    try:
        return _receive(request, token)
    except Exception as exc:
        # Never Django's HTML page (nor its request log line, which holds the token in the path).
        if inbox.is_unavailable(exc):
            log.warning("JUST.SFA webhook: the database is unavailable (%s)", type(exc).__name__)
            return _unavailable(exc)
        log.exception("JUST.SFA webhook failed unexpectedly")
        return _error(
            500,
            "internal_error",
            "An unexpected error occurred; it has been logged.",
            "予期しないエラーが発生しました（記録済み）。",
        )


def _receive(request: HttpRequest, token: str) -> HttpResponse:
    if request.method != "POST":
        response = _error(405, "method_not_allowed", "Only POST is accepted.", "POST のみ受け付けます。")
        response["Allow"] = "POST"
        return response
    connection = _find_connection(token)
    if connection is None:
        return _reject(request, None, _not_found(), "unknown token")
    if not _secret_ok(request, connection):
        name = connection.webhook_header_name
        return _reject(
            request,
            connection,
            _error(
                401,
                "unauthorized",
                f"The request header {name} is missing or wrong.",
                f"リクエストヘッダ {name} がないか、値が正しくありません。",
                field=name,
            ),
            f"secret header {name} missing or wrong",
        )
    too_big = _error(
        413,
        "body_too_large",
        f"The body is larger than {MAX_BODY_BYTES} bytes.",
        f"本文が {MAX_BODY_BYTES} バイトを超えています。",
    )
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > MAX_BODY_BYTES:
        return _reject(request, connection, too_big, f"body of {declared} bytes")
    try:
        raw = request.body
    except Exception as exc:  # RequestDataTooBig and friends from Django's own limit
        return _reject(request, connection, too_big, f"body unreadable: {type(exc).__name__}")
    if len(raw) > MAX_BODY_BYTES:
        return _reject(request, connection, too_big, f"body of {len(raw)} bytes")
    if not raw.strip():
        return _test_send(connection, "empty body")
    try:
        body = parse_json(raw, encoding="utf-8-sig")
    except BodyNotJson as exc:
        return _reject(
            request,
            connection,
            _error(
                400,
                "invalid_json",
                f"The body is not valid JSON: {exc.reason}",
                "本文が正しい JSON ではありません。",
            ),
            f"invalid JSON: {exc.reason}",
        )
    body = _delivery(body)
    if body == {}:
        return _test_send(connection, "empty body")
    if not isinstance(body, dict):
        return _reject(
            request,
            connection,
            _error(
                400,
                "invalid_body",
                "The body must be a JSON object.",
                "本文は JSON オブジェクトにしてください。",
            ),
            "body is not an object",
        )
    kind = body.get("type")
    kind_text = kind.strip().upper() if isinstance(kind, str) else ""
    if kind_text in TEST_TYPES:
        return _test_send(connection, f"type {kind_text}")
    if not _names_a_record(connection, body):
        shown = clean_text(str(kind))[:40] if kind is not None else "(no type)"
        return _test_send(connection, f"{shown} without a record ID")
    if kind_text not in RECORD_TYPES:
        shown = str(kind)[:40] if kind is not None else "(missing)"
        return _reject(
            request,
            connection,
            _error(
                400,
                "unknown_type",
                f"Unknown type {shown}: expected one of {', '.join(RECORD_TYPES)}.",
                f"type「{shown}」は受け付けられません（{', '.join(RECORD_TYPES)} のいずれか）。",
                field="type",
            ),
            f"unknown type {shown}",
        )
    return _handle_record(request, connection, kind_text, body)


def _delivery(body: Any) -> Any:
    """The delivery object of a body in any of the forms of the module doc (``{}`` for ``[]``)."""
    if isinstance(body, list):
        if not body:
            return {}
        if len(body) != 1 or not isinstance(body[0], dict):
            return body  # refused as invalid_body
        body = body[0]
        inner = body.get("body")
        return inner if isinstance(inner, dict) and "type" not in body else body
    if isinstance(body, dict) and isinstance(body.get("body"), dict) and "type" not in body:
        return body["body"]
    return body


def _names_a_record(connection: SourceConnection, body: dict[str, Any]) -> bool:
    """Whether the body identifies a record: a ``recordId`` other than 0 / empty, or a value of
    the configured record-ID field."""
    raw = body.get("recordId")
    if raw not in (None, 0, "0", "", False):
        return True
    field_id = (connection.config or {}).get("record_id_field")
    record = body.get("record")
    return bool(field_id) and isinstance(record, dict) and record.get(field_id) not in (None, "", [], 0, "0")


def _test_send(connection: SourceConnection, what: str) -> JsonResponse:
    log.info("JUST.SFA webhook test send received for connection %s (%s)", connection.pk, what)
    _sync_log(connection, LogResult.SUCCESS, "test", message=f"test send received ({what}); nothing stored")
    return JsonResponse({"ok": True, "test": True})


def _handle_record(
    request: HttpRequest, connection: SourceConnection, kind: str, body: dict[str, Any]
) -> JsonResponse:
    raw_id = body.get("recordId")
    record_text = str(raw_id)[:200] if raw_id is not None else ""
    try:
        settings = JustSfaSettings.from_connection(connection, require_api_key=False)
        now = dj_timezone.now()
        record = body.get("record")
        if kind == "DELETE_RECORD":
            change: Any = deletion(settings, raw_id, received_at=now, record=record)
        else:
            if record is None:
                raise InputError("record", "is required", reason_ja="record が必要です")
            change = record_change(settings, record, raw_id, received_at=now)
    except InputError as exc:
        field = exc.field
        if field in settings_fields():
            # The connection's own settings are incomplete: the administrator must finish them.
            response = _error(
                409,
                "settings_incomplete",
                f"The JUST.SFA settings are incomplete ({field}).",
                f"JUST.SFA 連携設定が未完了です（{field}）。",
                field=field,
            )
            return _reject(
                request, connection, response, f"settings incomplete: {field}", record_id=record_text
            )
        response = _error(400, exc.code, exc.user_message("en"), exc.user_message("ja"), field=field)
        return _reject(
            request, connection, response, f"{kind}: {exc.detail}", record_id=record_text, error=exc
        )
    try:
        # The change and its sync-log line commit together (one transaction, one commit); the
        # line is written in a savepoint, so a failed line never costs the change.
        with transaction.atomic():
            accepted = inbox.accept(connection.company, change, trigger=Trigger.WEBHOOK)
            result, message = _outcome(connection, settings, kind, change, record, accepted)
            _sync_log(
                connection,
                result,
                "receive",
                record_id=accepted.record_id,
                subject=accepted.subject,
                message=message,
            )
    except (DatabaseError, SfacalError, inbox.Unavailable) as exc:
        if inbox.is_unavailable(exc):
            log.warning("JUST.SFA webhook for connection %s could not be stored now: %s", connection.pk, exc)
        else:
            log.exception("JUST.SFA webhook for connection %s could not be stored", connection.pk)
        return _unavailable(exc)
    return JsonResponse(
        {"ok": True, "outcome": accepted.outcome.value, "recordId": accepted.record_id},
        json_dumps_params={"ensure_ascii": False},
    )


def _outcome(
    connection: SourceConnection,
    settings: JustSfaSettings,
    kind: str,
    change: Any,
    record: Any,
    accepted: inbox.Accepted,
) -> tuple[str, str]:
    """The sync-log result and message of an accepted delivery."""
    message = f"{kind} {accepted.outcome.value}"
    if isinstance(change, Schedule):
        unknown = _unknown_participants(connection, change)
        if unknown:
            log.info(
                "JUST.SFA record %s has participants without a user mapping: %s",
                accepted.record_id,
                ", ".join(unknown),
            )
            message += (
                f"; participants without a user mapping (kept, synced once mapped): {', '.join(unknown)}"
            )
        absent = [
            f"{name}={field_id}"
            for name, field_id in settings.field_settings().items()
            if isinstance(record, dict) and field_id not in record and name != "schedule_field"
        ]
        if absent:
            # The webhook sends selected fields only: those values read as empty.
            message += f"; configured fields not sent by the webhook (read as empty): {', '.join(absent)}"
    result = LogResult.SUCCESS if accepted.outcome is inbox.Outcome.ACCEPTED else LogResult.SKIPPED
    if "not sent by the webhook" in message and result is LogResult.SUCCESS:
        result = LogResult.WARNING
    return result, message


def settings_fields() -> frozenset[str]:
    from .settings import CONFIG_KEYS

    return frozenset({*CONFIG_KEYS, "api_key", "config"})
