"""Issue 14, item 10: the OpenAPI document and the push API's validation agree exactly.

* Each pattern the document publishes means the same in ECMA-262 (JSON Schema's dialect, checked
  with ``jsonschema_rs``, the validator schemathesis uses) as in the API's own check
  (:func:`sfacal.sources.push.formats.matches`), property-tested on hostile strings.
* Every mail address the document allows passes Django's ``EmailValidator`` too.
* The limits the document used to leave out are in it, and the API takes exactly what they allow:
  ``source_id`` up to 200 characters, the ``state`` enum, time zone names, ``If-Match``.
* What the API used to accept against the document is refused, naming the field:
  ``counted_as_visit: 0``, a number as ``updated_at`` (query or body), another spelling of an enum.

The whole document against the served API, with every check: ``tests/fuzz/test_served_schemathesis.py``.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema_rs
import pytest
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sfacal.sources.push import formats
from sfacal.sources.push.fields import time_zone_names

from .conftest import meeting

PATTERNS = {
    name: getattr(formats, name)
    for name in (
        "DATE",
        "DATE_TIME",
        "DATE_OR_DATE_TIME",
        "IDENTIFIER",
        "NO_NUL",
        "TRIMMED",
        "EMAIL_OR_EMPTY",
        "IF_MATCH",
    )
}
# Characters where ECMA-262 and Python's regular expressions part ways, and the grammar's own.
TRICKY = st.sampled_from([*'\x00\n\r\t \x0b\x0c\x1c\x1f\x85\xa0\u2028\u3000\ufeff０٣/.:+-TZW"*,@', "\ud800"])
CANDIDATES = st.one_of(
    st.text(st.one_of(TRICKY, st.characters()), max_size=30),
    st.sampled_from(
        [
            *("2024-02-29", "2023-02-29", "1900-02-29", "2000-02-29", "2200-12-31", "2201-01-01"),
            *("2026-01-01\n", "a\n", ".\n", "..", " a", "a\x1e", "\x1c", '"e"\n', "a@b.co\n", "٣"),
        ]
    ),
)
PROPERTY = settings(max_examples=150, deadline=None, derandomize=True, database=None)


def ecma(pattern: str, value: str) -> bool:
    return bool(jsonschema_rs.validator_for({"type": "string", "pattern": pattern}).is_valid(value))


@pytest.mark.parametrize("name", list(PATTERNS))
def test_each_published_pattern_means_the_same_to_the_api_and_to_json_schema(name: str) -> None:
    pattern = PATTERNS[name]

    @PROPERTY
    @given(value=st.one_of(CANDIDATES, st.from_regex(pattern, fullmatch=True)))
    def agree(value: str) -> None:
        if "\ud800" in value:  # not valid UTF-8, so no JSON Schema validator sees it
            return
        assert formats.matches(pattern, value) == ecma(pattern, value), repr(value)

    agree()


@settings(
    max_examples=150, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)
@given(address=st.from_regex(formats.EMAIL_OR_EMPTY, fullmatch=True).filter(bool))
def test_every_mail_address_the_document_allows_passes_djangos_validator(address: str) -> None:
    if len(address) > 254:
        return
    try:
        validate_email(address)
    except ValidationError as exc:  # pragma: no cover - the property fails
        raise AssertionError(address) from exc


def _document(api: Any) -> dict[str, Any]:
    response = api.get("/openapi.json")
    assert response.status_code == 200
    return dict(response.json())


def _parameter(doc: dict[str, Any], path: str, method: str, name: str) -> dict[str, Any]:
    for parameter in doc["paths"]["/api/v1" + path][method]["parameters"]:
        if parameter["name"] == name:
            return dict(parameter)
    raise AssertionError(f"{name} is not a parameter of {method} {path}")


def test_source_id_limit_is_published_and_is_the_apis(api: Any) -> None:
    schema = _parameter(_document(api), "/schedules/{source_id}", "put", "source_id")["schema"]
    assert schema["maxLength"] == 200 and "pattern" in schema
    assert api.put("/schedules/" + "x" * 200, meeting()).status_code == 201
    refused = api.put("/schedules/" + "x" * 201, meeting())
    assert refused.status_code == 422 and refused.json()["error"]["field"] == "source_id"
    for dots in (".", ".."):  # a URL resolves them away: refused as the pattern says
        assert api.put("/schedules/" + dots, meeting()).status_code == 422


def test_state_enum_is_published_and_is_what_the_api_takes(api: Any) -> None:
    parameter = _parameter(_document(api), "/employees", "get", "state")
    assert parameter["required"] is False
    enum = parameter["schema"]["enum"]
    assert set(enum) == {"on", "off", "forbidden", "連携する", "連携しない", "使用禁止"}
    for value in enum:
        assert api.get(f"/employees?state={value}").status_code == 200, value
    for value in ("yes", "ON", "1"):  # aliases the screens know, but not the API's documented values
        refused = api.get(f"/employees?state={value}")
        assert refused.status_code == 422 and refused.json()["error"]["field"] == "state", value


def test_time_zone_names_are_published_and_are_what_the_api_takes(api: Any) -> None:
    doc = _document(api)
    enum = doc["components"]["schemas"]["ScheduleIn"]["properties"]["timezone"]["anyOf"][0]["enum"]
    assert enum == ["", *time_zone_names()] and "Asia/Tokyo" in enum
    for zone in ("Europe/Paris", "Pacific/Chatham", "UTC", ""):
        assert api.put("/schedules/tz", meeting(timezone=zone)).status_code in (200, 201), zone
    for zone in ("Mars/Olympus", "asia/tokyo", " Asia/Tokyo"):
        refused = api.put("/schedules/tz", meeting(timezone=zone))
        assert refused.status_code == 422 and refused.json()["error"]["field"] == "timezone", zone


def test_if_match_is_published_and_is_what_the_api_takes(api: Any) -> None:
    schema = _parameter(_document(api), "/schedules/{source_id}", "put", "If-Match")["schema"]
    assert schema["type"] == "string" and schema["maxLength"] == 200 and "pattern" in schema
    etag = api.put("/schedules/im", meeting()).json()["etag"]
    assert api.put("/schedules/im", meeting(title="2"), headers={"If-Match": etag}).status_code == 200
    stale = api.put("/schedules/im", meeting(title="3"), headers={"If-Match": etag})
    assert stale.status_code == 412 and stale.json()["error"]["field"] == "If-Match"
    for value in ("abc", "null", '"' + "a" * 199 + '"'):
        refused = api.put("/schedules/im", meeting(title="4"), headers={"If-Match": value})
        assert refused.status_code == 422 and refused.json()["error"]["field"] == "If-Match", value


def test_counted_as_visit_takes_only_booleans(api: Any) -> None:
    for value in (0, 1, "true", None):
        refused = api.put("/masters/purposes", [{"name": "定期訪問", "counted_as_visit": value}])
        assert refused.status_code == 422, (value, refused.content)
        assert refused.json()["error"]["field"] == "[0].counted_as_visit"
    assert api.put("/masters/purposes", [{"name": "定期訪問", "counted_as_visit": False}]).status_code == 200


@pytest.mark.parametrize("value", ["1.5", "0", "1795500000", "2026-11-24", "2026-11-24T12:00:00"])
def test_a_deletions_updated_at_must_be_a_date_and_time_with_an_offset(api: Any, value: str) -> None:
    refused = api.delete(f"/schedules/S-1?updated_at={value}")
    assert refused.status_code == 422 and refused.json()["error"]["field"] == "updated_at"
    assert api.delete("/schedules/S-1?updated_at=2026-11-24T12:00:00%2B09:00").status_code == 204


@pytest.mark.parametrize("value", [0, 1.5, "2026-11-24", "2026-11-24T10:00", "2026-11-24 10:00+09:00"])
def test_a_schedules_updated_at_must_be_a_date_and_time_with_an_offset(api: Any, value: Any) -> None:
    refused = api.put("/schedules/U-1", meeting(updated_at=value))
    assert refused.status_code == 422 and refused.json()["error"]["field"] == "updated_at", json.dumps(value)
