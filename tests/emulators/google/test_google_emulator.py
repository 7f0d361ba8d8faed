"""The Google emulator answers as Google does: token endpoint (JWT-bearer grant, signature checked,
delegation, unknown users), Calendar v3 bodies checked against the discovery document, quotas,
sync tokens, batch -- and Google's own client library (``google-api-python-client`` with
``google-auth``) works against it unchanged."""

from __future__ import annotations

import json
import ssl
import time
from typing import Any

import google_auth_httplib2
import httplib2
import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth import crypt
from google.auth import jwt as google_jwt
from google.oauth2 import service_account
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError
from googleapiclient.http import BatchHttpRequest

from sfacal.emulators.google import CALENDAR_SCOPES
from sfacal.emulators.google.discovery import SchemaError, check_query, validate
from tests.calendars.google_helpers import Google

EVENT = {
    "summary": "訪問",
    "start": {"dateTime": "2030-04-08T10:00:00+09:00", "timeZone": "Asia/Tokyo"},
    "end": {"dateTime": "2030-04-08T11:00:00+09:00", "timeZone": "Asia/Tokyo"},
}


def _http(google: Google) -> httpx.Client:
    return httpx.Client(
        verify=ssl.create_default_context(cafile=str(google.emu.ca_pem)), base_url=google.emu.base_url
    )


def _assertion(key: dict[str, str], token_url: str, subject: str | None, **claims: Any) -> str:
    signer = crypt.RSASigner.from_service_account_info(key)
    now = int(time.time())
    payload: dict[str, Any] = {"iss": key["client_email"], "aud": token_url, "iat": now, "exp": now + 3600}
    payload["scope"] = " ".join(CALENDAR_SCOPES)
    if subject:
        payload["sub"] = subject
    payload.update(claims)
    return google_jwt.encode(signer, payload).decode()


def _token(google: Google, key: dict[str, str], subject: str | None, **claims: Any) -> httpx.Response:
    with _http(google) as http:
        return http.post(
            "/token",
            data={
                "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                "assertion": _assertion(key, google.emu.token_url, subject, **claims),
            },
        )


def _bearer(google: Google, key: dict[str, str], subject: str) -> dict[str, str]:
    response = _token(google, key, subject)
    assert response.status_code == 200, response.text
    return {"Authorization": "Bearer " + response.json()["access_token"]}


# -- the discovery document -----------------------------------------------------------------------


def test_discovery_validation_refuses_what_google_does_not_know() -> None:
    validate("Event", EVENT)
    with pytest.raises(SchemaError, match="unknown field 'subject'"):
        validate("Event", {**EVENT, "subject": "Graph's name"})
    with pytest.raises(SchemaError, match="date"):
        validate("Event", {**EVENT, "start": {"date": "2030-4-8"}})
    with pytest.raises(SchemaError, match="transparency"):
        validate("Event", {**EVENT, "transparency": "busy"})
    with pytest.raises(SchemaError, match="expected a string"):
        validate("Event", {**EVENT, "extendedProperties": {"private": {"k": 1}}})
    check_query("events.list", [("privateExtendedProperty", "a=1"), ("privateExtendedProperty", "b=2")])
    with pytest.raises(SchemaError, match="unknown query parameter"):
        check_query("events.list", [("$filter", "x")])
    with pytest.raises(SchemaError, match="more than once"):
        check_query("events.list", [("syncToken", "a"), ("syncToken", "b")])


# -- the token endpoint ---------------------------------------------------------------------------


def test_token_endpoint_verifies_the_signature_and_delegation(google: Google) -> None:
    key = google.new_key()
    user = google.new_user()
    assert _token(google, key, user).json()["token_type"] == "Bearer"
    assert _token(google, key, None).status_code == 200  # the service account itself

    forged = dict(key)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged["private_key"] = other.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    bad = _token(google, forged, user)
    assert bad.status_code == 400 and bad.json() == {
        "error": "invalid_grant",
        "error_description": "Invalid JWT Signature.",
    }

    stale = _token(google, key, user, iat=int(time.time()) - 7300, exp=int(time.time()) - 3700)
    assert stale.status_code == 400 and "iat and exp" in stale.json()["error_description"]

    undelegated = google.new_key(delegated_scopes=())
    refused = _token(google, undelegated, user)
    assert refused.status_code == 401 and refused.json()["error"] == "unauthorized_client"

    missing = _token(google, key, "nobody@" + google.domain)
    assert missing.status_code == 400
    assert missing.json()["error_description"] == "Invalid email or User ID"
    outsider = _token(google, key, "someone@other.example")
    assert outsider.json()["error_description"] == "Invalid email or User ID"

    google.control.update_service_account(key["client_email"], key_revoked=True)
    assert _token(google, key, user).json()["error_description"] == "Invalid JWT Signature."


# -- the Calendar API ------------------------------------------------------------------------------


def test_bodies_are_checked_and_answers_match_the_discovery_document(google: Google) -> None:
    key = google.new_key()
    user = google.new_user(calendars=["営業"])
    auth = _bearer(google, key, user)
    with _http(google) as http:
        bad = http.post("/calendar/v3/calendars/primary/events", json={**EVENT, "subject": "x"}, headers=auth)
        assert bad.status_code == 400 and bad.json()["error"]["errors"][0]["reason"] == "invalid"
        made = http.post(
            "/calendar/v3/calendars/primary/events", json={**EVENT, "id": "abc12345"}, headers=auth
        )
        assert made.status_code == 200
        validate("Event", made.json())
        again = http.post(
            "/calendar/v3/calendars/primary/events", json={**EVENT, "id": "abc12345"}, headers=auth
        )
        assert again.status_code == 409 and again.json()["error"]["errors"][0]["reason"] == "duplicate"
        bad_id = http.post(
            "/calendar/v3/calendars/primary/events", json={**EVENT, "id": "ABC-1"}, headers=auth
        )
        assert bad_id.status_code == 400
        listed = http.get("/calendar/v3/calendars/primary/events", params={"timeZone": "UTC"}, headers=auth)
        validate("Events", listed.json())
        assert listed.json()["items"][0]["start"]["dateTime"] == "2030-04-08T01:00:00+00:00"
        calendars = http.get("/calendar/v3/users/me/calendarList", headers=auth).json()
        validate("CalendarList", calendars)
        assert {c["summary"] for c in calendars["items"]} == {user, "営業"}
        stale = http.put(
            "/calendar/v3/calendars/primary/events/abc12345", json=EVENT, headers={**auth, "If-Match": '"1"'}
        )
        assert stale.status_code == 412
        assert http.delete("/calendar/v3/calendars/primary/events/abc12345", headers=auth).status_code == 204
        gone = http.delete("/calendar/v3/calendars/primary/events/abc12345", headers=auth)
        assert gone.status_code == 410
        unauth = http.get("/calendar/v3/users/me/calendarList", headers={"Authorization": "Bearer nope"})
        assert unauth.status_code == 401 and unauth.json()["error"]["errors"][0]["reason"] == "authError"


def test_sync_tokens_report_changes_and_expire_with_410(google: Google) -> None:
    key = google.new_key()
    user = google.new_user()
    auth = _bearer(google, key, user)
    with _http(google) as http:
        first = http.post("/calendar/v3/calendars/primary/events", json=EVENT, headers=auth).json()
        full = http.get("/calendar/v3/calendars/primary/events", headers=auth).json()
        token = full["nextSyncToken"]
        assert [e["id"] for e in full["items"]] == [first["id"]]
        clash = http.get(
            "/calendar/v3/calendars/primary/events",
            params={"syncToken": token, "timeMin": "2030-01-01T00:00:00Z"},
            headers=auth,
        )
        assert clash.status_code == 400
        http.delete(f"/calendar/v3/calendars/primary/events/{first['id']}", headers=auth)
        delta = http.get(
            "/calendar/v3/calendars/primary/events", params={"syncToken": token}, headers=auth
        ).json()
        assert [(e["id"], e["status"]) for e in delta["items"]] == [(first["id"], "cancelled")]
        google.control.expire_sync_tokens()
        expired = http.get(
            "/calendar/v3/calendars/primary/events",
            params={"syncToken": delta["nextSyncToken"]},
            headers=auth,
        )
        assert expired.status_code == 410
        assert expired.json()["error"]["errors"][0]["reason"] == "fullSyncRequired"


def test_quotas_and_the_api_switch(google: Google) -> None:
    key = google.new_key()
    user = google.new_user()
    auth = _bearer(google, key, user)
    google.control.set_knobs(user_rate_limit=3, rate_window_s=60)
    try:
        with _http(google) as http:
            answers = [http.get("/calendar/v3/users/me/calendarList", headers=auth) for _ in range(5)]
        assert [a.status_code for a in answers] == [200, 200, 200, 403, 403]
        assert answers[-1].json()["error"]["errors"][0]["reason"] == "userRateLimitExceeded"
    finally:
        google.control.set_knobs(user_rate_limit=0, rate_window_s=1)
    project = google.control.create_project()
    other_key = google.control.create_service_account(project["project_id"], google.domain)
    google.control.set_api_enabled(project["project_id"], False)
    with _http(google) as http:
        off = http.get("/calendar/v3/users/me/calendarList", headers=_bearer(google, other_key, user))
    assert off.status_code == 403 and off.json()["error"]["errors"][0]["reason"] == "accessNotConfigured"


# -- Google's own client library against the emulator ---------------------------------------------


def test_googles_client_library_works_against_the_emulator(google: Google) -> None:
    """``google-auth`` (service account, subject) + ``google-api-python-client`` (static discovery
    document, batch) speak to the emulator unchanged: token grant, insert, batch, list with a
    private extended property, incremental sync."""
    key = google.new_key()
    user = google.new_user()
    credentials = service_account.Credentials.from_service_account_info(
        key, scopes=list(CALENDAR_SCOPES), subject=user
    )
    http = google_auth_httplib2.AuthorizedHttp(
        credentials, http=httplib2.Http(ca_certs=str(google.emu.ca_pem))
    )
    service = build(
        "calendar",
        "v3",
        http=http,
        static_discovery=True,
        client_options={"api_endpoint": google.emu.base_url + "/calendar/v3/"},
    )
    tagged = {**EVENT, "extendedProperties": {"private": {"sfacalTag": "acme:justsfa:1:taro"}}}
    made = service.events().insert(calendarId="primary", body={**tagged, "id": "lib00001"}).execute()
    assert made["id"] == "lib00001"
    answers: dict[str, Any] = {}

    def collect(request_id: str, response: Any, exception: Exception | None) -> None:
        answers[request_id] = exception or response

    batch = BatchHttpRequest(callback=collect, batch_uri=google.emu.base_url + "/batch/calendar/v3")
    batch.add(service.events().insert(calendarId="primary", body={**EVENT, "id": "lib00002"}), request_id="a")
    batch.add(service.events().insert(calendarId="primary", body={**EVENT, "id": "lib00001"}), request_id="b")
    batch.execute()
    assert answers["a"]["id"] == "lib00002"
    assert isinstance(answers["b"], HttpError) and answers["b"].resp.status == 409
    found = (
        service.events()
        .list(calendarId="primary", privateExtendedProperty="sfacalTag=acme:justsfa:1:taro")
        .execute()
    )
    assert [e["id"] for e in found["items"]] == ["lib00001"]
    token = service.events().list(calendarId="primary").execute()["nextSyncToken"]
    service.events().delete(calendarId="primary", eventId="lib00002").execute()
    delta = service.events().list(calendarId="primary", syncToken=token).execute()
    assert [(e["id"], e["status"]) for e in delta["items"]] == [("lib00002", "cancelled")]
    assert json.loads(json.dumps(delta))  # plain JSON all the way


def test_check_responses_turns_an_answer_off_the_document_into_a_500() -> None:
    from sfacal.emulators.google.api import ApiResponse, CalendarApi
    from sfacal.emulators.google.state import EmulatorState, Knobs

    api = CalendarApi(EmulatorState(Knobs(check_responses=True)))
    path = "/calendar/v3/calendars/primary/events/abcde"
    good = ApiResponse(200, {"kind": "calendar#event", "id": "abcde", "summary": "x"})
    assert api._checked("GET", path, good) is good
    bad = api._checked("GET", path, ApiResponse(200, {"id": "abcde", "subject": "Graph's name"}))
    assert bad.status == 500 and "unknown field 'subject'" in str(bad.body)
