"""``sfacal serve --demo``: the product with a sample company, against the built-in emulators.

:func:`start_demo` (called by the ``serve`` command, and only when ``--demo`` is given)

1. starts the Microsoft 365 and JUST.SFA emulators (TLS, one CA in ``<data dir>/demo``) and seeds
   them: a tenant, an app with a password-protected certificate, four mailboxes (one with the named
   calendar 営業), the standard JUST.SFA schedule table and an API key;
2. creates (once) or updates the sample company デモ商事: sync on, the certificate, the emulator's
   token endpoint and Graph URL, masters, an administrator and four employees who can sign in, the
   JUST.SFA connection and its user mappings; the engine and the JUST.SFA client trust the
   emulators' CA through ``SFACAL_CA_BUNDLE``, and may connect to them on 127.0.0.1 because the
   demo adds loopback to the outbound address rule (``SFACAL_ALLOW_PRIVATE_URLS``, besides what the
   operator allowed; restored by :meth:`DemoHandle.stop`);
3. configures the emulator's webhook to ``<web>/hooks/justsfa/<token>`` (with a secret header);
4. starts a salesperson who creates, changes and deletes schedules every few seconds
   (``SFACAL_DEMO_INTERVAL``, default 4), once the web server answers;
5. prints the demo credentials and where to look, and writes them to ``<data dir>/demo/demo.json``;
6. points the screens at the emulator's read-only mailbox viewer (``SFACAL_DEMO_MAILBOX_VIEWER``,
   removed again by :meth:`DemoHandle.stop`), so the dashboard and the mirrored-events pages link
   to the emulated calendars' live contents; without the demo there are no such links.

See ``docs/demo.md``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

import httpx

from sfacal import config
from sfacal.config import DEMO_MAILBOX_VIEWER_ENV as VIEWER_ENV
from sfacal.core.addresses import AddressRule
from sfacal.net import ALLOW_ENV

from .people import ADMIN_PASSWORD, ADMIN_USERNAME, COMPANY_NAME, EMPLOYEE_PASSWORD, PEOPLE, WEBHOOK_HEADER
from .provision import DemoRefusedError, prepare_company, wire_company
from .stream import Salesperson, StreamThread
from .world import World, start_world

__all__ = ["DemoHandle", "DemoRefusedError", "start_demo"]

DEFAULT_INTERVAL_S = 4.0


class _Writer(Protocol):
    def write(self, msg: str, /) -> Any: ...


@dataclass
class DemoHandle:
    """A running demo: its emulators, the salesperson, and what was printed (as data)."""

    world: World
    info: dict[str, Any]
    _stack: contextlib.ExitStack
    _stream: StreamThread
    _env_before: str | None
    _viewer_before: str | None = None
    _allow_before: str | None = None
    _stopped: bool = field(default=False)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def stop(self) -> None:
        """Stop the salesperson and both emulators (idempotent)."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
        self._stream.stop()
        self._stack.close()
        _restore_env("SFACAL_CA_BUNDLE", self._env_before)
        _restore_env(VIEWER_ENV, self._viewer_before)
        _restore_env(ALLOW_ENV, self._allow_before)


def _restore_env(name: str, before: str | None) -> None:
    if before is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = before


def _local_url(web_url: str) -> str:
    """The URL the emulator delivers webhooks to: a wildcard bind address becomes loopback."""
    parts = urlsplit(web_url.rstrip("/"))
    host = parts.hostname or "127.0.0.1"
    if host in ("0.0.0.0", "::", ""):  # noqa: S104 - a bind address, not a bind
        host = "127.0.0.1"
    netloc = f"[{host}]" if ":" in host else host
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme or "http", netloc, "", "", ""))


def _trust(ca_pem: Path, directory: Path) -> str | None:
    """Make the connectors of this process trust the emulators' CA (besides any CA already set)."""
    before = os.environ.get("SFACAL_CA_BUNDLE") or None
    bundle = ca_pem
    if before and Path(before).is_file() and Path(before).resolve() != ca_pem.resolve():
        bundle = directory / "ca-bundle.pem"
        bundle.write_text(Path(before).read_text() + "\n" + ca_pem.read_text())
    os.environ["SFACAL_CA_BUNDLE"] = str(bundle)
    return before


LOOPBACK = "127.0.0.0/8,::1"
"""Where the emulators listen: what the demo adds to the outbound address rule."""


def _allow_loopback() -> str | None:
    """Let the connectors of this process reach the emulators on loopback, besides the addresses the
    operator allowed (an allowance that cannot be read is replaced). Returns the value before."""
    before = os.environ.get(ALLOW_ENV)
    try:
        rule = AddressRule.parse(before)
    except ValueError:
        rule = AddressRule()
    if not rule.allow_all:
        os.environ[ALLOW_ENV] = f"{before.strip()},{LOOPBACK}" if before and rule.allowed else LOOPBACK
    return before


def _interval() -> float:
    raw = os.environ.get("SFACAL_DEMO_INTERVAL", "").strip()
    try:
        value = float(raw) if raw else DEFAULT_INTERVAL_S
    except ValueError:
        value = DEFAULT_INTERVAL_S
    return min(max(value, 0.2), 3600.0)


def _web_ready(url: str) -> bool:
    try:
        return httpx.get(url + "/healthz", timeout=1.0, trust_env=False).status_code < 500
    except httpx.HTTPError:
        return False


def _banner(info: dict[str, Any]) -> str:
    web = info["web_url"]
    lines = [
        "",
        "=" * 78,
        f" sfacal DEMO — sample company {COMPANY_NAME} (code {info['company']}) against built-in emulators",
        " Never use these accounts or this data directory for real work.",
        "=" * 78,
        f" Sign in:      {web}/accounts/signin/",
        f"   administrator   {ADMIN_USERNAME:<10} password {ADMIN_PASSWORD}",
    ]
    for person in PEOPLE:
        lines.append(
            f"   employee        {person.login_id:<10} password {EMPLOYEE_PASSWORD}   ({person.name})"
        )
    lines += [
        f" Sync log:     {web}/log/   (sign in as {ADMIN_USERNAME})",
        f" Calendars:    {info['m365_view_url']}   (in a browser, live; linked from the",
        "               dashboard; the browser warns once: the emulators' CA is not one it knows)",
        f"               as JSON: {info['m365_events_url']}?user={PEOPLE[0].mailbox}",
        f" JUST.SFA:     {info['justsfa_records_url']}",
        f" Webhook:      {info['webhook_url']} (header {WEBHOOK_HEADER})",
        f" TLS:          the emulators' CA is {info['ca_pem']}",
        f"               e.g. curl --cacert {info['ca_pem']} '{info['m365_events_url']}'",
        f" A salesperson changes a schedule every {info['interval_s']:g} s; events land within seconds.",
        f" All of this is in {info['info_file']}",
        "=" * 78,
        "",
    ]
    return "\n".join(lines)


def start_demo(web_url: str, stdout: _Writer, *, interval: float | None = None) -> DemoHandle:
    """Start the demo (see the module docstring). ``web_url`` is where ``sfacal serve`` listens.

    Raises :class:`DemoRefusedError` when the database holds other companies (a real database).
    """
    directory = config.data_dir() / "demo"
    # Every request line (with URLs holding the webhook token) would bury the demo's own lines.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    directory.mkdir(parents=True, exist_ok=True)
    company, secrets = prepare_company()
    stack = contextlib.ExitStack()
    env_before = os.environ.get("SFACAL_CA_BUNDLE")
    viewer_before = os.environ.get(VIEWER_ENV)
    allow_before = _allow_loopback()
    try:
        world = start_world(stack, directory, api_key=secrets.api_key)
        env_before = _trust(world.ca_pem, directory)
        connection = wire_company(company, world)
        local = _local_url(web_url)
        from sfacal.sources.justsfa import webhook_path

        webhook_url = local + webhook_path(connection)
        world.justsfa.control.add_webhook(
            world.setup.tenant,
            world.setup.table_id,
            webhook_url,
            headers={WEBHOOK_HEADER: secrets.webhook_secret},
            title="sfacal (demo)",
        )
        every = interval if interval is not None else _interval()
        info: dict[str, Any] = {
            "company": company.slug,
            "web_url": local,
            "signin_url": f"{local}/accounts/signin/",
            "log_url": f"{local}/log/",
            "admin": {"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD},
            "employees": [
                {
                    "username": p.login_id,
                    "password": EMPLOYEE_PASSWORD,
                    "name": p.name,
                    "mailbox": p.mailbox,
                    "calendar": p.calendar or "(default)",
                }
                for p in PEOPLE
            ],
            "m365_url": world.m365.base_url,
            "m365_events_url": f"{world.m365.base_url}/_control/events",
            "m365_view_url": f"{world.m365.base_url}/_control/view",
            "justsfa_url": world.justsfa.base_url,
            "justsfa_records_url": (
                f"{world.justsfa.base_url}/_control/tenants/{world.setup.tenant}"
                f"/tables/{world.setup.table_id}/records"
            ),
            "webhook_url": webhook_url,
            "ca_pem": str(world.ca_pem),
            "interval_s": every,
            "info_file": str(directory / "demo.json"),
        }
        (directory / "demo.json").write_text(json.dumps(info, ensure_ascii=False, indent=2), encoding="utf-8")
        (directory / "demo.json").chmod(config.PRIVATE_FILE_MODE)  # it holds the demo's passwords
        os.environ[VIEWER_ENV] = info["m365_view_url"]
        person = Salesperson(world.justsfa.control, world.setup)
        stream = StreamThread(
            person, every, ready=lambda: _web_ready(local), report=lambda line: stdout.write(line)
        )
        stream.start()
    except BaseException:
        stack.close()
        _restore_env("SFACAL_CA_BUNDLE", env_before)
        _restore_env(VIEWER_ENV, viewer_before)
        _restore_env(ALLOW_ENV, allow_before)
        raise
    stdout.write(_banner(info))
    return DemoHandle(world, info, stack, stream, env_before, viewer_before, allow_before)
