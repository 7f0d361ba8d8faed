"""A read-only HTML view of the emulated mailboxes (``/_control/view``), for people in the demo.

* ``GET /_control/view``: every mailbox (tenant, user, calendars, number of events), each linked.
* ``GET /_control/view/{user}`` (user ID or UPN): the mailbox's calendars, each with its events in
  start order: subject, start and end as written (all-day events by date, end exclusive shown as
  the last day), location, the sfacal tag (extended property), transaction ID, change key, and
  when the event was created and last changed. An unknown mailbox is a 404 page.
* ``?refresh=N`` reloads the page every N seconds (default 10, 0 = never, at most 3600), so the
  page follows the calendars live.
* Like the rest of the control API it needs no token and changes nothing; every value is escaped.
"""

from __future__ import annotations

import html
from datetime import date, timedelta
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from .state import Calendar, EmulatorState, Event, User

__all__ = ["MailboxViewer"]

DEFAULT_REFRESH_S = 10
MAX_REFRESH_S = 3600

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #1f2933; background: #f6f7f9; }
h1 { font-size: 1.3rem; } h2 { font-size: 1.1rem; margin-top: 1.5rem; }
table { border-collapse: collapse; width: 100%; background: #fff; font-size: .9rem; }
th, td { text-align: left; padding: .4rem .6rem; border-bottom: 1px solid #dde2e8; vertical-align: top; }
th { background: #f1f4f7; }
.muted { color: #5f6b7a; } .mono { font-family: ui-monospace, monospace; font-size: .8rem; word-break: break-all; }
.note { background: #eaf2f9; border: 1px solid #c8dcee; padding: .5rem .75rem; border-radius: 6px; }
"""


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value))


def _refresh(request: Request) -> int:
    raw = request.query_params.get("refresh", "")
    try:
        value = int(raw) if raw else DEFAULT_REFRESH_S
    except ValueError:
        value = DEFAULT_REFRESH_S
    return min(max(value, 0), MAX_REFRESH_S)


def _page(title: str, body: str, refresh: int, status: int = 200) -> HTMLResponse:
    meta = f'<meta http-equiv="refresh" content="{refresh}">' if refresh else ""
    note = (
        f'<p class="muted">Reloads every {refresh} s (<a href="?refresh=0">stop</a>).</p>'
        if refresh
        else '<p class="muted"><a href="?">Reload automatically</a></p>'
    )
    text = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"{meta}<title>{_e(title)} · Microsoft 365 emulator</title><style>{_STYLE}</style></head>"
        f'<body><p class="note">Microsoft 365 emulator: read-only view of the emulated mailboxes '
        f"(demo and tests only).</p>{body}{note}</body></html>"
    )
    return HTMLResponse(text, status_code=status, headers={"Cache-Control": "no-store"})


def _when(ev: Event) -> tuple[str, str]:
    """(start, end) as the event was written; all-day events by day, the end as the last day."""
    if ev.all_day_start is not None:
        last = ev.all_day_end
        if ev.all_day_end:
            last = (date.fromisoformat(ev.all_day_end) - timedelta(days=1)).isoformat()
        return f"{ev.all_day_start} (all day)", last or ""
    start: dict[str, Any] = ev.props.get("start") or {}
    end: dict[str, Any] = ev.props.get("end") or {}

    def shown(point: dict[str, Any]) -> str:
        text = str(point.get("dateTime", "")).replace("T", " ")
        return f"{text[:16]} {point.get('timeZone', '')}".strip()

    return shown(start), shown(end)


def _location(ev: Event) -> str:
    location = ev.props.get("location")
    if isinstance(location, dict):
        return str(location.get("displayName", ""))
    return ""


def _event_rows(events: list[Event]) -> str:
    if not events:
        return '<tr><td colspan="6" class="muted">No events.</td></tr>'
    rows = []
    for ev in sorted(events, key=lambda e: (e.start_utc, e.id)):
        start, end = _when(ev)
        tags = "<br>".join(_e(value) for _shown, value in ev.ext.values())
        rows.append(
            "<tr>"
            f"<td><strong>{_e(ev.props.get('subject', ''))}</strong></td>"
            f"<td>{_e(start)}<br>{_e(end)}</td>"
            f"<td>{_e(_location(ev))}</td>"
            f'<td class="mono">{tags}</td>'
            f'<td class="mono">{_e(ev.transaction_id or "")}<br>{_e(ev.change_key)}</td>'
            f'<td class="muted">{_e(ev.created.isoformat(timespec="seconds"))}<br>'
            f"{_e(ev.modified.isoformat(timespec='seconds'))}</td>"
            "</tr>"
        )
    return "".join(rows)


def _calendar_section(user: User, cal: Calendar) -> str:
    events = [ev for ev in user.events.values() if ev.calendar_id == cal.id]
    default = " (default calendar)" if cal.is_default else ""
    read_only = " · read-only" if not cal.can_edit else ""
    return (
        f"<h2>{_e(cal.name)}{_e(default)}{_e(read_only)} · {len(events)} event(s)</h2>"
        "<table><thead><tr><th>Subject</th><th>Start / end</th><th>Location</th><th>sfacal tag</th>"
        "<th>Transaction ID / change key</th><th>Created / changed (UTC)</th></tr></thead>"
        f"<tbody>{_event_rows(events)}</tbody></table>"
    )


class MailboxViewer:
    def __init__(self, state: EmulatorState) -> None:
        self.state = state

    def routes(self) -> list[Route]:
        return [
            Route("/_control/view", self.mailboxes, methods=["GET"]),
            Route("/_control/view/{user}", self.mailbox, methods=["GET"]),
        ]

    async def mailboxes(self, request: Request) -> HTMLResponse:
        rows = []
        for user in sorted(self.state.users.values(), key=lambda u: u.upn.lower()):
            tenant = self.state.tenants.get(user.tenant_id)
            names = ", ".join(c.name for c in user.calendars.values())
            rows.append(
                f'<tr><td><a href="view/{quote(user.upn, safe="@")}">{_e(user.upn)}</a></td>'
                f"<td>{_e(user.display_name)}</td><td>{_e(tenant.display_name if tenant else '')}</td>"
                f"<td>{_e(names)}</td><td>{len(user.events)}</td></tr>"
            )
        table = "".join(rows) or '<tr><td colspan="5" class="muted">No mailboxes.</td></tr>'
        body = (
            "<h1>Mailboxes</h1><table><thead><tr><th>Mailbox</th><th>Name</th><th>Tenant</th>"
            f"<th>Calendars</th><th>Events</th></tr></thead><tbody>{table}</tbody></table>"
        )
        return _page("Mailboxes", body, _refresh(request))

    async def mailbox(self, request: Request) -> HTMLResponse:
        ref = request.path_params["user"]
        user = self.state.find_user(ref)
        refresh = _refresh(request)
        if user is None:
            body = f'<h1>No mailbox {_e(ref)}</h1><p><a href="../view">All mailboxes</a></p>'
            return _page("Not found", body, 0, status=404)
        calendars = sorted(user.calendars.values(), key=lambda c: (not c.is_default, c.name))
        sections = "".join(_calendar_section(user, cal) for cal in calendars)
        body = (
            f'<p><a href="../view">All mailboxes</a></p><h1>{_e(user.upn)}</h1>'
            f'<p class="muted">{_e(user.display_name)} · {len(user.events)} event(s)</p>{sections}'
        )
        return _page(user.upn, body, refresh)
