"""The request bodies the CalDAV connector sends, and small pure helpers about hrefs and ids.

* :func:`event_uid`: the ``UID`` (and id) of the event a create makes -- the same tag and
  transaction id always give the same UID (S6).
* Report bodies (``calendar-query`` with an optional ``prop-filter``, ``sync-collection``) with every
  value XML-escaped; text matches use the ``i;octet`` collation (exact case), and the connector
  checks each match again itself.
"""

from __future__ import annotations

import hashlib
from urllib.parse import unquote, urlsplit
from xml.sax.saxutils import escape

from sfacal.calendars.base import EventTag

from .dav import CALDAV, DAV

__all__ = [
    "ICS",
    "XML",
    "calendar_query",
    "event_uid",
    "parent",
    "sequence_of",
    "stem",
    "sync_collection",
    "text_match",
]

ICS = "text/calendar; charset=utf-8"
XML = "application/xml; charset=utf-8"


def event_uid(tag: EventTag, transaction_id: str) -> str:
    """The ``UID`` (and id) of the event a create with this tag and transaction id makes."""
    digest = hashlib.sha256(f"{tag.value}\x1f{transaction_id}".encode()).hexdigest()
    return f"sfacal-{digest[:40]}"


def calendar_query(prop_filter: str = "", *, data: bool = True) -> str:
    """A ``calendar-query`` REPORT for the VEVENTs of a calendar (ETag and, with ``data``, the
    calendar data), narrowed by ``prop_filter``."""
    calendar_data = "<c:calendar-data/>" if data else ""
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<c:calendar-query xmlns:d="{DAV}" xmlns:c="{CALDAV}">'
        f"<d:prop><d:getetag/>{calendar_data}</d:prop>"
        '<c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT">'
        f"{prop_filter}</c:comp-filter></c:comp-filter></c:filter></c:calendar-query>"
    )


def text_match(prop: str, value: str) -> str:
    """A ``prop-filter`` on ``prop`` containing ``value`` (exact case)."""
    return (
        f'<c:prop-filter name="{prop}">'
        f'<c:text-match collation="i;octet">{escape(value)}</c:text-match></c:prop-filter>'
    )


def sync_collection(token: str) -> str:
    """A ``sync-collection`` REPORT (RFC 6578) from ``token`` (empty: everything)."""
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<d:sync-collection xmlns:d="{DAV}" xmlns:c="{CALDAV}">'
        f"<d:sync-token>{escape(token)}</d:sync-token><d:sync-level>1</d:sync-level>"
        "<d:prop><d:getetag/><c:calendar-data/></d:prop></d:sync-collection>"
    )


def stem(href: str) -> str:
    """The last segment of ``href``, decoded, without ``.ics``."""
    name = unquote(urlsplit(href).path.rstrip("/").rsplit("/", 1)[-1])
    return name[:-4] if name.endswith(".ics") else name


def parent(href: str) -> str:
    """The collection holding the resource ``href`` (ending in ``/``)."""
    return href.rsplit("/", 1)[0] + "/"


def sequence_of(text: str) -> int:
    """The ``SEQUENCE`` of an iCalendar text (0 when absent or unreadable)."""
    for line in text.splitlines():
        if line.upper().startswith("SEQUENCE:"):
            try:
                return int(line.split(":", 1)[1].strip())
            except ValueError:
                return 0
    return 0
