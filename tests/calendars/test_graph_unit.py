"""Unit tests of the Graph connector's parts, with httpx's MockTransport at the edge."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any, cast
from zoneinfo import ZoneInfo, available_timezones

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sfacal.calendars.base import (
    CalendarService,
    CheckResult,
    CreateEvent,
    DeleteEvent,
    EventTag,
    UpdateEvent,
)
from sfacal.calendars.msgraph import (
    TAG_PROPERTY_ID,
    GraphSettings,
    MicrosoftGraphCalendar,
    backoff_delay,
    event_body,
    parse_event,
    parse_thumbprint,
    parse_token_endpoint,
)
from sfacal.calendars.msgraph.auth import (
    AccessToken,
    GraphAuth,
    error_from_token_response,
    network_error_from,
)
from sfacal.calendars.msgraph.client import BatchItem, GraphClient
from sfacal.calendars.msgraph.errors import graph_error, retry_after_seconds
from sfacal.calendars.msgraph.payload import graph_zone_name
from sfacal.calendars.msgraph.settings import graph_scope_for
from sfacal.calendars.msgraph.throttle import MailboxSlots
from sfacal.core.errors import (
    AccessDeniedError,
    AppNotFoundError,
    ConflictError,
    CredentialError,
    InputError,
    InvalidSignatureError,
    MailboxNotFoundError,
    MailboxNotRestEnabledError,
    NetworkError,
    NotFoundError,
    ResyncRequiredError,
    SecretExpiredError,
    SecretInvalidError,
    ServiceUnavailableError,
    SfacalError,
    TenantNotFoundError,
    ThrottledError,
    ThumbprintMismatchError,
)
from sfacal.core.render import RenderedEvent
from sfacal.core.schedule import SourceRef
from sfacal.core.windows_zones import require_windows_zone
from sfacal.emulators.m365.timezones import WINDOWS_TO_IANA
from sfacal.emulators.m365.timezones import resolve as emulator_zone

GRAPH = "https://graph.example.test/v1.0"


# -- payload -------------------------------------------------------------------------------------


def _tag() -> EventTag:
    return EventTag(SourceRef("acme", "justsfa", "42"), "taro")


def test_s5_event_body_fields_and_s6_tag_and_transaction_id() -> None:
    event = RenderedEvent("件名", "場所", "本文", datetime(2030, 1, 2, 9, 30), datetime(2030, 1, 2, 10, 0))
    create = event_body(event, _tag(), "tx-1")
    assert create["start"] == {"dateTime": "2030-01-02T09:30:00", "timeZone": "Tokyo Standard Time"}
    assert create["isAllDay"] is False and create["sensitivity"] == "normal" and create["showAs"] == "busy"
    assert create["body"] == {"contentType": "text", "content": "本文"}
    assert create["location"] == {"displayName": "場所"}
    assert create["transactionId"] == "tx-1"
    assert create["singleValueExtendedProperties"] == [
        {"id": TAG_PROPERTY_ID, "value": "acme:justsfa:42:taro"}
    ]
    assert "isReminderOn" not in create and "reminderMinutesBeforeStart" not in create
    update = event_body(event, _tag())
    assert "transactionId" not in update
    odd_zone = RenderedEvent("s", "", "", datetime(2030, 1, 2), datetime(2030, 1, 3), "Asia/Kathmandu", True)
    assert event_body(odd_zone, _tag())["start"]["timeZone"] == "Nepal Standard Time"


def test_s5_every_zone_a_company_may_have_is_sent_as_a_name_graph_takes() -> None:
    """Each tz database zone the settings check lets through goes out under a name the emulator
    (built to Graph's list: Windows names plus a few IANA ones) accepts, and that name keeps the
    zone's clocks; the zones it refuses are the ones CLDR maps to no Windows zone or to one that
    keeps other clocks."""
    year = datetime.now(UTC).year
    instants = [datetime(y, m, 15, 12, tzinfo=UTC) for y in (year, year + 1) for m in (1, 4, 7, 10)]
    refused = []
    for name in sorted(available_timezones()):
        try:
            require_windows_zone(name)
        except InputError:
            refused.append(name)
            continue
        sent = graph_zone_name(name)
        assert sent in WINDOWS_TO_IANA, name
        graph_zone = emulator_zone(sent)
        for t in instants:
            assert t.astimezone(ZoneInfo(name)).utcoffset() == t.astimezone(graph_zone).utcoffset(), name
    assert "Europe/Amsterdam" not in refused and "Factory" in refused
    assert len(refused) < 20, refused


def test_parse_event_converts_zones_and_reads_tag() -> None:
    data = {
        "@odata.etag": 'W/"ck-1"',
        "id": "AAMk=",
        "subject": "s",
        "isAllDay": False,
        "start": {"dateTime": "2030-06-30T23:30:00.0000000", "timeZone": "UTC"},
        "end": {"dateTime": "2030-07-01T01:00:00.0000000", "timeZone": "UTC"},
        "lastModifiedDateTime": "2030-06-01T00:00:00Z",
        "singleValueExtendedProperties": [{"id": TAG_PROPERTY_ID.upper(), "value": "acme:justsfa:42:taro"}],
    }
    snap = parse_event(data, "Asia/Tokyo")
    assert (snap.start, snap.end) == (datetime(2030, 7, 1, 8, 30), datetime(2030, 7, 1, 10, 0))
    assert snap.change_key == "ck-1" and snap.tag == _tag()
    assert snap.last_modified == datetime(2030, 6, 1, tzinfo=UTC)
    windows = dict(data, start={"dateTime": "2030-07-01T08:30:00", "timeZone": "Tokyo Standard Time"})
    assert parse_event(windows, "UTC").start == datetime(2030, 6, 30, 23, 30)
    removed = parse_event({"id": "x", "@removed": {"reason": "deleted"}})
    assert removed.deleted and removed.id == "x"
    assert (
        parse_event(
            {"id": "y", "singleValueExtendedProperties": [{"id": TAG_PROPERTY_ID, "value": "junk"}]}
        ).tag
        is None
    )


@given(
    company=st.text(min_size=1, max_size=20).filter(str.strip),
    record=st.text(min_size=1, max_size=30).filter(str.strip),
    login=st.text(min_size=1, max_size=30).filter(str.strip),
)
def test_s6_tag_value_round_trips(company: str, record: str, login: str) -> None:
    try:
        tag = EventTag(SourceRef(company, "justsfa", record), login)
    except InputError:
        return  # the core refuses some parts (e.g. control characters); not our concern here
    assert EventTag.parse(tag.value) == tag


@given(
    st.datetimes(timezones=st.one_of(st.none(), st.timezones())),
)
def test_s5_wall_clock_text_is_the_seconds_of_the_wall_time(dt: datetime) -> None:
    from sfacal.calendars.msgraph.payload import _wall

    assert _wall(dt) == dt.replace(tzinfo=None, microsecond=0).isoformat(timespec="seconds")


# -- settings and credentials --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "host", "tenant", "version"),
    [
        (
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/token",
            "login.microsoftonline.com",
            "contoso.onmicrosoft.com",
            "v1",
        ),
        (
            "https://login.microsoftonline.com/0b1c/oauth2/v2.0/token/",
            "login.microsoftonline.com",
            "0b1c",
            "v2",
        ),
        (" https://LOGIN.chinacloudapi.cn/abc/oauth2/v2.0/token ", "login.chinacloudapi.cn", "abc", "v2"),
        ("https://127.0.0.1:8443/t1/oauth2/token", "127.0.0.1:8443", "t1", "v1"),
        ("https://login.microsoftonline.com/t2", "login.microsoftonline.com", "t2", "v2"),
    ],
)
def test_c6_token_endpoint_forms(url: str, host: str, tenant: str, version: str) -> None:
    ep = parse_token_endpoint(url)
    assert (ep.host, ep.tenant, ep.version) == (host, tenant, version)
    assert ep.authority == f"https://{host}/{tenant}"


def test_graph_scope_follows_national_clouds() -> None:
    assert graph_scope_for("https://graph.microsoft.com/v1.0") == "https://graph.microsoft.com/.default"
    assert graph_scope_for("https://graph.microsoft.us/v1.0") == "https://graph.microsoft.us/.default"
    assert graph_scope_for("https://127.0.0.1:9/v1.0") == "https://graph.microsoft.com/.default"


def test_c6_thumbprint_forms() -> None:
    digest = bytes(range(20))
    assert parse_thumbprint(base64.b64encode(digest).decode()).digest == digest
    assert parse_thumbprint(digest.hex().upper()).digest == digest
    assert parse_thumbprint("\u200e" + ":".join(f"{b:02x}" for b in digest)).digest == digest
    assert parse_thumbprint(bytes(32).hex()).algorithm == "sha256"
    for bad in ("", "xyz", "abcd", base64.b64encode(bytes(19)).decode()):
        with pytest.raises(ThumbprintMismatchError):
            parse_thumbprint(bad)


# -- error mapping -------------------------------------------------------------------------------


def _body(code: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": "m", "innerError": {"request-id": "rid-1"}}}


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (404, "ErrorInvalidUser", MailboxNotFoundError),
        (404, "ErrorNonExistentMailbox", MailboxNotFoundError),
        (404, "MailboxNotEnabledForRESTAPI", MailboxNotRestEnabledError),
        (403, "ErrorAccessDenied", AccessDeniedError),
        (403, "Authorization_RequestDenied", AccessDeniedError),
        (401, "InvalidAuthenticationToken", CredentialError),
        (404, "ErrorItemNotFound", NotFoundError),
        (410, "syncStateNotFound", ResyncRequiredError),
        (412, "ErrorIrresolvableConflict", ConflictError),
        (429, "ApplicationThrottled", ThrottledError),
        (503, "ServiceUnavailable", ServiceUnavailableError),
        (504, "GatewayTimeout", ServiceUnavailableError),
        (400, "ErrorPropertyValidationFailure", InputError),
        (400, "ErrorInvalidIdMalformed", NotFoundError),
    ],
)
def test_l2_graph_errors_map_to_core_errors(status: int, code: str, expected: type[SfacalError]) -> None:
    err = graph_error(status, _body(code), {"Retry-After": "7"}, mailbox="a@b.c")
    assert type(err) is expected
    assert err.upstream_code == code and err.http_status == status and "rid-1" in err.detail
    assert err.hint("ja") and err.hint("en")
    if isinstance(err, ThrottledError):
        assert err.retry_after == 7


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (90002, TenantNotFoundError),
        (700016, AppNotFoundError),
        (70001, AppNotFoundError),
        (7000215, SecretInvalidError),
        (7000222, SecretExpiredError),
        (700027, InvalidSignatureError),
        (50012, InvalidSignatureError),
        (50064, ThumbprintMismatchError),
        (123456, CredentialError),
    ],
)
def test_l2_token_errors_map_to_core_errors(code: int, expected: type[SfacalError]) -> None:
    body = {
        "error": "invalid_client",
        "error_description": f"AADSTS{code}: text client_secret=abc",
        "error_codes": [code],
    }
    err = error_from_token_response(body, ("abc",))
    assert type(err) is expected
    assert "abc" not in err.detail
    assert type(error_from_token_response({"error_description": f"AADSTS{code}: only in text"})) is expected


def test_l2_network_error_kinds() -> None:
    assert (
        network_error_from(httpx.ConnectError("[Errno -2] Name or service not known"), "h").params["kind"]
        == "dns"
    )
    assert (
        network_error_from(httpx.ConnectError("[Errno 111] Connection refused"), "h").params["kind"]
        == "refused"
    )
    tls = httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed")
    assert network_error_from(tls, "h").params["kind"] == "tls"
    assert network_error_from(httpx.ReadTimeout("timed out"), "h").params["kind"] == "timeout"
    assert network_error_from(httpx.RemoteProtocolError("Server disconnected"), "h").params["kind"] == "reset"


def test_retry_after_forms() -> None:
    assert retry_after_seconds({"retry-after": "3"}) == 3
    now = datetime(2030, 1, 1, tzinfo=UTC)
    assert (
        retry_after_seconds({"Retry-After": format_datetime(now + timedelta(seconds=9), usegmt=True)}, now)
        == 9
    )
    assert retry_after_seconds({"Retry-After": "soon"}) is None
    assert retry_after_seconds({}) is None


def test_backoff_is_bounded_and_obeys_retry_after() -> None:
    for attempt in range(12):
        delay = backoff_delay(attempt, cap=10)
        assert 0 < delay <= 10
    assert 5 <= backoff_delay(0, 5.0) <= 5.6
    assert backoff_delay(0, 500.0, cap=30) <= 30.3


# -- the per-mailbox slots -----------------------------------------------------------------------


def test_mailbox_slots_hold_across_threads_and_loops() -> None:
    slots = MailboxSlots(4)
    current = 0
    peak = 0
    lock = threading.Lock()

    async def worker() -> None:
        nonlocal current, peak
        for n in (1, 3, 4, 2):
            async with slots.hold(n) as taken:
                with lock:
                    current += taken
                    peak = max(peak, current)
                    assert current <= 4
                await asyncio.sleep(0)
                with lock:
                    current -= taken

    def thread_main() -> None:
        async def many() -> None:
            await asyncio.gather(*(worker() for _ in range(20)))

        asyncio.run(many())

    threads = [threading.Thread(target=thread_main) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert peak <= 4 and slots.peak <= 4 and slots.in_flight == 0


def test_mailbox_slots_cancelled_waiter_gives_nothing_away() -> None:
    async def main() -> None:
        slots = MailboxSlots(1)
        await slots.acquire()
        waiter = asyncio.ensure_future(slots.acquire())
        await asyncio.sleep(0)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        slots.release()
        assert slots.in_flight == 0
        async with slots.hold():
            assert slots.in_flight == 1

    asyncio.run(main())


# -- the HTTP client with a mock transport ------------------------------------------------------


class FakeAuth:
    def __init__(self) -> None:
        self.acquired = 0
        self.invalidated = 0

    def acquire(self) -> AccessToken:
        self.acquired += 1
        return AccessToken(f"tok-{self.acquired}", time.time() + 3600, frozenset({"Calendars.ReadWrite"}))

    def invalidate(self) -> None:
        self.invalidated += 1

    def close(self) -> None:
        pass

    def expiry_warnings(self) -> tuple[()]:
        return ()


def _settings(**kw: Any) -> GraphSettings:
    base: dict[str, Any] = {
        "client_id": "app",
        "token_endpoint": "https://login.example.test/t/oauth2/v2.0/token",
        "graph_base_url": GRAPH,
        "max_attempts": 4,
    }
    base.update(kw)
    return GraphSettings(**base)


class Recorder:
    def __init__(self, handler: Any) -> None:
        self.handler = handler
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.handler(request, len(self.requests))


def _run(handler: Any, scenario: Any, **settings: Any) -> tuple[Any, Recorder, list[float], FakeAuth]:
    recorder = Recorder(handler)
    sleeps: list[float] = []
    auth = FakeAuth()

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    async def main() -> Any:
        fake = cast(GraphAuth, auth)
        client = GraphClient(
            _settings(**settings), fake, transport=httpx.MockTransport(recorder), sleep=sleep
        )
        cal = MicrosoftGraphCalendar(_settings(**settings), auth=fake, client=client)
        try:
            return await scenario(cal, client)
        finally:
            await client.aclose()

    return asyncio.run(main()), recorder, sleeps, auth


def test_l2_throttled_request_obeys_retry_after_then_succeeds() -> None:
    def handler(request: httpx.Request, n: int) -> httpx.Response:
        if n < 3:
            return httpx.Response(429, headers={"Retry-After": "2"}, json=_body("ApplicationThrottled"))
        return httpx.Response(200, json={"value": []})

    result, rec, sleeps, _ = _run(handler, lambda cal, c: c.request("GET", "/users/a/calendars", mailbox="a"))
    assert result.status == 200 and len(rec.requests) == 3
    assert len(sleeps) == 2 and all(2 <= s < 2.3 for s in sleeps)
    assert rec.requests[0].headers["Authorization"] == "Bearer tok-1"


def test_l2_throttling_that_does_not_end_is_a_retryable_throttled_error() -> None:
    def handler(request: httpx.Request, n: int) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": "1"}, json=_body("ApplicationThrottled"))

    with pytest.raises(ThrottledError) as info:
        _run(handler, lambda cal, c: c.request("GET", "/x", mailbox="a"))
    assert info.value.retryable and info.value.retry_after == 1


def test_connection_reset_is_retried_but_dns_failure_is_not() -> None:
    def reset(request: httpx.Request, n: int) -> httpx.Response:
        if n == 1:
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
        return httpx.Response(204)

    result, rec, sleeps, _ = _run(reset, lambda cal, c: c.request("DELETE", "/users/a/events/1", mailbox="a"))
    assert result.status == 204 and len(rec.requests) == 2 and len(sleeps) == 1

    def dns(request: httpx.Request, n: int) -> httpx.Response:
        raise httpx.ConnectError("[Errno -2] Name or service not known")

    with pytest.raises(NetworkError) as info:
        _run(dns, lambda cal, c: c.request("GET", "/x"))
    assert info.value.params == {"host": "graph.example.test", "kind": "dns"}


def test_expired_token_is_refreshed_once() -> None:
    def handler(request: httpx.Request, n: int) -> httpx.Response:
        if request.headers["Authorization"] == "Bearer tok-1":
            return httpx.Response(401, json=_body("InvalidAuthenticationToken"))
        return httpx.Response(200, json={})

    result, _, _, auth = _run(handler, lambda cal, c: c.request("GET", "/x"))
    assert result.status == 200 and auth.invalidated == 1 and auth.acquired == 2

    def always(request: httpx.Request, n: int) -> httpx.Response:
        return httpx.Response(401, json=_body("InvalidAuthenticationToken"))

    with pytest.raises(CredentialError):
        _run(always, lambda cal, c: c.request("GET", "/x"))


def test_links_outside_the_graph_host_are_not_followed() -> None:
    def handler(request: httpx.Request, n: int) -> httpx.Response:
        return httpx.Response(
            200, json={"value": [{"id": "1"}], "@odata.nextLink": "https://evil.example/steal"}
        )

    with pytest.raises(SfacalError) as info:
        _run(handler, lambda cal, c: c.get_all("/users/a/calendars", mailbox="a"))
    assert "evil.example" in str(info.value)


def test_batch_retries_only_throttled_items() -> None:
    seen: list[list[str]] = []

    def handler(request: httpx.Request, n: int) -> httpx.Response:
        payload = json.loads(request.content)
        ids = [r["id"] for r in payload["requests"]]
        seen.append(ids)
        responses = []
        for r in payload["requests"]:
            if n == 1 and r["id"] in ("2", "3"):
                responses.append(
                    {
                        "id": r["id"],
                        "status": 429,
                        "headers": {"Retry-After": "1"},
                        "body": _body("ApplicationThrottled"),
                    }
                )
            else:
                responses.append({"id": r["id"], "status": 201, "body": {"id": f"ev-{r['id']}"}})
        return httpx.Response(200, json={"responses": list(reversed(responses))})

    items = [BatchItem("POST", "/users/a/calendar/events", {"subject": str(i)}) for i in range(4)]
    result, _, sleeps, _ = _run(handler, lambda cal, c: c.batch("a", items))
    assert [r.body["id"] for r in result] == ["ev-1", "ev-2", "ev-3", "ev-4"]
    assert seen == [["1", "2", "3", "4"], ["2", "3"]]
    assert len(sleeps) == 1 and sleeps[0] >= 1


def test_update_412_rereads_change_key_and_retries() -> None:
    def handler(request: httpx.Request, n: int) -> httpx.Response:
        if request.method == "PATCH" and request.headers.get("If-Match") == 'W/"old"':
            return httpx.Response(412, json=_body("ErrorIrresolvableConflict"))
        if request.method == "GET":
            return httpx.Response(200, json={"id": "e1", "changeKey": "new"})
        assert request.headers.get("If-Match") == 'W/"new"'
        return httpx.Response(200, json={"id": "e1", "changeKey": "newer"})

    event = RenderedEvent("s", "", "", datetime(2030, 1, 1, 9), datetime(2030, 1, 1, 10))

    async def scenario(cal: MicrosoftGraphCalendar, client: GraphClient) -> Any:
        return await cal.update_event("a@b.c", "e1", event, _tag(), change_key="old")

    outcome, rec, _, _ = _run(handler, scenario)
    assert outcome.ok and outcome.change_key == "newer"
    assert [r.method for r in rec.requests] == ["PATCH", "GET", "PATCH"]


def test_apply_reports_each_failure_and_never_raises() -> None:
    def handler(request: httpx.Request, n: int) -> httpx.Response:
        payload = json.loads(request.content)
        out = []
        for r in payload["requests"]:
            if r["method"] == "DELETE":
                out.append({"id": r["id"], "status": 404, "body": _body("ErrorItemNotFound")})
            else:
                out.append({"id": r["id"], "status": 403, "body": _body("ErrorAccessDenied")})
        return httpx.Response(200, json={"responses": out})

    event = RenderedEvent("s", "", "", datetime(2030, 1, 1, 9), datetime(2030, 1, 1, 10))
    writes = [DeleteEvent("gone"), UpdateEvent("e2", event, _tag())]
    outcomes, _, _, _ = _run(handler, lambda cal, c: cal.apply("a@b.c", writes))
    assert outcomes[0].ok and outcomes[0].already_gone
    assert isinstance(outcomes[1].error, AccessDeniedError)
    assert outcomes[1].error.params["mailbox"] == "a@b.c"

    def broken(request: httpx.Request, n: int) -> httpx.Response:
        raise httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed")

    outcomes, _, _, _ = _run(broken, lambda cal, c: cal.apply("a@b.c", writes))
    assert all(isinstance(o.error, NetworkError) for o in outcomes)


def test_read_changes_follows_next_links_and_410_means_resync() -> None:
    def handler(request: httpx.Request, n: int) -> httpx.Response:
        if "page2" in str(request.url):
            return httpx.Response(
                200,
                json={
                    "value": [{"id": "b", "@removed": {"reason": "deleted"}}],
                    "@odata.deltaLink": f"{GRAPH}/delta?token=t2",
                },
            )
        assert request.url.params["startDateTime"] == "2030-01-01T00:00:00Z"
        assert "odata.maxpagesize" in request.headers["Prefer"]
        return httpx.Response(
            200, json={"value": [{"id": "a", "subject": "A"}], "@odata.nextLink": f"{GRAPH}/delta?page2=1"}
        )

    start, end = datetime(2030, 1, 1, tzinfo=UTC), datetime(2030, 2, 1, tzinfo=UTC)
    page, _, _, _ = _run(handler, lambda cal, c: cal.read_changes("a@b.c", start=start, end=end))
    assert [(e.id, e.deleted) for e in page.events] == [("a", False), ("b", True)]
    assert page.delta_token.endswith("token=t2")

    def gone(request: httpx.Request, n: int) -> httpx.Response:
        return httpx.Response(410, json=_body("SyncStateNotFound"))

    with pytest.raises(ResyncRequiredError):
        _run(
            gone,
            lambda cal, c: cal.read_changes(
                "a@b.c", start=start, end=end, delta_token=f"{GRAPH}/delta?token=old"
            ),
        )


def test_check_result_serialises_for_the_screens() -> None:
    ok = CheckResult(True, details={"check": "mailbox"})
    assert ok.to_dict("en")["message"].startswith("The mailbox")
    bad = CheckResult(False, MailboxNotFoundError("x", mailbox="m@x"))
    data = bad.to_dict("ja")
    assert data["code"] == "mailbox_not_found" and "m@x" in data["message"] and data["hint"]


def test_e3_missing_calendar_is_looked_up_once_per_apply() -> None:
    def handler(request: httpx.Request, n: int) -> httpx.Response:
        assert request.url.path.endswith("/calendars")
        return httpx.Response(
            200, json={"value": [{"id": "c1", "name": "Calendar", "isDefaultCalendar": True}]}
        )

    event = RenderedEvent("s", "", "", datetime(2030, 1, 1, 9), datetime(2030, 1, 1, 10))
    writes = [CreateEvent(event, _tag(), f"tx-{i}", "営業") for i in range(5)]
    outcomes, rec, _, _ = _run(handler, lambda cal, c: cal.apply("a@b.c", writes))
    assert all(o.error is not None and o.error.code == "calendar_not_found" for o in outcomes)
    assert len(rec.requests) == 1


def test_graph_connector_implements_the_calendar_protocol() -> None:
    service = MicrosoftGraphCalendar(_settings())
    assert isinstance(service, CalendarService)
    assert (
        service.setup_error is not None and service.setup_error.code == "pfx_unreadable"
    )  # no .pfx uploaded
    outcomes = asyncio.run(service.apply("a@b.c", [DeleteEvent("x")]))
    assert outcomes[0].error is service.setup_error


# -- forms real Graph answers in (issue 16) ------------------------------------------------------

LOCATION = "https://outlook.office.com/api/v2.0/Users('u@t')/Events('AAkALg-1')"
WWW_AUTHENTICATE = (
    'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", '
    'client_id="00000003-0000-0000-c000-000000000000"'
)


def test_every_request_and_batch_item_asks_for_immutable_ids() -> None:
    """The preference reaches Graph on a plain request (next to the read preferences), on the
    ``$batch`` POST and on every item in it (the outer headers do not reach the items)."""

    def handler(request: httpx.Request, n: int) -> httpx.Response:
        if request.url.path.endswith("$batch"):
            payload = json.loads(request.content)
            assert all(r["headers"]["Prefer"] == 'IdType="ImmutableId"' for r in payload["requests"])
            return httpx.Response(
                200, json={"responses": [{"id": r["id"], "status": 204} for r in payload["requests"]]}
            )
        if request.method == "GET":
            return httpx.Response(200, json={"id": "e1", "subject": "s"})
        return httpx.Response(204)

    async def scenario(cal: MicrosoftGraphCalendar, client: GraphClient) -> Any:
        await cal.get_event("a@b.c", "e1", "Asia/Tokyo")
        await cal.apply("a@b.c", [DeleteEvent("e1"), DeleteEvent("e2")])

    _, rec, _, _ = _run(handler, scenario)
    get, batch = rec.requests
    assert get.headers["Prefer"].endswith(', IdType="ImmutableId"')
    assert 'outlook.timezone="Tokyo Standard Time"' in get.headers["Prefer"]
    assert batch.headers["Prefer"] == 'IdType="ImmutableId"'


def test_sdk_forms_201_with_location_and_null_transaction_id() -> None:
    """A 201 with ``Location`` and ``"transactionId": null`` (as Graph answers an event created
    without one) is read for its id and change key; a read of it has no transaction id."""
    answer = {"id": "AAkALg-1", "changeKey": "ck-1", "transactionId": None, "subject": "s"}

    def handler(request: httpx.Request, n: int) -> httpx.Response:
        status = 201 if request.method == "POST" else 200
        return httpx.Response(status, headers={"Location": LOCATION} if status == 201 else {}, json=answer)

    event = RenderedEvent("s", "", "", datetime(2030, 1, 1, 9), datetime(2030, 1, 1, 10))

    async def scenario(cal: MicrosoftGraphCalendar, client: GraphClient) -> Any:
        [outcome] = await cal.apply("a@b.c", [CreateEvent(event, _tag(), "tx-1")])
        return outcome, await cal.get_event("a@b.c", "AAkALg-1")

    (outcome, read), _, _, _ = _run(handler, scenario)
    assert outcome.ok and (outcome.event_id, outcome.change_key) == ("AAkALg-1", "ck-1")
    assert read is not None and read.transaction_id is None
    assert parse_event(answer).transaction_id is None


def test_sdk_forms_401_with_www_authenticate_is_retried_once_with_a_fresh_token() -> None:
    """Graph's 401 carries ``WWW-Authenticate``; the connector takes a fresh token once, and a second
    401 is a ``CredentialError`` (its hint: the credentials), never a loop."""
    tokens: list[str] = []

    def handler(request: httpx.Request, n: int) -> httpx.Response:
        tokens.append(request.headers["Authorization"])
        return httpx.Response(
            401, headers={"WWW-Authenticate": WWW_AUTHENTICATE}, json=_body("InvalidAuthenticationToken")
        )

    with pytest.raises(CredentialError) as info:
        _run(handler, lambda cal, c: c.request("GET", "/users/a/calendar", mailbox="a"))
    assert info.value.http_status == 401 and info.value.upstream_code == "InvalidAuthenticationToken"
    assert tokens == ["Bearer tok-1", "Bearer tok-2"]


def test_sdk_forms_batches_never_exceed_twenty() -> None:
    """Graph refuses more than 20 requests in a batch ("Number of requests inside batch exceeds the
    limit."): 45 writes go out as batches of at most 20."""
    sizes: list[int] = []

    def handler(request: httpx.Request, n: int) -> httpx.Response:
        payload = json.loads(request.content)
        sizes.append(len(payload["requests"]))
        return httpx.Response(
            200, json={"responses": [{"id": r["id"], "status": 204} for r in payload["requests"]]}
        )

    async def scenario(cal: MicrosoftGraphCalendar, client: GraphClient) -> Any:
        return await cal.apply("a@b.c", [DeleteEvent(f"e{i}") for i in range(45)])

    outcomes, _, _, _ = _run(handler, scenario)
    assert all(o.ok for o in outcomes) and sorted(sizes) == [5, 20, 20]
