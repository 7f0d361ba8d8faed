"""CalDAV (RFC 4791) as a destination calendar: any CalDAV server, through the ``caldav`` library.

* :mod:`.settings` -- the plain settings (service account with a home-path pattern, or per-employee
  accounts found by discovery);
* :mod:`.dav` -- one account's connection (guarded ``httpx`` pool, errors mapped to the tree);
* :mod:`.ical` -- rendered events to iCalendar and back (``icalendar``);
* :mod:`.queries` -- request bodies, the UID rule and href helpers;
* :mod:`.discovery` -- the calendar home (pattern or discovery) and its calendars;
* :mod:`.service` -- :class:`CalDavCalendar`, the :class:`~sfacal.calendars.base.CalendarService`.
"""

from __future__ import annotations

from .service import CalDavCalendar, event_uid
from .settings import CalDavAccount, CalDavSettings

__all__ = ["CalDavAccount", "CalDavCalendar", "CalDavSettings", "event_uid"]
