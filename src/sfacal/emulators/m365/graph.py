"""Graph v1.0 handlers: users, calendars, events and calendarView."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from .errors import GraphError, bad_request, id_malformed, irresolvable_conflict, item_not_found
from .events import check_schema, overlaps, render_calendar, render_event
from .ids import wants_immutable_ids, well_formed
from .mailbox import Mailboxes
from .odata import parse_expand, parse_filter, parse_int, parse_orderby, parse_select
from .service import Ctx, GraphResponse, Pipeline
from .state import Calendar, EmulatorState, Event, User, new_change_key
from .timezones import parse_local

U = r"^users/(?P<uid>[^/]+)"
CAL = r"(?:/calendar|/calendars/(?P<cid>[^/]+))?"


def parse_window_bound(value: str | None, name: str) -> datetime:
    if not value:
        raise GraphError(
            400,
            "ErrorInvalidParameter",
            "This request requires a time window specified by the query string parameters StartDateTime and EndDateTime.",
        )
    try:
        dt, _ = parse_local(value)
    except ValueError as exc:
        raise bad_request(
            f"The parameter '{name}' has an invalid value.", code="ErrorInvalidParameter"
        ) from exc
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def etag_matches(header: str | None, ev: Event) -> bool:
    if header is None or header.strip() == "*":
        return True
    tags = [t.strip() for t in header.split(",")]
    for tag in tags:
        if tag.startswith("W/"):
            tag = tag[2:]
        if tag.strip('"') == ev.change_key:
            return True
    return False


class GraphApi:
    def __init__(self, state: EmulatorState, pipeline: Pipeline, mailboxes: Mailboxes) -> None:
        self.state = state
        self.p = pipeline
        self.mailboxes = mailboxes
        add = pipeline.add
        add(U + r"$", {"GET": self.get_user})
        add(U + r"/calendars$", {"GET": self.list_calendars, "POST": self.create_calendar})
        add(U + r"/calendars/(?P<cid>[^/]+)$", {"GET": self.get_calendar})
        add(U + r"/calendar$", {"GET": self.get_calendar})
        add(U + CAL + r"/events$", {"GET": self.list_events, "POST": self.create_event})
        add(
            U + CAL + r"/events/(?P<eid>[^/]+)$",
            {"GET": self.get_event, "PATCH": self.update_event, "DELETE": self.delete_event},
        )
        add(U + CAL + r"/calendarView$", {"GET": self.calendar_view})

    # -- users and calendars ------------------------------------------------------------------------
    async def get_user(self, ctx: Ctx) -> GraphResponse:
        user = self.p.require_user(ctx, mailbox=False)
        return GraphResponse(
            200,
            {
                "@odata.context": f"{ctx.req.base_url}/v1.0/$metadata#users/$entity",
                "businessPhones": [],
                "displayName": user.display_name,
                "givenName": None,
                "jobTitle": None,
                "mail": user.upn if user.has_mailbox else None,
                "mobilePhone": None,
                "officeLocation": None,
                "preferredLanguage": "ja-JP",
                "surname": None,
                "userPrincipalName": user.upn,
                "id": user.id,
            },
        )

    def _calendar(self, ctx: Ctx, user: User) -> Calendar:
        cid = ctx.match.get("cid")
        if cid is None:
            return user.calendars[user.default_calendar_id]
        if not well_formed(cid):
            raise id_malformed()
        cal = user.calendars.get(cid)
        if cal is None:
            raise item_not_found()
        return cal

    async def list_calendars(self, ctx: Ctx) -> GraphResponse:
        user = self.p.require_user(ctx)
        values = [render_calendar(user, c) for c in user.calendars.values()]
        return GraphResponse(
            200,
            {
                "@odata.context": f"{ctx.req.base_url}/v1.0/$metadata#users('{ctx.match['uid']}')/calendars",
                "value": values,
            },
        )

    async def get_calendar(self, ctx: Ctx) -> GraphResponse:
        user = self.p.require_user(ctx)
        cal = self._calendar(ctx, user)
        body = render_calendar(user, cal)
        body["@odata.context"] = (
            f"{ctx.req.base_url}/v1.0/$metadata#users('{ctx.match['uid']}')/calendars/$entity"
        )
        return GraphResponse(200, body)

    async def create_calendar(self, ctx: Ctx) -> GraphResponse:
        user = self.p.require_user(ctx)
        body = check_schema(ctx.json, "microsoft.graph.calendar")
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            raise GraphError(400, "ErrorInvalidRequest", "The calendar name must not be empty.")
        if any(c.name.lower() == name.lower() for c in user.calendars.values()):
            raise GraphError(409, "ErrorFolderExists", "A folder with the specified name already exists.")
        cal = self.state.add_calendar(user, name)
        if isinstance(body.get("color"), str):
            cal.color = body["color"]
        cal.change_key = new_change_key()
        out = render_calendar(user, cal)
        out["@odata.context"] = (
            f"{ctx.req.base_url}/v1.0/$metadata#users('{ctx.match['uid']}')/calendars/$entity"
        )
        return GraphResponse(201, out, {"Location": location(user, "Calendars", cal.id)})

    # -- events ------------------------------------------------------------------------------------
    def _render_opts(self, ctx: Ctx) -> dict[str, Any]:
        body_pref = ctx.req.prefer("outlook.body-content-type")
        return {
            "tz_pref": ctx.req.prefer("outlook.timezone") or None,
            "want_text": (body_pref or "").lower() == "text",
            "select": parse_select(ctx.req.q("$select") or ""),
            "expand": parse_expand(ctx.req.q("$expand") or ""),
            "immutable": wants_immutable_ids(ctx.req.prefer("IdType")),
        }

    def _prefer_headers(self, ctx: Ctx) -> dict[str, str]:
        return prefer_headers(ctx)

    def _find_event(self, ctx: Ctx, user: User) -> Event:
        eid = ctx.match["eid"]
        if not well_formed(eid):
            raise id_malformed()
        ev = user.find_event(eid)
        if ev is None:
            raise item_not_found()
        cid = ctx.match.get("cid")
        if cid is not None and ev.calendar_id != cid:
            raise item_not_found()
        if (
            cid is None
            and "/calendar/" in ctx.req.path.lower()
            and ev.calendar_id != user.default_calendar_id
        ):
            raise item_not_found()
        return ev

    def _page(self, ctx: Ctx, user: User, events: list[Event], context: str) -> GraphResponse:
        pred = parse_filter(ctx.req.q("$filter") or "") if ctx.req.q("$filter") else None
        if pred is not None:
            events = [e for e in events if pred(_filter_view(e), {k: v[1] for k, v in e.ext.items()})]
        order = parse_orderby(ctx.req.q("$orderby"))
        if order is not None:
            key, desc = order
            events.sort(key=lambda e: _sort_key(e, key), reverse=desc)
        top = parse_int(ctx.req.q("$top"), "$top", 1, 1000) or self.state.knobs.list_page_size
        skip = parse_int(ctx.req.q("$skip"), "$skip", 0, 10**9) or 0
        opts = self._render_opts(ctx)
        page = events[skip : skip + top]
        body: dict[str, Any] = {
            "@odata.context": context,
            "value": [render_event(user, e, **opts) for e in page],
        }
        if skip + top < len(events):
            params = {k: v for k, v in ctx.req.query.items() if k.lower() not in ("$skip", "$top")}
            params["$top"] = str(top)
            params["$skip"] = str(skip + top)
            body["@odata.nextLink"] = f"{ctx.req.base_url}/v1.0/{ctx.req.path}?{urlencode(params)}"
        return GraphResponse(200, body, self._prefer_headers(ctx))

    async def list_events(self, ctx: Ctx) -> GraphResponse:
        user = self.p.require_user(ctx)
        cal = self._calendar(ctx, user)
        events = [e for e in user.events.values() if e.calendar_id == cal.id]
        return self._page(
            ctx, user, events, f"{ctx.req.base_url}/v1.0/$metadata#users('{ctx.match['uid']}')/events"
        )

    async def calendar_view(self, ctx: Ctx) -> GraphResponse:
        user = self.p.require_user(ctx)
        cal = self._calendar(ctx, user)
        start = parse_window_bound(ctx.req.q("startDateTime"), "startDateTime")
        end = parse_window_bound(ctx.req.q("endDateTime"), "endDateTime")
        events = sorted(
            (e for e in user.events.values() if e.calendar_id == cal.id and overlaps(e, start, end)),
            key=lambda e: (e.start_utc, e.id),
        )
        return self._page(
            ctx, user, events, f"{ctx.req.base_url}/v1.0/$metadata#users('{ctx.match['uid']}')/calendarView"
        )

    async def get_event(self, ctx: Ctx) -> GraphResponse:
        user = self.p.require_user(ctx)
        ev = self._find_event(ctx, user)
        body = render_event(user, ev, **self._render_opts(ctx))
        body = {
            "@odata.context": f"{ctx.req.base_url}/v1.0/$metadata#users('{ctx.match['uid']}')/events/$entity",
            **body,
        }
        return GraphResponse(200, body, self._prefer_headers(ctx))

    async def create_event(self, ctx: Ctx) -> GraphResponse:
        user = self.p.require_user(ctx)
        cal = self._calendar(ctx, user)
        ev, _created = self.mailboxes.create(user, cal, ctx.json)
        body = render_event(user, ev, **self._render_opts(ctx))
        body = {
            "@odata.context": f"{ctx.req.base_url}/v1.0/$metadata#users('{ctx.match['uid']}')/events/$entity",
            **body,
        }
        headers = {**self._prefer_headers(ctx), "Location": location(user, "Events", body["id"])}
        return GraphResponse(201, body, headers)

    async def update_event(self, ctx: Ctx) -> GraphResponse:
        user = self.p.require_user(ctx)
        ev = self._find_event(ctx, user)
        if not etag_matches(ctx.req.header("if-match"), ev):
            raise irresolvable_conflict()
        if ctx.json is None:
            raise bad_request("Empty Payload. JSON content expected.")
        self.mailboxes.update(user, ev, ctx.json)
        body = render_event(user, ev, **self._render_opts(ctx))
        body = {
            "@odata.context": f"{ctx.req.base_url}/v1.0/$metadata#users('{ctx.match['uid']}')/events/$entity",
            **body,
        }
        return GraphResponse(200, body, self._prefer_headers(ctx))

    async def delete_event(self, ctx: Ctx) -> GraphResponse:
        user = self.p.require_user(ctx)
        ev = self._find_event(ctx, user)
        if not etag_matches(ctx.req.header("if-match"), ev):
            raise irresolvable_conflict()
        self.mailboxes.delete(user, ev)
        return GraphResponse(204)


def prefer_headers(ctx: Ctx, *applied: str) -> dict[str, str]:
    """``Preference-Applied`` for the preferences of ``Prefer`` the emulator honoured (besides
    ``applied``): time zone, body type, immutable ids."""
    shown = list(applied)
    tz = ctx.req.prefer("outlook.timezone")
    if tz:
        shown.append(f'outlook.timezone="{tz}"')
    body_pref = ctx.req.prefer("outlook.body-content-type")
    if body_pref:
        shown.append(f'outlook.body-content-type="{body_pref}"')
    if wants_immutable_ids(ctx.req.prefer("IdType")):
        shown.append('IdType="ImmutableId"')
    return {"Preference-Applied": ", ".join(shown)} if shown else {}


def location(user: User, collection: str, item_id: str) -> str:
    """The ``Location`` of a created event or calendar: Outlook's own URL of it (observed in
    microsoftgraph/microsoft-graph-docs#5580)."""
    return (
        f"https://outlook.office.com/api/v2.0/Users('{user.id}@{user.tenant_id}')/{collection}('{item_id}')"
    )


def _filter_view(ev: Event) -> dict[str, Any]:
    return {
        "subject": ev.props.get("subject") or "",
        "transactionId": ev.transaction_id,
        "iCalUId": ev.ical_uid,
        "id": ev.rest_id,
        "immutableId": ev.id,
        "showAs": ev.props.get("showAs") or "busy",
        "sensitivity": ev.props.get("sensitivity") or "normal",
        "importance": ev.props.get("importance") or "normal",
    }


def _sort_key(ev: Event, key: str) -> Any:
    return {
        "start": ev.start_utc,
        "end": ev.end_utc,
        "created": ev.created,
        "modified": ev.modified,
        "subject": ev.props.get("subject") or "",
    }[key]
