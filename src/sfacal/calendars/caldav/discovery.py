"""Finding an account's calendars: the calendar home and the calendars in it.

* The home is the service account's URL with the home-path pattern, or -- for an account with
  ``discover`` -- found from ``current-user-principal`` → ``calendar-home-set`` (RFC 5397,
  RFC 4791 §6.2.1).
* A calendar is a collection whose ``resourcetype`` is ``calendar`` and that holds VEVENTs; it can
  be edited unless the server's ``current-user-privilege-set`` says otherwise; ``sync`` tells
  whether it offers ``sync-collection``.
* The default calendar is the configured name (compared as E3 does), else one whose path ends in
  ``calendar``, ``default``, ``home``, ``personal`` or ``calendars``, else the first by path.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from sfacal.calendars.base import CalendarInfo, find_calendar
from sfacal.core.errors import CalendarNotFoundError, SfacalError

from .dav import CALDAV, DAV, DavConnection, PropRow, multistatus
from .queries import XML, stem

__all__ = ["DavCalendar", "discover_home", "load_calendars"]

DEFAULT_NAMES = ("calendar", "default", "home", "personal", "calendars")

_PROPFIND_CALENDARS = (
    '<?xml version="1.0" encoding="utf-8"?>'
    f'<d:propfind xmlns:d="{DAV}" xmlns:c="{CALDAV}"><d:prop>'
    "<d:resourcetype/><d:displayname/><d:current-user-privilege-set/>"
    "<c:supported-calendar-component-set/><d:supported-report-set/>"
    "</d:prop></d:propfind>"
)
_WRITE = {f"{{{DAV}}}write", f"{{{DAV}}}write-content", f"{{{DAV}}}all", f"{{{DAV}}}bind"}


@dataclass(frozen=True)
class DavCalendar:
    info: CalendarInfo
    href: str  # absolute URL of the collection, ending in "/"
    sync: bool  # the server offers sync-collection on it


async def _href_prop(conn: DavConnection, url: str, name: str, mailbox: str) -> str | None:
    ns, local = name[1:].split("}")
    body = (
        f'<?xml version="1.0" encoding="utf-8"?><d:propfind xmlns:d="{DAV}" xmlns:x="{ns}">'
        f"<d:prop><x:{local}/></d:prop></d:propfind>"
    )
    reply = await conn.send("PROPFIND", url, body, {"Depth": "0", "Content-Type": XML}, mailbox=mailbox)
    if reply.status != 207:
        return None
    for row in multistatus(reply.body)[0]:
        elem = row.props.get(name)
        if elem is not None:
            href = elem.findtext(f"{{{DAV}}}href")
            if href:
                return conn.url(href.strip())
    return None


async def discover_home(conn: DavConnection, mailbox: str) -> str:
    """The calendar home of the account ``conn`` signs in with."""
    principal = await _href_prop(conn, conn.account.url, f"{{{DAV}}}current-user-principal", mailbox)
    home = await _href_prop(conn, principal or conn.account.url, f"{{{CALDAV}}}calendar-home-set", mailbox)
    if home is None:
        raise CalendarNotFoundError(
            f"no calendar-home-set at {conn.account.url}", mailbox=mailbox, calendar="(calendar home)"
        )
    return conn.url(home)


def _calendar_of(conn: DavConnection, row: PropRow) -> DavCalendar | None:
    rtype = row.props.get(f"{{{DAV}}}resourcetype")
    if row.status != 200 or rtype is None or rtype.find(f"{{{CALDAV}}}calendar") is None:
        return None
    comps = row.props.get(f"{{{CALDAV}}}supported-calendar-component-set")
    if comps is not None and len(comps) and not any(c.get("name") == "VEVENT" for c in comps):
        return None
    privileges = row.props.get(f"{{{DAV}}}current-user-privilege-set")
    can_edit = True
    if privileges is not None and len(privileges):
        can_edit = bool({str(p.tag) for priv in privileges for p in priv} & _WRITE)
    reports = row.props.get(f"{{{DAV}}}supported-report-set")
    sync = reports is not None and any(e.tag == f"{{{DAV}}}sync-collection" for e in reports.iter())
    href = conn.url(row.href)
    href = href if href.endswith("/") else href + "/"
    name = (row.text(f"{{{DAV}}}displayname") or "").strip() or stem(href)
    return DavCalendar(CalendarInfo(urlsplit(href).path, name, False, can_edit), href, sync)


def _pick_default(calendars: list[DavCalendar], default_name: str) -> DavCalendar | None:
    if not calendars:
        return None
    if default_name:
        named = find_calendar([c.info for c in calendars], default_name)
        if named is not None:
            return next(c for c in calendars if c.info.id == named.id)
    for wanted in DEFAULT_NAMES:
        for cal in calendars:
            if stem(cal.href).casefold() == wanted:
                return cal
    return calendars[0]


async def load_calendars(
    conn: DavConnection, home: str, mailbox: str, default_name: str
) -> list[DavCalendar]:
    """The calendars in ``home``, in path order, the default one marked."""
    reply = await conn.send(
        "PROPFIND", home, _PROPFIND_CALENDARS, {"Depth": "1", "Content-Type": XML}, mailbox=mailbox
    )
    if reply.status == 404:
        raise CalendarNotFoundError(f"PROPFIND {home}: 404", mailbox=mailbox, calendar="(calendar home)")
    if reply.status != 207:
        raise SfacalError(f"PROPFIND {home}: {reply.status}")
    found = [c for row in multistatus(reply.body)[0] if (c := _calendar_of(conn, row)) is not None]
    found.sort(key=lambda c: c.href)
    default = _pick_default(found, default_name)
    return [
        DavCalendar(
            CalendarInfo(c.info.id, c.info.name, c is default, c.info.can_edit, mailbox), c.href, c.sync
        )
        for c in found
    ]
