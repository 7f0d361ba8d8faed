"""Property-based fuzzing of both doors' bodies (issue 14, "in CI from now on"): the JUST.SFA webhook
and every push API write, with the documented shapes carrying hostile values and with plain junk
(:mod:`tests.fuzz.strategies`). For every request:

* the answer is never a 5xx;
* a 4xx is the door's JSON error (code, English and Japanese message), naming the field whenever
  the problem is a field's (a batch's items: in their own results);
* a valid change sent right after it still lands: answered as accepted and stored in the inbox.

In-process through Django's test client, derandomized (CI runs the same examples every time); the
served product is fuzzed by schemathesis in ``test_served_schemathesis.py``.
"""

from __future__ import annotations

import itertools
import json
from typing import Any
from urllib.parse import quote

import pytest
from django.test import Client
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sfacal.directory.companies.models import Company
from sfacal.directory.companies.provisioning import ensure_company
from sfacal.directory.connections.models import ApiToken, SourceConnection
from sfacal.directory.employees.models import Employee
from sfacal.engine.models import InboxEntry
from tests.fuzz import strategies as fuzz
from tests.fuzz.served import good_record, good_schedule
from tests.sources.justsfa.test_webhook_bad_input import CONFIG

pytestmark = pytest.mark.django_db

SLOT_EXAMPLES = 8  # per slot of a valid body (every slot is fuzzed)
ANY_EXAMPLES = 60  # bodies of any shape


def each_bad_value(check: Any) -> Any:
    """``check(value)`` run with every :data:`~tests.fuzz.strategies.KNOWN_BAD` value, then with
    :data:`SLOT_EXAMPLES` drawn from :data:`~tests.fuzz.strategies.BAD_VALUE`."""
    run = given(value=fuzz.BAD_VALUE)(check)
    for value in fuzz.KNOWN_BAD:
        run = example(value=value)(run)
    return fuzz_settings(SLOT_EXAMPLES + len(fuzz.KNOWN_BAD))(run)


def fuzz_settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
        ],
    )


FIELD_CODES = {"input_invalid", "unknown_type", "precondition_failed"}
_serial = itertools.count()


@pytest.fixture
def company() -> Company:
    company = ensure_company("acme", "ACME")
    Employee.objects.create(company=company, login_id="tanaka", state="on", user_id="tanaka@example.com")
    return company


def _json(body: Any) -> str:
    return body if isinstance(body, str) else json.dumps(body, ensure_ascii=True)


def _path_part(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


def assert_webhook_answer(response: Any) -> None:
    assert response.status_code < 500, response.content[:500]
    body = json.loads(response.content)
    if response.status_code >= 400:
        error = body["error"]
        assert body["ok"] is False and error["code"] and error["message"] and error["message_ja"]
        if error["code"] in FIELD_CODES:
            assert error["field"], body


def assert_api_error(body: Any, status: int) -> None:
    error = body["error"]
    assert error["code"] and error["message"] and error["message_ja"] and error["errors"], body
    if status in (412, 422):
        assert error["field"] and all(item["field"] for item in error["errors"]), body


def assert_api_answer(response: Any) -> None:
    assert response.status_code < 500, response.content[:500]
    if response.status_code == 204:
        return
    body = json.loads(response.content)
    if response.status_code >= 400:
        assert_api_error(body, response.status_code)
    elif isinstance(body, dict) and "results" in body:  # a batch: each item answers for itself
        for result in body["results"]:
            assert result["status"] < 500, result
            if result["status"] >= 400:
                assert_api_error({"error": result["error"]}, result["status"])


@pytest.fixture
def webhook(company: Company) -> Any:
    """Post a body to the company's JUST.SFA webhook; after each, check that a good one lands."""
    connection = SourceConnection.objects.create(
        company=company, kind="justsfa", config=CONFIG, api_key="k" * 32
    )
    client = Client(raise_request_exception=False)
    url = f"/hooks/justsfa/{connection.webhook_token}"

    def send(body: Any) -> None:
        data = body if isinstance(body, bytes) else _json(body)
        assert_webhook_answer(client.post(url, data=data, content_type="application/json"))
        record = f"good-{next(_serial)}"
        good = client.post(
            url,
            data=_json({"type": "ADD_RECORD", "recordId": record, "record": good_record()}),
            content_type="application/json",
        )
        assert good.status_code == 200 and json.loads(good.content)["outcome"] == "accepted", good.content
        assert InboxEntry.objects.filter(record_id=record).exists()

    return send


@pytest.mark.parametrize(
    ("delivery", "slot"),
    [("add", slot) for slot in fuzz.WEBHOOK_SLOTS] + [("delete", ("type",)), ("delete", ("recordId",))],
)
def test_webhook_one_bad_slot_never_5xx_names_the_field_and_loses_nothing(
    webhook: Any, delivery: str, slot: tuple[Any, ...]
) -> None:
    valid = fuzz.valid_delivery() if delivery == "add" else {"type": "DELETE_RECORD", "recordId": "r-1"}

    @each_bad_value
    def run(value: Any) -> None:
        webhook(fuzz.with_slot(valid, slot, value))

    run()


def test_webhook_any_body_never_5xx_and_loses_nothing(webhook: Any) -> None:
    @fuzz_settings(ANY_EXAMPLES)
    @given(body=st.one_of(fuzz.webhook_body(), st.binary(max_size=64)))
    def run(body: Any) -> None:
        webhook(body)

    run()


# A path segment the API's routes take (an empty one or a "/" is another URL, outside the API's
# operations, and answered by Django's own 404).
SEGMENT = fuzz.TEXT.filter(lambda s: s != "" and "/" not in s)


@pytest.fixture
def push(company: Company) -> Any:
    """Send a request to the push API; after each, check that a valid schedule lands."""
    _, token = ApiToken.issue(company, "fuzz")
    client = Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Bearer {token}")

    def send(method: str, path: str, body: Any = None, if_match: str | None = None) -> None:
        extra = {"HTTP_IF_MATCH": if_match} if if_match is not None else {}
        data = "" if body is None else _json(body)
        response = client.generic(
            method, "/api/v1" + path, data=data, content_type="application/json", **extra
        )
        assert_api_answer(response)
        record = f"good-{next(_serial)}"
        good = client.put(
            f"/api/v1/schedules/{record}", data=_json(good_schedule()), content_type="application/json"
        )
        assert good.status_code == 201 and json.loads(good.content)["outcome"] == "accepted", good.content
        assert InboxEntry.objects.filter(source="push", record_id=record).exists()

    return send


def _in_path(value: Any) -> str:
    return _path_part(value if isinstance(value, str) and value and "/" not in value else "x")


PUSH_SLOTS: list[tuple[str, str, Any, tuple[Any, ...]]] = [
    *[("PUT", "/schedules/s-1", good_schedule(), slot) for slot in fuzz.SCHEDULE_SLOTS],
    *[
        ("POST", "/schedules:batch", {"items": [fuzz.VALID_ITEM]}, ("items", 0, *slot))
        for slot in [
            ("op",),
            ("source_id",),
            ("if_match",),
            ("schedule",),
            ("schedule", "start"),
            ("schedule", "title"),
        ]
    ],
    ("POST", "/schedules:batch", {"items": [fuzz.VALID_ITEM]}, ("items",)),
    *[
        ("PUT", "/employees/tanaka", fuzz.VALID_EMPLOYEE, (name,))
        for name in [*fuzz.VALID_EMPLOYEE, "unknown"]
    ],
    ("PUT", "/masters/purposes", [{"name": "定期訪問", "counted_as_visit": True}], (0, "name")),
    ("PUT", "/masters/purposes", [{"name": "定期訪問", "counted_as_visit": True}], (0, "counted_as_visit")),
    ("PUT", "/masters/business-names", ["会議"], (0,)),
]


@pytest.mark.parametrize(("method", "path", "valid", "slot"), PUSH_SLOTS)
def test_push_api_one_bad_slot_never_5xx_names_the_field_and_loses_nothing(
    push: Any, method: str, path: str, valid: Any, slot: tuple[Any, ...]
) -> None:
    @each_bad_value
    def run(value: Any) -> None:
        push(method, path, fuzz.with_slot(valid, slot, value))

    run()


@pytest.mark.parametrize("where", ["schedule path", "employee path", "deleted at", "If-Match"])
def test_push_api_bad_path_query_and_header_never_5xx(push: Any, where: str) -> None:
    @each_bad_value
    def run(value: Any) -> None:
        if where == "schedule path":
            push("PUT", f"/schedules/{_in_path(value)}", good_schedule())
        elif where == "employee path":
            push("PUT", f"/employees/{_in_path(value)}", fuzz.VALID_EMPLOYEE)
        elif where == "deleted at":
            push("DELETE", f"/schedules/d-1?updated_at={_path_part(value)}")
        else:
            header = value if isinstance(value, str) else json.dumps(value)
            if header.isprintable() and header.isascii():
                push("PUT", "/schedules/s-1", good_schedule(), if_match=header)

    run()


OPERATIONS = st.one_of(
    st.tuples(
        st.just("PUT"), st.builds(lambda s: f"/schedules/{_path_part(s)}", SEGMENT), fuzz.schedule_body()
    ),
    st.tuples(st.just("POST"), st.just("/schedules:batch"), fuzz.batch_body()),
    st.tuples(
        st.just("PUT"), st.builds(lambda s: f"/employees/{_path_part(s)}", SEGMENT), fuzz.employee_body()
    ),
    st.tuples(st.just("PUT"), st.just("/masters/purposes"), fuzz.purposes_body()),
    st.tuples(
        st.just("PUT"),
        st.just("/masters/business-names"),
        st.one_of(st.lists(fuzz.TEXT, max_size=4), fuzz.JUNK),
    ),
)


def test_push_api_any_body_never_5xx_and_loses_nothing(push: Any) -> None:
    @fuzz_settings(ANY_EXAMPLES)
    @given(operation=OPERATIONS)
    def run(operation: tuple[str, str, Any]) -> None:
        push(*operation)

    run()
