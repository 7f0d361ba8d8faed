"""``GET /users/{id}/calendarView/delta``: incremental changes to the primary calendar in a time window.

The function is also reached as ``delta()`` and ``microsoft.graph.delta()`` -- the forms the
official SDKs' URL templates use (e.g. msgraph-sdk-php's
``{+baseurl}/users/{user%2Did}/calendarView/delta(){?startDateTime*,endDateTime*,…}``).

The first round (``startDateTime``/``endDateTime``) pages through the events in the
window with ``@odata.nextLink`` (``$skiptoken``) and ends with ``@odata.deltaLink``
(``$deltatoken``). A delta token remembers the window and the mailbox's change
sequence; following it returns events changed since, and ``@removed`` entries for
events deleted, moved to another calendar or no longer in the window. Ids are immutable or REST
ids as each request's ``Prefer: IdType`` asks. Unknown or expired tokens get 410
``SyncStateNotFound``.
"""

from __future__ import annotations

import secrets
import time
from typing import Any
from urllib.parse import quote

from .errors import GraphError, bad_request
from .events import overlaps, render_event
from .graph import parse_window_bound, prefer_headers
from .ids import wants_immutable_ids
from .service import Ctx, GraphResponse, Pipeline
from .state import DeltaToken, EmulatorState, User


class DeltaApi:
    def __init__(self, state: EmulatorState, pipeline: Pipeline) -> None:
        self.state = state
        self.p = pipeline
        pipeline.add(
            r"^users/(?P<uid>[^/]+)/calendarView/(?:microsoft\.graph\.)?delta(?:\(\))?$", {"GET": self.delta}
        )

    def _token(self, value: str) -> DeltaToken:
        tok = self.state.delta_tokens.get(value)
        if tok is None or time.time() - tok.created > self.state.knobs.delta_token_ttl_s:
            self.state.delta_tokens.pop(value, None)
            raise GraphError(410, "SyncStateNotFound", "The sync state generation is not found.")
        return tok

    def _store(self, tok: DeltaToken) -> str:
        key = secrets.token_urlsafe(32)
        self.state.delta_tokens[key] = tok
        if len(self.state.delta_tokens) > 200_000:
            oldest = sorted(self.state.delta_tokens.items(), key=lambda kv: kv[1].created)[:50_000]
            for k, _ in oldest:
                del self.state.delta_tokens[k]
        return key

    async def delta(self, ctx: Ctx) -> GraphResponse:
        user = self.p.require_user(ctx)
        page_size = self.state.knobs.delta_page_size
        pref = ctx.req.prefer("odata.maxpagesize")
        if pref:
            try:
                page_size = max(1, min(1000, int(pref)))
            except ValueError:
                pass
        skip = ctx.req.q("$skiptoken")
        delta = ctx.req.q("$deltatoken")
        if skip is not None:
            tok = self._token(skip)
            if tok.user_id != user.id or tok.pending is None:
                raise GraphError(410, "SyncStateNotFound", "The sync state generation is not found.")
            items = tok.pending
            page_size = tok.page_size
            self.state.delta_tokens.pop(skip, None)
        elif delta is not None:
            tok = self._token(delta)
            if tok.user_id != user.id:
                raise GraphError(410, "SyncStateNotFound", "The sync state generation is not found.")
            items = self._changes(ctx, user, tok)
            tok = DeltaToken(user.id, tok.window_start, tok.window_end, user.seq, time.time())
        else:
            if ctx.req.q("$select") or ctx.req.q("$filter") or ctx.req.q("$orderby"):
                raise bad_request(
                    "The query parameter is not supported with delta.", code="ErrorInvalidUrlQuery"
                )
            start = parse_window_bound(ctx.req.q("startDateTime"), "startDateTime")
            end = parse_window_bound(ctx.req.q("endDateTime"), "endDateTime")
            tok = DeltaToken(user.id, start, end, user.seq, time.time())
            cal = user.default_calendar_id
            events = sorted(
                (e for e in user.events.values() if e.calendar_id == cal and overlaps(e, start, end)),
                key=lambda e: (e.start_utc, e.id),
            )
            items = [render_event(user, e, **self._opts(ctx)) for e in events]
        page, rest = items[:page_size], items[page_size:]
        base = f"{ctx.req.base_url}/v1.0/users/{quote(ctx.match['uid'], safe='@')}/calendarView/delta"
        body: dict[str, Any] = {
            "@odata.context": f"{ctx.req.base_url}/v1.0/$metadata#Collection(event)",
            "value": page,
        }
        final = DeltaToken(user.id, tok.window_start, tok.window_end, tok.seq, time.time())
        if rest:
            nxt = DeltaToken(user.id, tok.window_start, tok.window_end, tok.seq, time.time(), rest, page_size)
            body["@odata.nextLink"] = f"{base}?$skiptoken={self._store(nxt)}"
        else:
            body["@odata.deltaLink"] = f"{base}?$deltatoken={self._store(final)}"
        return GraphResponse(200, body, prefer_headers(ctx, "odata.track-changes"))

    def _opts(self, ctx: Ctx) -> dict[str, Any]:
        body_pref = ctx.req.prefer("outlook.body-content-type")
        return {
            "tz_pref": ctx.req.prefer("outlook.timezone") or None,
            "want_text": (body_pref or "").lower() == "text",
            "immutable": wants_immutable_ids(ctx.req.prefer("IdType")),
        }

    def _changes(self, ctx: Ctx, user: User, tok: DeltaToken) -> list[dict[str, Any]]:
        cal = user.default_calendar_id
        opts = self._opts(ctx)
        immutable = opts["immutable"]
        changed: list[tuple[int, dict[str, Any]]] = []
        for ev in user.events.values():
            if ev.seq <= tok.seq or ev.calendar_id != cal:
                continue
            if overlaps(ev, tok.window_start, tok.window_end):
                changed.append((ev.seq, render_event(user, ev, **opts)))
            else:
                changed.append((ev.seq, _removed(ev.id if immutable else ev.rest_id)))
        for t in user.tombstones:  # deleted, or moved to another calendar
            if t.seq > tok.seq and t.calendar_id == cal:
                changed.append((t.seq, _removed(t.id if immutable else t.rest_id)))
        changed.sort(key=lambda pair: pair[0])
        return [item for _, item in changed]


def _removed(event_id: str) -> dict[str, Any]:
    return {"@odata.type": "#microsoft.graph.event", "id": event_id, "@removed": {"reason": "deleted"}}
