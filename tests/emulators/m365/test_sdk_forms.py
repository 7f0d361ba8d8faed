"""URL and header forms the official Graph SDKs use and meet, and extended-property filters that
ignore case in the value, as Graph's do."""

from __future__ import annotations

import httpx
import pytest

from .conftest import EXT_ID, World, event_body
from .test_delta_and_subscriptions import WINDOW


@pytest.mark.parametrize("function", ["delta", "delta()", "microsoft.graph.delta()", "microsoft.graph.delta"])
def test_calendar_view_delta_in_every_form_the_sdks_send(world: World, function: str) -> None:
    """The SDKs' URL templates call the function as ``calendarView/delta()`` (msgraph-sdk-php,
    msgraph-sdk-go: ``{+baseurl}/users/{user%2Did}/calendarView/delta(){?startDateTime*,…}``) or
    namespace-qualified; all reach the same delta."""
    world.create_event()
    r = world.get(f"users/{world.upn}/calendarView/{function}", params=WINDOW)
    assert r.status_code == 200, r.text
    assert len(r.json()["value"]) == 1 and "$deltatoken=" in r.json()["@odata.deltaLink"]


def test_created_event_and_calendar_carry_location(world: World) -> None:
    """201 answers carry ``Location``, Outlook's own URL of what was made: observed as
    ``https://outlook.office.com/api/v2.0/Users(…)/Calendars('AAMk…')`` in
    microsoftgraph/microsoft-graph-docs#5580."""
    r = world.post(f"users/{world.upn}/calendar/events", json=event_body())
    assert r.status_code == 201
    user = world.user.id
    assert r.headers["Location"] == (
        f"https://outlook.office.com/api/v2.0/Users('{user}@{world.tenant_id}')/Events('{r.json()['id']}')"
    )
    r = world.post(f"users/{world.upn}/calendars", json={"name": "訪問"})
    assert r.status_code == 201
    assert r.headers["Location"].endswith(f"/Calendars('{r.json()['id']}')")


def test_401_carries_www_authenticate(world: World) -> None:
    """Graph's 401 names where to get a token: ``WWW-Authenticate: Bearer realm="",
    authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize",
    client_id="00000003-0000-0000-c000-000000000000"``. Microsoft:
    https://learn.microsoft.com/en-us/entra/msal/dotnet/advanced/extract-authentication-parameters"""
    for headers in ({}, {"Authorization": "Bearer not-a-token"}):
        r = world.http.get(world.url(f"users/{world.upn}/calendar"), headers=headers)
        assert r.status_code == 401
        assert r.json()["error"]["code"] == "InvalidAuthenticationToken"
        assert r.headers["WWW-Authenticate"] == (
            'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", '
            'client_id="00000003-0000-0000-c000-000000000000"'
        )


def test_transaction_id_is_null_when_unset(world: World) -> None:
    """An event created without a ``transactionId`` reads ``"transactionId": null`` (captured Graph
    answers in public code show it right after ``categories``), also under ``$select``."""
    ev = world.create_event()
    assert "transactionId" in ev and ev["transactionId"] is None
    r = world.get(f"users/{world.upn}/events/{ev['id']}", params={"$select": "transactionId"})
    assert r.json()["transactionId"] is None
    assert world.create_event(transactionId="tx-9")["transactionId"] == "tx-9"


def test_batch_over_the_limit_is_refused_in_graphs_words(world: World) -> None:
    """More than 20 requests: 400 "Number of requests inside batch exceeds the limit." (as Graph
    words it: microsoftgraph/microsoftgraph-postman-collections#9)."""
    many = [{"id": str(i), "method": "GET", "url": f"/users/{world.upn}/calendar"} for i in range(21)]
    r: httpx.Response = world.post("$batch", json={"requests": many})
    assert r.status_code == 400
    assert r.json()["error"]["message"] == "Number of requests inside batch exceeds the limit."


def test_extended_property_values_compare_ignoring_case_names_do_not(world: World) -> None:
    """ "Filtering the string name (Name) in the id of an extended property is case-sensitive.
    Filtering the value property of an extended property is case-insensitive." Microsoft:
    https://learn.microsoft.com/en-us/graph/api/singlevaluelegacyextendedproperty-get"""
    for value in ("acme:push:rec-a:taro", "ACME:PUSH:REC-A:TARO", "acme:push:rec-b:taro"):
        world.create_event(subject=value, singleValueExtendedProperties=[{"id": EXT_ID, "value": value}])

    def found(prop_id: str, value: str) -> list[str]:
        flt = f"singleValueExtendedProperties/Any(ep: ep/id eq '{prop_id}' and ep/value eq '{value}')"
        r = world.get(f"users/{world.upn}/calendar/events", params={"$filter": flt})
        assert r.status_code == 200, r.text
        return sorted(v["subject"] for v in r.json()["value"])

    both = ["ACME:PUSH:REC-A:TARO", "acme:push:rec-a:taro"]
    assert found(EXT_ID, "acme:push:rec-a:taro") == both
    assert found(EXT_ID, "Acme:Push:Rec-A:Taro") == both
    assert found(EXT_ID, "acme:push:rec-b:taro") == ["acme:push:rec-b:taro"]
    assert found(EXT_ID.replace("sfacalScheduleId", "SFACALSCHEDULEID"), "acme:push:rec-a:taro") == []
    assert (
        found(EXT_ID.replace("String {66f5", "String {66F5"), "acme:push:rec-a:taro") == both
    )  # the GUID is a GUID
