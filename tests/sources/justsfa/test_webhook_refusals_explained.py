"""J2, L2: every delivery the JUST.SFA webhook refuses is written to the sync log with a code the
error taxonomy knows, so the log screen says what was refused and what to do -- never
"an unexpected error occurred" (found by the served walk: a 401 for a missing secret header read
as 予期しないエラー)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from sfacal.core.errors import ERROR_TYPES, SfacalError
from sfacal.engine.models import SyncLogEntry
from sfacal.sources.justsfa.webhook import MAX_BODY_BYTES
from sfacal.web.logs.presenters import describe
from tests.sources.justsfa import test_webhook_bad_input as bad_input
from tests.sources.justsfa.test_webhook_bad_input import CONFIG, HEADER, good_body, post

connection = bad_input.connection  # the same JUST.SFA connection fixture

pytestmark = pytest.mark.django_db


def refusals() -> list[tuple[str, dict[str, Any]]]:
    return [
        ("unauthorized", {"body": good_body(), "secret": "wrong"}),
        ("body_too_large", {"body": b"{" + b" " * (MAX_BODY_BYTES + 1) + b"}"}),
        ("invalid_json", {"body": "{not json"}),
        ("invalid_body", {"body": [1, 2]}),
        ("unknown_type", {"body": {"type": "RENAME_TABLE", "recordId": 1}}),
    ]


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_j2_l2_each_refusal_is_explained_in_the_log(connection: Any, lang: str) -> None:
    client = Client()
    for code, kwargs in refusals():
        response = post(client, connection, kwargs.pop("body"), **kwargs)
        assert response.status_code >= 400 and response.json()["error"]["code"] == code
    connection.config = {k: v for k, v in CONFIG.items() if k != "title_field"}
    connection.save()
    assert post(client, connection, good_body()).json()["error"]["code"] == "settings_incomplete"
    lines = SyncLogEntry.objects.filter(result="failure").order_by("id")
    codes = [line.error_code for line in lines]
    assert codes == [
        "unauthorized",
        "body_too_large",
        "invalid_json",
        "invalid_body",
        "unknown_type",
        "settings_incomplete",
    ]
    for line in lines:
        assert ERROR_TYPES.get(line.error_code, SfacalError) is not SfacalError, line.error_code
        shown = describe(line, lang)
        assert "予期しない" not in shown.message and "unexpected" not in shown.message.lower(), shown.message
        assert shown.hint and "（不明）" not in shown.message and "(unknown)" not in shown.message
    assert HEADER in describe(lines[0], lang).detail  # the header concerned, as the detail
