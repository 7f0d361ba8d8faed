"""J2: bad webhook requests get a 4xx JSON naming the problem and a log line, and lose nothing:
a good webhook right after a bad one is accepted."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from django.test import Client

from sfacal.directory.companies.models import new_token
from sfacal.directory.companies.provisioning import ensure_company
from sfacal.directory.connections.models import SourceConnection
from sfacal.engine.models import InboxEntry, StoredSchedule, SyncLogEntry
from sfacal.sources.justsfa.webhook import MAX_BODY_BYTES

pytestmark = pytest.mark.django_db

SF = "field_1700000005"
HEADER = "X-Sfacal-Secret"
SECRET = "s3cr3t-header-value"
CONFIG = {
    "tenant": "fsz2",
    "table": "table_1700000001",
    "panel": "panel_1700000002",
    "filter": "filter_1700000003",
    "schedule_field": SF,
    "title_field": "field_1700000010",
    "location_field": "field_1700000011",
    "content_field": "field_1700000012",
}


@pytest.fixture
def connection() -> SourceConnection:
    company = ensure_company("acme", "ACME")
    return SourceConnection.objects.create(
        company=company,
        kind="justsfa",
        config=CONFIG,
        api_key="k" * 32,
        webhook_header_name=HEADER,
        webhook_header_value=SECRET,
    )


def good_body(record_id: int = 5, title: str = "訪問") -> dict[str, Any]:
    return {
        "type": "ADD_RECORD",
        "recordId": record_id,
        "record": {
            "field_1700000010": title,
            SF: {
                f"{SF}_period": ["2025-12-30T10:00+09:00", "2025-12-30T11:00+09:00"],
                f"{SF}_participants": [["yamada", "山田"]],
            },
        },
    }


def post(
    client: Client,
    connection: SourceConnection,
    body: Any,
    *,
    secret: str | None = SECRET,
    token: str | None = None,
) -> Any:
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    headers = {HEADER: secret} if secret is not None else {}
    return client.post(
        f"/hooks/justsfa/{token or connection.webhook_token}",
        data=data,
        content_type="application/json",
        headers=headers,
    )


def assert_good_one_is_accepted(client: Client, connection: SourceConnection, record_id: int = 5) -> None:
    response = post(client, connection, good_body(record_id))
    assert response.status_code == 200, response.content
    assert response.json()["outcome"] == "accepted"
    assert StoredSchedule.objects.filter(record_id=str(record_id)).exists()


def error_of(response: Any) -> dict[str, Any]:
    body = response.json()
    assert body["ok"] is False
    return dict(body["error"])


def bad_record(**changes: Any) -> dict[str, Any]:
    body = good_body()
    body["record"].update(changes)
    return body


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        (b"{not json", 400, "invalid_json", None),
        (b"\xff\xfe", 400, "invalid_json", None),
        ([1, 2], 400, "invalid_body", None),
        ({"type": "MERGE_RECORD", "recordId": 5, "record": {}}, 400, "unknown_type", "type"),
        ({"recordId": 5, "record": {}}, 400, "unknown_type", "type"),
        ({"type": "ADD_RECORD", "recordId": 5}, 400, "input_invalid", "record"),
        ({"type": "UPDATE_RECORD", "recordId": "x" * 300, "record": {}}, 400, "input_invalid", "recordId"),
        (
            {"type": "ADD_RECORD", "recordId": 5, "record": {"field_1700000010": "x"}},
            400,
            "input_invalid",
            SF,
        ),
        (
            bad_record(**{SF: {f"{SF}_period": ["2025-12-30T11:00+09:00", "2025-12-30T10:00+09:00"]}}),
            400,
            "input_invalid",
            f"{SF}_period",
        ),
        (bad_record(**{SF: {f"{SF}_period": ["someday", "later"]}}), 400, "input_invalid", f"{SF}_period"),
        (bad_record(**{SF: "2025-12-30"}), 400, "input_invalid", SF),
    ],
)
def test_j2_bad_body_is_refused_naming_the_problem_and_nothing_is_lost(
    client: Client,
    connection: SourceConnection,
    caplog: pytest.LogCaptureFixture,
    body: Any,
    status: int,
    code: str,
    field: str | None,
):
    with caplog.at_level(logging.WARNING, logger="sfacal.sources.justsfa.webhook"):
        response = post(client, connection, body)
    assert response.status_code == status
    error = error_of(response)
    assert error["code"] == code and error["message"] and error["message_ja"]
    if field is not None:
        assert error["field"] == field
    assert any("refused" in r.getMessage() for r in caplog.records)
    assert SyncLogEntry.objects.filter(trigger="webhook", result="failure", error_code=code).count() == 1
    assert InboxEntry.objects.count() == 0
    assert_good_one_is_accepted(client, connection)


def test_j2_oversized_body_is_refused(
    client: Client, connection: SourceConnection, caplog: pytest.LogCaptureFixture
):
    body = good_body()
    body["record"]["field_1700000012"] = "x" * (MAX_BODY_BYTES + 10)
    with caplog.at_level(logging.WARNING, logger="sfacal.sources.justsfa.webhook"):
        response = post(client, connection, body)
    assert response.status_code == 413 and error_of(response)["code"] == "body_too_large"
    assert any("bytes" in r.getMessage() for r in caplog.records)
    assert_good_one_is_accepted(client, connection)


@pytest.mark.parametrize("token", ["A" * 43, "short", "../../etc", "x" * 200])
def test_j2_unknown_token_is_404_without_telling_anything(
    client: Client, connection: SourceConnection, caplog: pytest.LogCaptureFixture, token: str
):
    with caplog.at_level(logging.WARNING, logger="sfacal.sources.justsfa.webhook"):
        response = post(client, connection, good_body(), token=token)
    assert response.status_code == 404
    assert response.json() == {
        "ok": False,
        "error": {"code": "not_found", "message": "Not found.", "message_ja": "見つかりません。"},
    }
    assert any("unknown token" in r.getMessage() for r in caplog.records)
    assert token not in caplog.text
    assert_good_one_is_accepted(client, connection)


def test_j2_other_companies_token_of_another_kind_is_404(client: Client, connection: SourceConnection):
    push = SourceConnection.objects.create(company=connection.company, kind="push")
    assert post(client, connection, good_body(), token=push.webhook_token).status_code == 404


@pytest.mark.parametrize("secret", [None, "", "wrong", SECRET + "x"])
def test_j2_missing_or_wrong_secret_header_is_401(
    client: Client, connection: SourceConnection, caplog: pytest.LogCaptureFixture, secret: str | None
):
    with caplog.at_level(logging.WARNING, logger="sfacal.sources.justsfa.webhook"):
        response = post(client, connection, good_body(), secret=secret)
    assert response.status_code == 401
    error = error_of(response)
    assert error["code"] == "unauthorized" and error["field"] == HEADER
    assert SECRET not in caplog.text and connection.webhook_token not in caplog.text
    assert InboxEntry.objects.count() == 0
    assert_good_one_is_accepted(client, connection)


def test_j2_no_secret_header_configured_accepts_without_it(client: Client, connection: SourceConnection):
    connection.webhook_header_name = ""
    connection.save()
    response = post(client, connection, good_body(), secret=None)
    assert response.status_code == 200


def test_j2_only_post(client: Client, connection: SourceConnection):
    response = client.get(f"/hooks/justsfa/{connection.webhook_token}")
    assert response.status_code == 405 and response["Allow"] == "POST"


def test_j2_incomplete_settings_say_so(client: Client, connection: SourceConnection):
    connection.config = {**CONFIG, "title_field": ""}
    connection.save()
    response = post(client, connection, good_body())
    assert response.status_code == 409
    assert error_of(response)["field"] == "title_field"


def test_j2_delete_needs_only_the_record_id(client: Client, connection: SourceConnection):
    assert_good_one_is_accepted(client, connection, 9)
    response = post(client, connection, {"type": "DELETE_RECORD", "recordId": 9})
    assert response.status_code == 200 and response.json()["outcome"] == "accepted"
    assert StoredSchedule.objects.get(record_id="9").deleted


def test_j2_empty_schedule_removes_the_schedule(client: Client, connection: SourceConnection):
    assert_good_one_is_accepted(client, connection, 7)
    body = good_body(7)
    body["type"] = "UPDATE_RECORD"
    body["record"][SF] = {f"{SF}_period": [], f"{SF}_participants": []}
    assert post(client, connection, body).status_code == 200
    assert StoredSchedule.objects.get(record_id="7").deleted


@pytest.mark.parametrize(
    "body",
    [
        {"type": "TEST", "recordId": 0, "record": {}},
        {"type": "test", "recordId": 0, "record": {}},
        {"type": "PING"},
        b"",
        {},
        [],
        # An ordinary record body with sample data, as the test send may well be.
        {**good_body(), "recordId": 0},
        {**good_body(), "recordId": "0"},
        {"type": "ADD_RECORD", "record": good_body()["record"]},
        [{"body": {**good_body(), "recordId": 0}}],
        {"type": "SOMETHING_NEW", "record": {"x": 1}},
    ],
)
def test_j2_test_sends_of_any_shape_are_answered_200_logged_and_never_stored(
    client: Client, connection: SourceConnection, body: Any
):
    response = post(client, connection, body)
    assert response.status_code == 200 and response.json() == {"ok": True, "test": True}
    assert InboxEntry.objects.count() == 0 and StoredSchedule.objects.count() == 0
    line = SyncLogEntry.objects.get(trigger="webhook")
    assert line.operation == "test" and line.result == "success" and "nothing stored" in line.message


@pytest.mark.parametrize("wrap", [lambda b: [{"body": b}], lambda b: [b], lambda b: {"body": b}])
def test_j2_array_wrapped_deliveries_are_read_like_plain_ones(
    client: Client, connection: SourceConnection, wrap
):
    response = post(client, connection, wrap(good_body(9)))
    assert response.status_code == 200 and response.json()["outcome"] == "accepted"
    assert response.json()["recordId"] == "9"
    assert StoredSchedule.objects.filter(record_id="9").exists()
    two = post(client, connection, [good_body(10), good_body(11)])
    assert two.status_code == 400 and error_of(two)["code"] == "invalid_body"


def test_j2_webhook_path_is_the_connections_url(client: Client, connection: SourceConnection):
    from sfacal.sources.justsfa import webhook_path

    path = webhook_path(connection)
    assert path == f"/hooks/justsfa/{connection.webhook_token}"
    response = client.post(
        path, data=json.dumps(good_body()), content_type="application/json", headers={HEADER: SECRET}
    )
    assert response.status_code == 200


def test_j2_fields_the_webhook_does_not_send_are_reported(client: Client, connection: SourceConnection):
    assert post(client, connection, good_body()).status_code == 200
    entry = SyncLogEntry.objects.get(trigger="webhook")
    assert entry.result == "warning"
    assert (
        "location_field=field_1700000011" in entry.message
        and "content_field=field_1700000012" in entry.message
    )
    assert "title_field" not in entry.message


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_j2_refused_input_keeps_the_field_for_the_log_screen(
    client: Client, connection: SourceConnection, lang: str
):
    from sfacal.core.errors import error_from_code
    from sfacal.web.logs.presenters import describe

    response = post(client, connection, {"type": "ADD_RECORD", "recordId": 5})
    assert error_of(response)["code"] == "input_invalid"
    line = SyncLogEntry.objects.get(trigger="webhook", result="failure")
    assert line.error_params["field"] == "record"
    shown = describe(line, lang)
    assert shown.message == error_from_code("input_invalid", line.error_params).user_message(lang)
    assert "record" in shown.message and "（不明）" not in shown.message and "(unknown)" not in shown.message


def test_j2_a_replaced_webhook_token_is_refused_at_the_next_delivery(connection):
    """The connection of a token is read afresh on every delivery: once the settings screen
    issues a new URL, the old one answers the generic 404 at once and the new one works."""
    client = Client()
    assert_good_one_is_accepted(client, connection, 5)
    old = connection.webhook_token
    connection.webhook_token = new_token()
    connection.save(update_fields=["webhook_token"])
    refused = post(client, connection, good_body(6), token=old)
    assert refused.status_code == 404
    assert not StoredSchedule.objects.filter(record_id="6").exists()
    assert_good_one_is_accepted(client, connection, 6)
    # the secret header is read with it: a changed secret is demanded from the next delivery on
    connection.webhook_header_value = "another-secret"
    connection.save(update_fields=["webhook_header_value"])
    assert post(client, connection, good_body(7)).status_code == 401
    assert post(client, connection, good_body(7), secret="another-secret").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_s11_a_sync_log_line_that_cannot_be_written_never_costs_the_change(connection, monkeypatch, caplog):
    """The change and its log line commit together, the line in a savepoint: a failed line is
    rolled back alone and the change is stored and acknowledged."""
    from django.db import DatabaseError

    real = SyncLogEntry.objects.create

    def failing(**fields: Any) -> Any:
        if fields.get("operation") == "receive":
            real(**fields)  # written, then the statement fails: the savepoint undoes it alone
            raise DatabaseError("disk I/O error")
        return real(**fields)

    monkeypatch.setattr(SyncLogEntry.objects, "create", failing)
    with caplog.at_level(logging.ERROR):
        assert_good_one_is_accepted(Client(), connection, 8)
    assert InboxEntry.objects.filter(record_id="8").count() == 1
    assert not SyncLogEntry.objects.filter(operation="receive", record_id="8").exists()
    assert "could not write the webhook outcome" in caplog.text
