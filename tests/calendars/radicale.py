"""A real CalDAV server for the tests: Radicale, started on a loopback port over TLS.

:func:`start_radicale` runs ``python -m radicale`` with a throw-away storage folder, a trustme
certificate and one service account allowed to read and write every calendar (``rights =
authenticated``), and yields a :class:`Radicale` handle: make users and calendars, and act on
their calendars as the user would in their calendar app (a back door that goes through CalDAV
too, never through the connector under test).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import socket
import ssl
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import icalendar
import trustme
from lxml import etree

from sfacal.calendars.caldav import CalDavSettings

SERVICE_USER = "sfacal-service"
SERVICE_PASSWORD = "svc-Pa55word!"
DAV = "DAV:"
CALDAV = "urn:ietf:params:xml:ns:caldav"
_users = itertools.count(1)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Radicale:
    base_url: str
    ca_bundle: str
    folder: Path

    def client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.base_url,
            auth=(SERVICE_USER, SERVICE_PASSWORD),
            verify=ssl.create_default_context(cafile=self.ca_bundle),
            timeout=30,
        )

    def settings(self, **overrides: Any) -> CalDavSettings:
        values: dict[str, Any] = {
            "base_url": self.base_url,
            "username": SERVICE_USER,
            "password": SERVICE_PASSWORD,
            "ca_bundle": self.ca_bundle,
            "timezone": "Asia/Tokyo",
        }
        values.update(overrides)
        return CalDavSettings(**values)

    def new_user(self, calendars: Sequence[str] = (), mailbox: str | None = None) -> str:
        """A new mailbox with a default calendar (``calendar``) and the named ones."""
        mailbox = mailbox or f"user{next(_users)}-{uuid.uuid4().hex[:6]}@example.jp"
        with self.client() as c:
            home = f"/{quote(mailbox, safe='@')}/"
            assert c.request("MKCOL", home).status_code in (201, 405)
            self._mkcalendar(c, home + "calendar/", "Calendar")
            for name in calendars:
                self._mkcalendar(c, home + uuid.uuid4().hex + "/", name)
        return mailbox

    @staticmethod
    def _mkcalendar(c: httpx.Client, path: str, name: str) -> None:
        body = (
            f'<?xml version="1.0" encoding="utf-8"?><c:mkcalendar xmlns:d="{DAV}" xmlns:c="{CALDAV}">'
            f"<d:set><d:prop><d:displayname>{name}</d:displayname></d:prop></d:set></c:mkcalendar>"
        )
        r = c.request("MKCALENDAR", path, content=body.encode())
        assert r.status_code == 201, r.text

    def add_login(self, username: str, password: str) -> None:
        """A user of the server with their own password (Radicale reads the file at each sign-in)."""
        with open(self.folder / "users", "a") as f:
            f.write(f"{username}:{password}\n")

    # -- the user's side ---------------------------------------------------------------------

    def calendars(self, mailbox: str) -> dict[str, str]:
        """Display name → path of each calendar of the mailbox."""
        body = f'<d:propfind xmlns:d="{DAV}"><d:prop><d:displayname/><d:resourcetype/></d:prop></d:propfind>'
        with self.client() as c:
            r = c.request("PROPFIND", f"/{quote(mailbox, safe='@')}/", content=body, headers={"Depth": "1"})
        out: dict[str, str] = {}
        for resp in etree.fromstring(r.content).findall(f"{{{DAV}}}response"):
            if resp.find(f".//{{{CALDAV}}}calendar") is not None:
                out[resp.findtext(f".//{{{DAV}}}displayname") or ""] = resp.findtext(f"{{{DAV}}}href") or ""
        return out

    def resources(self, mailbox: str) -> list[tuple[str, str, icalendar.Event]]:
        """(calendar path, resource path, main VEVENT) of every event of the mailbox."""
        out = []
        with self.client() as c:
            for path in self.calendars(mailbox).values():
                r = c.request("PROPFIND", path, headers={"Depth": "1"})
                for resp in etree.fromstring(r.content).findall(f"{{{DAV}}}response"):
                    href = resp.findtext(f"{{{DAV}}}href") or ""
                    if href.endswith(".ics"):
                        cal = icalendar.Calendar.from_ical(c.get(href).content)
                        out.append((path, href, next(iter(cal.walk("VEVENT")))))
        return out

    def events(self, mailbox: str) -> list[dict[str, Any]]:
        """Every event, in the shape the contract suite reads (Graph's field names)."""
        found = []
        for cal, _, ev in self.resources(mailbox):
            tag = ev.get("X-SFACAL-TAG")
            found.append(
                {
                    "id": str(ev.get("uid")),
                    "calendarId": cal,
                    "properties": {
                        "subject": str(ev.get("summary", "")),
                        "sensitivity": {"PUBLIC": "normal"}.get(str(ev.get("class", "PUBLIC")), "private"),
                        "showAs": "free" if str(ev.get("transp", "OPAQUE")) == "TRANSPARENT" else "busy",
                    },
                    "singleValueExtendedProperties": [{"value": str(tag)}] if tag is not None else [],
                }
            )
        return found

    def _href(self, mailbox: str, uid: str) -> str:
        for _, href, ev in self.resources(mailbox):
            if str(ev.get("uid")) == uid:
                return href
        raise AssertionError(f"no event {uid}")

    def user_delete(self, mailbox: str, uid: str) -> None:
        with self.client() as c:
            assert c.delete(self._href(mailbox, uid)).status_code in (200, 204)

    def user_update(self, mailbox: str, uid: str, changes: dict[str, Any]) -> None:
        """Edit an event as a calendar app would (changes named as in Graph's JSON)."""
        href = self._href(mailbox, uid)
        with self.client() as c:
            cal = icalendar.Calendar.from_ical(c.get(href).content)
            ev = next(iter(cal.walk("VEVENT")))
            if "subject" in changes:
                ev["summary"] = icalendar.vText(changes["subject"])
            if changes.get("isAllDay"):
                for key in ("dtstart", "dtend"):
                    day = changes["start" if key == "dtstart" else "end"]["dateTime"][:10]
                    del ev[key]
                    ev.add(key, icalendar.vDate.from_ical(day.replace("-", "")))
            ev["sequence"] = int(ev.get("sequence", 0)) + 1
            r = c.put(href, content=cal.to_ical(), headers={"Content-Type": "text/calendar"})
            assert r.status_code in (201, 204), r.text

    def user_create(self, mailbox: str, event: dict[str, Any]) -> str:
        uid = f"user-{uuid.uuid4().hex}"
        cal = icalendar.Calendar()
        cal.add("prodid", "-//calendar app//EN")
        cal.add("version", "2.0")
        ev = icalendar.Event()
        ev.add("uid", uid)
        ev.add("summary", event.get("subject", ""))
        ev.add("dtstamp", icalendar.vDDDTypes.from_ical("20300101T000000Z"))
        for key in ("start", "end"):
            ev.add(
                "dt" + key,
                icalendar.vDDDTypes.from_ical(event[key]["dateTime"].replace("-", "").replace(":", "") + "Z"),
            )
        cal.add_component(ev)
        path = self.calendars(mailbox)["Calendar"] + uid + ".ics"
        with self.client() as c:
            assert (
                c.put(path, content=cal.to_ical(), headers={"Content-Type": "text/calendar"}).status_code
                == 201
            )
        return uid

    def user_move(self, mailbox: str, uid: str, calendar: str) -> None:
        href = self._href(mailbox, uid)
        target = self.calendars(mailbox)[calendar] + href.rsplit("/", 1)[1]
        with self.client() as c:
            r = c.request("MOVE", href, headers={"Destination": self.base_url.rstrip("/") + target})
            assert r.status_code in (201, 204), r.text


@contextlib.contextmanager
def start_radicale(folder: Path) -> Iterator[Radicale]:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert_pem, key_pem, ca_pem = folder / "cert.pem", folder / "key.pem", folder / "ca.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(cert_pem))
    cert.private_key_pem.write_to_path(str(key_pem))
    ca.cert_pem.write_to_path(str(ca_pem))
    (folder / "users").write_text(f"{SERVICE_USER}:{SERVICE_PASSWORD}\n")
    port = _free_port()
    config = folder / "config"
    config.write_text(
        f"[server]\nhosts = 127.0.0.1:{port}\nssl = True\ncertificate = {cert_pem}\nkey = {key_pem}\n"
        f"[auth]\ntype = htpasswd\nhtpasswd_filename = {folder / 'users'}\nhtpasswd_encryption = plain\n"
        f"[rights]\ntype = authenticated\n"
        f"[storage]\nfilesystem_folder = {folder / 'collections'}\n"
        f"[logging]\nlevel = warning\n"
    )
    log = open(folder / "radicale.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "radicale", "--config", str(config)],
        stdout=log,
        stderr=log,
        env=dict(os.environ),
    )
    handle = Radicale(f"https://127.0.0.1:{port}/", str(ca_pem), folder)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with handle.client() as c:
                    if c.request("PROPFIND", "/", headers={"Depth": "0"}).status_code in (207, 401, 403):
                        break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((folder / "radicale.log").read_text())
            time.sleep(0.1)
        yield handle
    finally:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(10)
        if proc.poll() is None:
            proc.kill()
        log.close()


__all__ = ["Radicale", "start_radicale"]
