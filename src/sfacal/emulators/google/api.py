"""The Calendar API v3 subset sfacal uses, answering as Google does.

Every request passes, in this order: the access token (``401 authError``), the project's API switch
(``403 accessNotConfigured``), the token's scopes against the method's scopes in the discovery
document (``403 insufficientPermissions``), the per-project and per-user quotas (``403``/``429``
``rateLimitExceeded``/``userRateLimitExceeded``), the query parameters and the request body against
the discovery document (``400 invalid``/``required``), and only then the method itself.

Methods: ``calendarList.list``; ``events.list`` (``privateExtendedProperty``, ``showDeleted``,
``timeMin``/``timeMax``, paging, ``syncToken`` with ``410 fullSyncRequired`` once expired),
``events.get``/``insert``/``update``/``patch``/``delete``/``move``. :meth:`CalendarApi.handle` is
one call; the batch endpoint (:mod:`.batch`) calls it once per part. With the knob
``check_responses`` every successful answer is checked against the method's response schema in the
discovery document and replaced by a ``500`` naming the mismatch (the contract suite runs so).
"""

from __future__ import annotations

import base64
import copy
import re
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import unquote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson

from .discovery import SchemaError, check_query, method, validate
from .state import Calendar, EmulatorState, Token, User

__all__ = ["ApiResponse", "CalendarApi", "google_error"]

API_PREFIX = "/calendar/v3/"
_ID_RE = re.compile(r"^[a-v0-9]{5,1024}$")
_READ_ONLY = ("kind", "etag", "htmlLink", "created", "updated", "creator", "organizer", "iCalUID")
_SYNC_EXCLUSIVE = ("timeMin", "timeMax", "privateExtendedProperty", "q", "updatedMin", "orderBy", "iCalUID")


@dataclass
class ApiResponse:
    status: int
    body: dict[str, Any] | None
    headers: dict[str, str] = field(default_factory=dict)


def google_error(status: int, reason: str, message: str, domain: str = "global", **extra: str) -> ApiResponse:
    item = {"domain": domain, "reason": reason, "message": message, **extra}
    return ApiResponse(status, {"error": {"errors": [item], "code": status, "message": message}})


class _Fail(Exception):
    def __init__(self, response: ApiResponse) -> None:
        self.response = response


def _fail(status: int, reason: str, message: str, **extra: str) -> _Fail:
    return _Fail(google_error(status, reason, message, **extra))


def _rfc3339(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _zone(name: str, what: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise _fail(
            400, "timeRangeEmpty" if not name else "invalid", f"Invalid time zone definition for {what}."
        ) from exc


def _instant(value: dict[str, Any], what: str) -> tuple[datetime | date, str | None]:
    """``(aware datetime | date, zone name)`` of an EventDateTime."""
    if "date" in value and "dateTime" not in value:
        return date.fromisoformat(value["date"]), None
    if "dateTime" not in value:
        raise _fail(400, "required", f"Missing {what}.")
    moment = datetime.fromisoformat(value["dateTime"].replace("Z", "+00:00"))
    zone = value.get("timeZone")
    if zone:
        tz = _zone(zone, what)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=tz)
    elif moment.tzinfo is None:
        raise _fail(400, "required", f"Missing time zone definition for {what}.")
    return moment, zone


class CalendarApi:
    def __init__(self, state: EmulatorState) -> None:
        self.state = state

    # -- entry ----------------------------------------------------------------------------------
    def handle(
        self, verb: str, path: str, query: list[tuple[str, str]], headers: dict[str, str], body: bytes
    ) -> ApiResponse:
        with self.state.lock:
            self.state.counters["requests"] += 1
            try:
                response = self._handle(verb, path, query, headers, body)
            except _Fail as failure:
                response = failure.response
            if self.state.knobs.check_responses and response.status == 200 and response.body is not None:
                response = self._checked(verb, path, response)
            self.state.journal.append(
                {"time": time.time(), "method": verb, "path": path, "status": response.status}
            )
            return response

    def _checked(self, verb: str, path: str, response: ApiResponse) -> ApiResponse:
        """The response, or a 500 naming how it breaks the method's response schema."""
        name, _ = self._route(verb, path)
        schema = method(name).get("response", {}).get("$ref") if name else None
        if schema:
            try:
                validate(schema, response.body)
            except SchemaError as exc:
                self.state.counters["schema_violations"] = self.state.counters.get("schema_violations", 0) + 1
                return google_error(500, "backendError", f"the emulator broke the discovery document: {exc}")
        return response

    def _route(self, verb: str, path: str) -> tuple[str, dict[str, str]]:
        parts = (
            [unquote(p) for p in path[len(API_PREFIX) :].split("/")] if path.startswith(API_PREFIX) else []
        )
        if parts == ["users", "me", "calendarList"] and verb == "GET":
            return "calendarList.list", {}
        if len(parts) >= 3 and parts[0] == "calendars" and parts[2] == "events":
            args = {"calendarId": parts[1]}
            if len(parts) == 3:
                return {"GET": "events.list", "POST": "events.insert"}.get(verb, ""), args
            args["eventId"] = parts[3]
            if len(parts) == 4:
                names = {"GET": "events.get", "PUT": "events.update", "PATCH": "events.patch"}
                return names.get(verb, "events.delete" if verb == "DELETE" else ""), args
            if len(parts) == 5 and parts[4] == "move" and verb == "POST":
                return "events.move", args
        return "", {}

    def _handle(
        self, verb: str, path: str, query: list[tuple[str, str]], headers: dict[str, str], body: bytes
    ) -> ApiResponse:
        name, args = self._route(verb, path)
        if not name:
            raise _fail(404, "notFound", "Not Found")
        token = self._token(headers)
        account = self.state.accounts[token.client_email]
        project = self.state.projects[account.project_id]
        if not project.api_enabled:
            raise _fail(
                403,
                "accessNotConfigured",
                f"Google Calendar API has not been used in project {project.number} before or it is "
                "disabled. Enable it by visiting https://console.developers.google.com/apis/api/"
                f"calendar-json.googleapis.com/overview?project={project.number} then retry.",
                domain="usageLimits",
            )
        if not token.scopes & set(method(name).get("scopes", ())):
            raise _fail(403, "insufficientPermissions", "Request had insufficient authentication scopes.")
        user_key = token.subject or token.client_email
        limit_status = self.state.knobs.rate_limit_status
        if self.state.over_quota("project:" + project.project_id, self.state.knobs.project_rate_limit):
            self.state.counters["throttled"] += 1
            raise _fail(limit_status, "rateLimitExceeded", "Rate Limit Exceeded", domain="usageLimits")
        if self.state.over_quota("user:" + user_key, self.state.knobs.user_rate_limit):
            self.state.counters["throttled"] += 1
            raise _fail(limit_status, "userRateLimitExceeded", "Rate Limit Exceeded", domain="usageLimits")
        try:
            check_query(name, query)
        except SchemaError as exc:
            raise _fail(400, "invalid", str(exc)) from exc
        payload: dict[str, Any] | None = None
        if verb in ("POST", "PUT", "PATCH") and name != "events.move":
            try:
                payload = orjson.loads(body or b"null")
                if not isinstance(payload, dict):
                    raise SchemaError("the body must be a JSON object")
                validate("Event", payload)
            except (ValueError, SchemaError) as exc:
                raise _fail(400, "invalid", f"Invalid value: {exc}") from exc
        user = self.state.users.get(token.subject or "")
        if user is None:  # a service account's own token: it has no Workspace calendars
            user = User(token.client_email)
        params = dict(query)
        if name == "calendarList.list":
            return self._calendar_list(user)
        calendar = self._calendar(user, args["calendarId"])
        if name == "events.list":
            return self._list(calendar, user, query)
        if name == "events.insert":
            assert payload is not None
            return self._insert(calendar, payload, params)
        event = calendar.events.get(args["eventId"])
        if event is None:
            raise _fail(404, "notFound", "Not Found")
        if name == "events.get":
            return ApiResponse(200, self._out(calendar, event, params))
        if name in ("events.update", "events.patch"):
            assert payload is not None
            match = headers.get("if-match")
            if match and match != event["etag"]:
                raise _fail(
                    412, "conditionNotMet", "Precondition Failed", location="If-Match", locationType="header"
                )
            return self._write(calendar, event, payload, params, patch=name == "events.patch")
        if name == "events.delete":
            if event["status"] == "cancelled":
                raise _fail(410, "deleted", "Resource has been deleted")
            self._cancel(calendar, event)
            return ApiResponse(204, None)
        destination = self._calendar(user, params.get("destination", ""))
        return self._move(calendar, destination, event, params)

    def _token(self, headers: dict[str, str]) -> Token:
        auth = headers.get("authorization", "")
        token = self.state.tokens.get(auth[7:].strip()) if auth.lower().startswith("bearer ") else None
        if token is None or token.expires_at < time.time():
            raise _fail(
                401,
                "authError",
                "Invalid Credentials",
                location="Authorization",
                locationType="header",
            )
        return token

    # -- calendars ------------------------------------------------------------------------------
    def _calendar(self, user: User, calendar_id: str) -> Calendar:
        key = user.email if calendar_id == "primary" else calendar_id
        calendar = user.calendars.get(key)
        if calendar is None:
            raise _fail(404, "notFound", "Not Found")
        return calendar

    def _calendar_list(self, user: User) -> ApiResponse:
        items = [
            {
                "kind": "calendar#calendarListEntry",
                "etag": f'"{abs(hash(c.id)) % 10**15}"',
                "id": c.id,
                "summary": c.summary,
                "timeZone": c.time_zone,
                "accessRole": c.access_role,
                **({"primary": True} if c.primary else {}),
            }
            for c in user.calendars.values()
        ]
        return ApiResponse(
            200,
            {"kind": "calendar#calendarList", "etag": '"p3"', "nextSyncToken": "none", "items": items},
        )

    # -- events ---------------------------------------------------------------------------------
    def _stamp(self, calendar: Calendar, event: dict[str, Any]) -> None:
        seq = self.state.next_seq()
        calendar.seq[event["id"]] = seq
        event["etag"] = f'"{seq}"'
        event["updated"] = _rfc3339(time.time())

    def _store_times(self, calendar: Calendar, payload: dict[str, Any]) -> dict[str, Any]:
        if "start" not in payload or "end" not in payload:
            raise _fail(400, "required", "Missing end time." if "start" in payload else "Missing start time.")
        start, _ = _instant(payload["start"], "start time")
        end, _ = _instant(payload["end"], "end time")
        if type(start) is not type(end):
            raise _fail(400, "invalid", "Start and end times must either both be date or both be dateTime.")
        if end < start:  # type: ignore[operator]
            raise _fail(400, "timeRangeEmpty", "The specified time range is empty.")
        return {"start": dict(payload["start"]), "end": dict(payload["end"])}

    def _insert(self, calendar: Calendar, payload: dict[str, Any], params: dict[str, str]) -> ApiResponse:
        event_id = payload.get("id")
        if event_id is not None:
            if not _ID_RE.match(event_id):
                raise _fail(400, "invalid", "Invalid resource id value.")
            if event_id in calendar.events:
                raise _fail(409, "duplicate", "The requested identifier already exists.")
        else:
            event_id = base64.b32hexencode(secrets.token_bytes(15)).decode().lower()
        now = _rfc3339(time.time())
        event: dict[str, Any] = {
            k: copy.deepcopy(v)
            for k, v in payload.items()
            if k not in _READ_ONLY and k not in ("id", "start", "end")
        }
        event.update(self._store_times(calendar, payload))
        event.update(
            kind="calendar#event",
            id=event_id,
            status=payload.get("status", "confirmed"),
            htmlLink=f"https://www.google.com/calendar/event?eid={event_id}",
            created=now,
            iCalUID=f"{event_id}@google.com",
            sequence=0,
            creator={"email": calendar.id},
            organizer={"email": calendar.id, "self": True},
            eventType=payload.get("eventType", "default"),
        )
        event.setdefault("reminders", {"useDefault": True})
        calendar.events[event_id] = event
        self._stamp(calendar, event)
        return ApiResponse(200, self._out(calendar, event, params))

    def _write(
        self,
        calendar: Calendar,
        event: dict[str, Any],
        payload: dict[str, Any],
        params: dict[str, str],
        *,
        patch: bool,
    ) -> ApiResponse:
        merged = {**event, **payload} if patch else {**payload}
        times = self._store_times(calendar, merged)
        keep = {
            k: event[k]
            for k in ("kind", "id", "htmlLink", "created", "iCalUID", "creator", "organizer", "eventType")
        }
        fresh = {
            k: copy.deepcopy(v)
            for k, v in merged.items()
            if k not in _READ_ONLY and k not in ("id", "start", "end")
        }
        fresh.update(times)
        fresh.update(keep)
        fresh["status"] = payload.get("status", "confirmed" if not patch else event["status"])
        fresh["sequence"] = int(event.get("sequence", 0)) + 1
        fresh.setdefault("reminders", {"useDefault": True})
        event.clear()
        event.update(fresh)
        self._stamp(calendar, event)
        return ApiResponse(200, self._out(calendar, event, params))

    def _cancel(self, calendar: Calendar, event: dict[str, Any]) -> None:
        event["status"] = "cancelled"
        self._stamp(calendar, event)

    def _move(
        self, source: Calendar, destination: Calendar, event: dict[str, Any], params: dict[str, str]
    ) -> ApiResponse:
        if event["status"] == "cancelled":
            raise _fail(404, "notFound", "Not Found")
        if destination.id != source.id:
            if event["id"] in destination.events and destination.events[event["id"]]["status"] != "cancelled":
                raise _fail(409, "duplicate", "The requested identifier already exists.")
            moved = copy.deepcopy(event)
            source.events[event["id"]] = {**copy.deepcopy(event), "status": "cancelled"}
            self._stamp(source, source.events[event["id"]])
            destination.events[event["id"]] = moved
            self._stamp(destination, moved)
            event = moved
        return ApiResponse(200, self._out(destination, event, params))

    def _out(self, calendar: Calendar, event: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
        """The event as Google returns it: times in the requested (else the calendar's) zone."""
        out = copy.deepcopy(event)
        if event["status"] == "cancelled":
            return {k: out[k] for k in ("kind", "etag", "id", "status", "updated") if k in out} | {
                k: out[k] for k in ("start", "end", "summary", "extendedProperties") if k in out
            }
        zone = ZoneInfo(params.get("timeZone") or calendar.time_zone)
        for key in ("start", "end"):
            value = out[key]
            if "dateTime" in value:
                moment, tz = _instant(value, key)
                assert isinstance(moment, datetime)
                out[key] = {
                    "dateTime": moment.astimezone(zone).isoformat(),
                    "timeZone": tz or calendar.time_zone,
                }
        return out

    def _list(self, calendar: Calendar, user: User, query: list[tuple[str, str]]) -> ApiResponse:
        params = dict(query)
        sync = params.get("syncToken")
        since = 0
        if sync is not None:
            clash = [n for n, _ in query if n in _SYNC_EXCLUSIVE]
            if clash:
                raise _fail(400, "invalid", f"The syncToken parameter cannot be combined with {clash[0]}.")
            entry = self.state.sync_tokens.get(sync)
            ttl = self.state.knobs.sync_token_ttl_s
            if (
                entry is None
                or entry[:2] != (user.email, calendar.id)
                or (ttl and time.time() - entry[3] > ttl)
            ):
                raise _fail(
                    410, "fullSyncRequired", "Sync token is no longer valid, a full sync is required."
                )
            since = entry[2]
        show_deleted = sync is not None or params.get("showDeleted") == "true"
        wanted = [v.split("=", 1) for n, v in query if n == "privateExtendedProperty"]
        if any(len(w) != 2 for w in wanted):
            raise _fail(400, "invalid", "Invalid privateExtendedProperty value.")
        low = params.get("timeMin")
        high = params.get("timeMax")
        low_t = datetime.fromisoformat(low.replace("Z", "+00:00")) if low else None
        high_t = datetime.fromisoformat(high.replace("Z", "+00:00")) if high else None
        chosen: list[tuple[int, dict[str, Any]]] = []
        for event_id, event in calendar.events.items():
            seq = calendar.seq[event_id]
            if seq <= since or (event["status"] == "cancelled" and not show_deleted):
                continue
            private = event.get("extendedProperties", {}).get("private", {})
            if any(private.get(k) != v for k, v in wanted):
                continue
            if (low_t or high_t) and not self._overlaps(event, calendar, low_t, high_t):
                continue
            chosen.append((seq, event))
        chosen.sort(key=lambda pair: pair[0])
        size = min(int(params.get("maxResults", "250")), 2500)
        offset = int(params.get("pageToken", "0") or 0) if params.get("pageToken", "0").isdigit() else -1
        if offset < 0:
            raise _fail(400, "invalid", "Invalid page token value.")
        page = chosen[offset : offset + size]
        body: dict[str, Any] = {
            "kind": "calendar#events",
            "etag": f'"{self.state.next_seq()}"',
            "summary": calendar.summary,
            "updated": _rfc3339(time.time()),
            "timeZone": calendar.time_zone,
            "accessRole": calendar.access_role,
            "defaultReminders": [],
            "items": [self._out(calendar, e, params) for _, e in page],
        }
        if offset + size < len(chosen):
            body["nextPageToken"] = str(offset + size)
        else:
            token = "CP" + secrets.token_urlsafe(24)
            high_seq = max((calendar.seq.values()), default=since)
            self.state.sync_tokens[token] = (user.email, calendar.id, max(high_seq, since), time.time())
            body["nextSyncToken"] = token
        return ApiResponse(200, body)

    @staticmethod
    def _overlaps(
        event: dict[str, Any], calendar: Calendar, low: datetime | None, high: datetime | None
    ) -> bool:
        start, _ = _instant(event["start"], "start")
        end, _ = _instant(event["end"], "end")
        if not isinstance(start, datetime):
            tz = ZoneInfo(calendar.time_zone)
            start = datetime.combine(start, datetime.min.time(), tz)
            end = datetime.combine(end, datetime.min.time(), tz)  # type: ignore[arg-type]
        assert isinstance(end, datetime)
        return (low is None or end > low) and (high is None or start < high)
