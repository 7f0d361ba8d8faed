"""Event payloads: validating what clients send and rendering what Graph returns."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from .csdl import Issue, shipped_schema
from .errors import GraphError, bad_request, property_validation_failure, request_body_read
from .odata import ExpandExt, display_ext_id, normalise_ext_id
from .state import Calendar, Event, User
from .timezones import TimeZoneError, format_graph, format_offset, parse_local, resolve, to_utc

EVENT_TYPE = "microsoft.graph.event"

# Properties a client may set; everything else in the schema is read-only and ignored on input.
WRITABLE = {
    "subject",
    "body",
    "start",
    "end",
    "location",
    "locations",
    "categories",
    "importance",
    "sensitivity",
    "showAs",
    "isAllDay",
    "isReminderOn",
    "reminderMinutesBeforeStart",
    "attendees",
    "allowNewTimeProposals",
    "hideAttendees",
    "isOnlineMeeting",
    "onlineMeetingProvider",
    "responseRequested",
    "recurrence",
    "transactionId",
    "singleValueExtendedProperties",
}


def _outlook_type(type_name: str) -> str:
    short = type_name.rsplit(".", 1)[-1]
    return "Microsoft.OutlookServices." + short[:1].upper() + short[1:]


def issue_to_error(issue: Issue) -> GraphError:
    """The OData reader error Graph gives for a payload that does not fit the schema."""
    if issue.kind == "unknown_property":
        return request_body_read(
            f"The property '{issue.value}' does not exist on type '{_outlook_type(issue.type_name)}'. Make sure "
            "to only use property names that are defined by the type or mark the type as open type."
        )
    if issue.kind == "expected_object":
        node = "StartArray" if isinstance(issue.value, list) else "PrimitiveValue"
        return request_body_read(
            f"An unexpected '{node}' node was found when reading from the JSON reader. A 'StartObject' node was expected."
        )
    if issue.kind == "expected_array":
        node = "StartObject" if isinstance(issue.value, dict) else "PrimitiveValue"
        return request_body_read(
            f"An unexpected '{node}' node was found when reading from the JSON reader. A 'StartArray' node was expected."
        )
    if issue.kind == "bad_enum":
        return request_body_read(f"Requested value '{issue.value}' was not found.")
    if issue.kind == "null_not_allowed":
        prop = issue.path.rsplit(".", 1)[-1]
        return request_body_read(
            f"A null value was found for the property named '{prop}', which has the expected type "
            f"'{issue.type_name}[Nullable=False]'. The expected type '{issue.type_name}[Nullable=False]' does not "
            "allow null values."
        )
    if issue.kind == "bad_format":
        return request_body_read(
            f"Cannot convert the literal '{issue.value}' to the expected type '{issue.type_name}'."
        )
    return request_body_read(
        f"Cannot convert a primitive value to the expected type '{issue.type_name}'. See the inner exception for more details."
    )


def check_schema(body: Any, type_name: str, allow_navigation: tuple[str, ...] = ()) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise issue_to_error(Issue("expected_object", "", type_name, "", body))
    issues = shipped_schema().validate(body, type_name, allow_navigation=allow_navigation)
    if issues:
        raise issue_to_error(issues[0])
    return body


@dataclass
class Times:
    start_utc: datetime
    end_utc: datetime
    all_day_start: str | None
    all_day_end: str | None
    start_tz: str
    end_tz: str


def _parse_dtz(value: dict[str, Any]) -> tuple[datetime, bool, str]:
    tz_name = value.get("timeZone") or "UTC"
    try:
        zone = resolve(tz_name)
    except TimeZoneError as exc:
        raise GraphError(
            400,
            "TimeZoneNotSupportedException",
            f"A valid TimeZone value must be specified. The following TimeZone value is not supported: '{tz_name}'.",
        ) from exc
    try:
        local, date_only = parse_local(value["dateTime"])
    except (ValueError, KeyError) as exc:
        raise bad_request(
            f"Cannot convert the literal '{value.get('dateTime')}' to the expected type 'Edm.DateTimeOffset'."
        ) from exc
    if local.tzinfo is not None:
        local = local.astimezone(zone).replace(tzinfo=None)
    return local, date_only, tz_name


def resolve_times(start: dict[str, Any], end: dict[str, Any], all_day: bool) -> Times:
    """Validate start/end (and the isAllDay rules) and compute the stored instants."""
    s_local, _, s_tz = _parse_dtz(start)
    e_local, _, e_tz = _parse_dtz(end)
    if all_day:
        midnight = all(
            t.hour == 0 and t.minute == 0 and t.second == 0 and t.microsecond == 0 for t in (s_local, e_local)
        )
        same_zone = resolve(s_tz) == resolve(e_tz)
        if not midnight or not same_zone or e_local.date() <= s_local.date():
            raise property_validation_failure()
        zone = resolve(s_tz)
        return Times(
            to_utc(s_local, zone),
            to_utc(e_local, zone),
            s_local.date().isoformat(),
            e_local.date().isoformat(),
            s_tz,
            e_tz,
        )
    s_utc = to_utc(s_local, resolve(s_tz))
    e_utc = to_utc(e_local, resolve(e_tz))
    if e_utc < s_utc:
        raise property_validation_failure()
    return Times(s_utc, e_utc, None, None, s_tz, e_tz)


def parse_ext_props(items: list[dict[str, Any]] | None) -> dict[str, tuple[str, str]]:
    out: dict[str, tuple[str, str]] = {}
    for item in items or []:
        raw_id = item.get("id")
        value = item.get("value")
        norm = normalise_ext_id(raw_id) if isinstance(raw_id, str) else None
        if norm is None:
            raise (
                bad_request(
                    f"The extended property id '{raw_id}' is invalid.",
                    code="ErrorInvalidExtendedPropertyValue",
                )
                if raw_id
                else request_body_read(
                    "A null value was found for the property named 'id', which has the expected type "
                    "'Edm.String[Nullable=False]'. The expected type 'Edm.String[Nullable=False]' does not allow null values."
                )
            )
        if not isinstance(value, str):
            raise bad_request(
                "The extended property value is invalid.", code="ErrorInvalidExtendedPropertyValue"
            )
        out[norm] = (display_ext_id(raw_id), value)  # type: ignore[arg-type]
    return out


def writable_props(body: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v
        for k, v in body.items()
        if k in WRITABLE and k not in ("start", "end", "transactionId", "singleValueExtendedProperties")
    }


# -- rendering -------------------------------------------------------------------------------------

_TAG = re.compile(r"<[^>]+>")


def _to_html(text: str) -> str:
    escaped = html.escape(text).replace("\r\n", "\n").replace("\n", "<br>\r\n")
    return (
        '<html>\r\n<head>\r\n<meta http-equiv="Content-Type" content="text/html; charset=utf-8">\r\n</head>\r\n'
        f'<body>\r\n<div class="PlainText">{escaped}</div>\r\n</body>\r\n</html>\r\n'
    )


def _to_text(markup: str) -> str:
    body = re.sub(r"(?is)<head.*?</head>", "", markup)
    body = re.sub(r"(?i)<br\s*/?>", "\n", body)
    return html.unescape(_TAG.sub("", body)).replace("\r\n", "\n").strip("\r\n")


def render_body(stored: dict[str, Any] | None, want_text: bool) -> tuple[dict[str, str], str]:
    content_type = (stored or {}).get("contentType") or "text"
    content = (stored or {}).get("content") or ""
    plain = content if content_type == "text" else _to_text(content)
    preview = re.sub(r"\s+", " ", plain).strip()[:255]
    if want_text:
        return {"contentType": "text", "content": plain}, preview
    if content_type == "html":
        return {"contentType": "html", "content": content}, preview
    return {"contentType": "html", "content": _to_html(content) if content else ""}, preview


def _location(value: dict[str, Any] | None) -> dict[str, Any]:
    value = value or {}
    name = value.get("displayName") or ""
    loc: dict[str, Any] = {
        "displayName": name,
        "locationType": value.get("locationType") or "default",
        "uniqueIdType": "private" if name else "unknown",
        "address": value.get("address") or {},
        "coordinates": value.get("coordinates") or {},
    }
    if name:
        loc["uniqueId"] = value.get("uniqueId") or name
    for key in ("locationUri", "locationEmailAddress"):
        if value.get(key):
            loc[key] = value[key]
    return loc


def _dtz(ev: Event, which: str, tz_pref: str | None) -> dict[str, str]:
    if ev.all_day_start is not None:
        day = ev.all_day_start if which == "start" else ev.all_day_end
        return {"dateTime": f"{day}T00:00:00.0000000", "timeZone": tz_pref or "UTC"}
    instant = ev.start_utc if which == "start" else ev.end_utc
    if tz_pref:
        try:
            return {"dateTime": format_graph(instant.astimezone(resolve(tz_pref))), "timeZone": tz_pref}
        except TimeZoneError:
            pass
    return {"dateTime": format_graph(instant.astimezone(UTC)), "timeZone": "UTC"}


_URLSAFE_ID = re.compile(r"[A-Za-z0-9_\-=]*")


def _web_link(ev: Event, shown: str) -> str:
    if ev.web_link_id == shown:
        return ev.web_link
    # Item ids are base64url plus "=" padding: only "=" needs escaping (what quote() would do).
    item = shown.replace("=", "%3D") if _URLSAFE_ID.fullmatch(shown) else quote(shown, safe="")
    ev.web_link = f"https://outlook.office365.com/owa/?itemid={item}&exvsurl=1&path=/calendar/item"
    ev.web_link_id = shown
    return ev.web_link


def render_event(
    user: User,
    ev: Event,
    *,
    tz_pref: str | None = None,
    want_text: bool = False,
    select: set[str] | None = None,
    expand: ExpandExt | None = None,
    immutable: bool = False,
) -> dict[str, Any]:
    """An event as Graph returns it; ``immutable``: with its immutable id (``Prefer: IdType``),
    else with its REST id."""
    p = ev.props
    shown = ev.id if immutable else ev.rest_id
    body, preview = render_body(p.get("body"), want_text)
    location = _location(p.get("location"))
    created = format_offset(ev.created)
    full: dict[str, Any] = {
        "@odata.etag": f'W/"{ev.change_key}"',
        "id": shown,
        "createdDateTime": created,
        "lastModifiedDateTime": created if ev.modified == ev.created else format_offset(ev.modified),
        "changeKey": ev.change_key,
        "categories": list(p.get("categories") or []),
        "transactionId": ev.transaction_id,  # null when none was set, as Graph writes it
        "originalStartTimeZone": p.get("_start_tz", "UTC"),
        "originalEndTimeZone": p.get("_end_tz", "UTC"),
        "iCalUId": ev.ical_uid,
        "reminderMinutesBeforeStart": p.get("reminderMinutesBeforeStart", 15),
        "isReminderOn": p.get("isReminderOn", True),
        "hasAttachments": False,
        "subject": p.get("subject") or "",
        "bodyPreview": preview,
        "importance": p.get("importance") or "normal",
        "sensitivity": p.get("sensitivity") or "normal",
        "isAllDay": ev.all_day_start is not None,
        "isCancelled": False,
        "isOrganizer": True,
        "responseRequested": p.get("responseRequested", True),
        "seriesMasterId": None,
        "showAs": p.get("showAs") or ("free" if ev.all_day_start is not None else "busy"),
        "type": "singleInstance",
        "webLink": _web_link(ev, shown),
        "onlineMeetingUrl": None,
        "isOnlineMeeting": bool(p.get("isOnlineMeeting", False)),
        "onlineMeetingProvider": p.get("onlineMeetingProvider") or "unknown",
        "allowNewTimeProposals": p.get("allowNewTimeProposals", True),
        "isDraft": False,
        "hideAttendees": p.get("hideAttendees", False),
        "responseStatus": {"response": "organizer", "time": "0001-01-01T00:00:00Z"},
        "body": body,
        "start": _dtz(ev, "start", tz_pref),
        "end": _dtz(ev, "end", tz_pref),
        "location": location,
        "locations": [location] if location["displayName"] else [],
        "recurrence": p.get("recurrence"),
        "attendees": list(p.get("attendees") or []),
        "organizer": {"emailAddress": {"name": user.display_name, "address": user.upn}},
        "onlineMeeting": None,
    }
    if select is not None:
        out = {"@odata.etag": full["@odata.etag"], "id": shown}
        for name in select:
            if name in full:
                out[name] = full[name]
    else:
        out = full
    if expand is not None:
        props = [
            {"id": shown, "value": value}
            for norm, (shown, value) in ev.ext.items()
            if expand.ids is None or norm in expand.ids
        ]
        if props:
            out["singleValueExtendedProperties"] = props
    return out


def render_calendar(user: User, cal: Calendar) -> dict[str, Any]:
    return {
        "id": cal.id,
        "name": cal.name,
        "color": cal.color,
        "hexColor": cal.hex_color,
        "isDefaultCalendar": cal.is_default,
        "changeKey": cal.change_key,
        "canShare": True,
        "canViewPrivateItems": True,
        "canEdit": cal.can_edit,
        "allowedOnlineMeetingProviders": ["teamsForBusiness"],
        "defaultOnlineMeetingProvider": "teamsForBusiness",
        "isTallyingResponses": True,
        "isRemovable": not cal.is_default,
        "owner": {"name": user.display_name, "address": user.upn},
    }


def overlaps(ev: Event, start: datetime, end: datetime) -> bool:
    """Whether an event falls in a calendarView window (Graph: starts before the end, ends after the start)."""
    if ev.start_utc == ev.end_utc:
        return start <= ev.start_utc < end
    return ev.start_utc < end and ev.end_utc > start


ONE_DAY = timedelta(days=1)
