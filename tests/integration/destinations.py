"""The three calendar destinations, as the served-stack tests (end to end, crash) use them.

A :class:`Destination` says what a company's settings must hold to write to it (run by
:meth:`Destination.setup_code` inside a :class:`~tests.integration.stack.Stack` query), which
environment the ``sfacal web`` / ``sfacal worker`` processes need (CA bundle, API address), how to
make a mailbox there, and how to read a mailbox's events back -- through the destination's own
back door (the emulator's control API, or CalDAV requests as a calendar app), never through the
connector under test -- in one shape: :class:`Event` (subject, location, body, the product's tag).

* ``m365``: the Microsoft 365 emulator (Graph over TLS), client secret;
* ``google``: the Google Calendar emulator, a service account with domain-wide delegation
  (``SFACAL_GOOGLE_API_URL``);
* ``caldav``: a real Radicale server over TLS, the company's service account
  (``CalDavConnection``), calendar homes at ``{mailbox}/``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import icalendar
from lxml import etree

from sfacal.calendars.msgraph.payload import TAG_PROPERTY_ID
from sfacal.emulators.m365 import EmulatorHandle
from tests.calendars.google_helpers import Google, start_google
from tests.calendars.radicale import CALDAV, DAV, SERVICE_PASSWORD, SERVICE_USER, Radicale, start_radicale
from tests.integration.conftest import Tenant, m365_settings, new_tenant

DESTINATIONS = ("m365", "google", "caldav")


@dataclass(frozen=True)
class Event:
    """One stored event, whatever the destination."""

    id: str
    subject: str
    location: str
    body: str
    tag: str


@dataclass
class Destination:
    name: str
    domain: str
    ca_files: list[Path]
    env: dict[str, str] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    caldav_connection: dict[str, str] | None = None
    _m365: Tenant | None = None
    _google: Google | None = None
    _radicale: Radicale | None = None

    def stack_env(self, directory: Path) -> dict[str, str]:
        """The served processes' environment: every CA the test's servers use in one bundle
        (``SFACAL_CA_BUNDLE``), and the destination's own variables."""
        bundle = directory / f"ca-bundle-{uuid.uuid4().hex[:6]}.pem"
        bundle.write_text("".join(p.read_text() for p in self.ca_files))
        return {**self.env, "SFACAL_CA_BUNDLE": str(bundle)}

    def setup_code(self, company: str = "c") -> str:
        """Python (for :meth:`Stack.query`) that points the company named ``company`` at this
        destination: its settings, saved through the model (secrets encrypted), and for CalDAV
        the company's connection row."""
        code = (
            f"from sfacal.directory.companies.models import CompanySettings as _CS\n"
            f"_cs = _CS.objects.get(company={company})\n"
            f"for _k, _v in json.loads({json.dumps(self.settings)!r}).items():\n"
            f"    setattr(_cs, _k, _v)\n"
            f"_cs.save()\n"
        )
        if self.caldav_connection is not None:
            code += (
                "from sfacal.directory.connections.models import CalDavConnection as _CD\n"
                f"_CD.objects.create(company={company}, **json.loads({json.dumps(self.caldav_connection)!r}))\n"
            )
        return code

    def mailbox(self, login: str) -> str:
        """Make the mailbox ``login@domain`` (what ``login_at_domain`` resolves to) and return it."""
        address = f"{login}@{self.domain}"
        if self._m365 is not None:
            return self._m365.mailbox(login)
        if self._google is not None:
            self._google.control.create_user(address)
            return address
        assert self._radicale is not None
        return self._radicale.new_user(mailbox=address)

    def events(self, mailbox: str) -> list[Event]:
        if self._m365 is not None:
            return [_graph_event(e) for e in self._m365.events(mailbox)]
        if self._google is not None:
            return [_google_event(e) for e in self._google.events(mailbox)]
        assert self._radicale is not None
        return _caldav_events(self._radicale, mailbox)


def _graph_event(e: dict[str, Any]) -> Event:
    tag_id = TAG_PROPERTY_ID.lower()
    tags = [
        str(p["value"])
        for p in e.get("singleValueExtendedProperties", [])
        if str(p.get("id", "")).lower() == tag_id
    ]
    return Event(
        id=str(e["id"]),
        subject=str(e.get("subject", "")),
        location=str((e.get("location") or {}).get("displayName", "")),
        body=str((e.get("body") or {}).get("content", "")),
        tag=tags[0] if tags else "",
    )


def _google_event(e: dict[str, Any]) -> Event:
    private = (e.get("extendedProperties") or {}).get("private") or {}
    return Event(
        id=str(e["id"]),
        subject=str(e.get("summary", "")),
        location=str(e.get("location", "")),
        body=str(e.get("description", "")),
        tag=str(private.get("sfacalTag", "")),
    )


_QUERY = (
    f'<?xml version="1.0" encoding="utf-8"?><c:calendar-query xmlns:d="{DAV}" xmlns:c="{CALDAV}">'
    "<d:prop><c:calendar-data/></d:prop>"
    '<c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT"/></c:comp-filter></c:filter>'
    "</c:calendar-query>"
)


def _caldav_events(server: Radicale, mailbox: str) -> list[Event]:
    """Every event of every calendar of the mailbox, one ``calendar-query`` per calendar."""
    found: list[Event] = []
    with server.client() as c:
        for path in server.calendars(mailbox).values():
            r = c.request("REPORT", path, content=_QUERY.encode(), headers={"Depth": "1"})
            assert r.status_code == 207, r.text
            for data in etree.fromstring(r.content).iter(f"{{{CALDAV}}}calendar-data"):
                cal = icalendar.Calendar.from_ical(data.text or "")
                ev = next(iter(cal.walk("VEVENT")))
                found.append(
                    Event(
                        id=str(ev.get("uid")),
                        subject=str(ev.get("summary", "")),
                        location=str(ev.get("location", "")),
                        body=str(ev.get("description", "")),
                        tag=str(ev.get("X-SFACAL-TAG", "")),
                    )
                )
    return found


@contextmanager
def destination(
    name: str,
    directory: Path,
    m365: EmulatorHandle | None = None,
    latency_ms: int = 0,
    google_knobs: dict[str, Any] | None = None,
) -> Iterator[Destination]:
    """A ready destination: a new tenant / Workspace domain / Radicale server (in ``directory``);
    ``latency_ms`` is added to every request of the emulators (Radicale has its own);
    ``google_knobs`` are further knobs of the Google emulator (its quotas, for example)."""
    with ExitStack() as resources:
        if name == "m365":
            assert m365 is not None
            tenant = new_tenant(m365)
            m365.control.set_knobs(latency_ms=latency_ms)
            resources.callback(m365.control.set_knobs, latency_ms=0)
            yield Destination(
                name, tenant.domain, [m365.ca_pem], settings=m365_settings(tenant), _m365=tenant
            )
        elif name == "google":
            directory.mkdir(parents=True, exist_ok=True)
            gen = start_google(directory, knobs={"latency_ms": latency_ms, **(google_knobs or {})})
            google = next(gen)
            resources.callback(gen.close)
            key = google.new_key()
            settings = {
                "sync_enabled": True,
                "write_to_calendar": True,
                "calendar_service": "google",
                "google_service_account_key": json.dumps(key),
                "domain": google.domain,
            }
            env = {"SFACAL_GOOGLE_API_URL": google.emu.api_url}
            yield Destination(name, google.domain, [google.emu.ca_pem], env, settings, _google=google)
        elif name == "caldav":
            directory.mkdir(parents=True, exist_ok=True)
            server = resources.enter_context(start_radicale(directory))
            domain = f"c{uuid.uuid4().hex[:8]}.example.jp"
            settings = {
                "sync_enabled": True,
                "write_to_calendar": True,
                "calendar_service": "caldav",
                "domain": domain,
            }
            connection = {"base_url": server.base_url, "username": SERVICE_USER, "password": SERVICE_PASSWORD}
            yield Destination(
                name,
                domain,
                [Path(server.ca_bundle)],
                settings=settings,
                caldav_connection=connection,
                _radicale=server,
            )
        else:
            raise ValueError(f"unknown destination {name!r}")


__all__ = ["DESTINATIONS", "Destination", "Event", "destination"]
