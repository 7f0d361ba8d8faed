"""The product as it is served, with both emulators, each in its own process.

Guarantees:

* ``sfacal emulate m365`` and ``sfacal emulate justsfa`` run over TLS from one data directory, so
  they share one CA (``ca.pem``); ``sfacal serve`` trusts it through ``SFACAL_CA_BUNDLE`` and may
  connect to them on 127.0.0.1 through ``SFACAL_ALLOW_PRIVATE_URLS`` in its environment, as an
  operator would configure it. Nothing in the product is replaced or faked.
* ``sfacal serve`` is the real ASGI server with its in-process worker and scheduler, on SQLite in
  a temporary data directory, in an environment without the test session's own switches; every
  process writes its output to ``<data>/<name>.log``.
* :meth:`ServedStack.server_problems` reads the server's log from a given offset, so each step of
  a walk can fail on the tracebacks and ERROR records it caused (:func:`problems_in`).
* :meth:`ServedStack.stop` ends only the processes this stack started (by their process group).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

from sfacal.emulators.justsfa import ControlClient as JustSfaControl
from sfacal.emulators.m365 import ControlClient as M365Control
from tests.integration.stack import Stack, free_port

# The start of a record of the server's log (``%(asctime)s %(levelname)s %(name)s %(message)s``).
RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (?P<level>[A-Z]+) (?P<logger>\S+) ", re.M)


def problems_in(text: str) -> list[str]:
    """The records of a log excerpt that mean something went wrong on the server's side: ERROR
    and CRITICAL records, and any traceback, except Django's own WARNING about a request it
    answered 4xx (a 403 or 404 the walk asked for)."""
    starts = [m.start() for m in RECORD.finditer(text)]
    chunks = [text[a:b] for a, b in zip([0, *starts], [*starts, len(text)], strict=True) if text[a:b].strip()]
    found = []
    for chunk in chunks:
        head = RECORD.match(chunk)
        level, logger = (head.group("level"), head.group("logger")) if head else ("", "")
        if level in ("ERROR", "CRITICAL"):
            found.append(chunk)
        elif "Traceback (most recent call last)" in chunk and not (
            logger == "django.request" and level == "WARNING"
        ):
            found.append(chunk)
    return found


class ServedStack(Stack):
    """``sfacal serve`` against ``sfacal emulate m365`` and ``sfacal emulate justsfa``."""

    def __init__(self, data_dir: Path) -> None:
        self.emulator_dir = data_dir / "emulators"
        ours = {
            "SFACAL_CA_BUNDLE": str(self.emulator_dir / "ca.pem"),
            "SFACAL_LOG_LEVEL": "INFO",
            # The emulators and the test receivers listen on loopback (docs/operations.md).
            "SFACAL_ALLOW_PRIVATE_URLS": "127.0.0.0/8,::1",
        }
        super().__init__(data_dir, env=ours)
        # The product runs as an operator starts it: no switch the test session set for itself
        # (DJANGO_ALLOW_ASYNC_UNSAFE, set for the in-process browser tests, would hide the very
        # database-inside-an-event-loop failures this suite is for), no other SFACAL_ setting.
        for key in list(self.env):
            if (key.startswith("DJANGO_") and key != "DJANGO_SETTINGS_MODULE") or (
                key.startswith("SFACAL_") and key not in (*ours, "SFACAL_DATA_DIR")
            ):
                del self.env[key]
        self.m365_url = ""
        self.justsfa_url = ""
        self.m365: M365Control | None = None
        self.justsfa: JustSfaControl | None = None

    @property
    def ca_pem(self) -> Path:
        return self.emulator_dir / "ca.pem"

    # -- processes --------------------------------------------------------------------------------

    def _emulator(self, name: str) -> str:
        port = free_port()
        self.start(
            name,
            "emulate",
            name,
            "--port",
            str(port),
            "--data-dir",
            str(self.emulator_dir),
        )
        return f"https://127.0.0.1:{port}"

    def _wait(self, what: str, name: str, probe: Any, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            proc = self.procs[name]
            if proc.poll() is not None:
                raise RuntimeError(f"{what} exited with {proc.returncode}: {self.log(name)}")
            try:
                if probe():
                    return
            except (httpx.HTTPError, OSError, RuntimeError, ValueError):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{what} did not start: {self.log(name)}")

    def start_emulators(self) -> None:
        # One after the other: the first creates the CA that the second then reuses.
        self.m365_url = self._emulator("m365")
        self._wait("the Microsoft 365 emulator", "m365", lambda: self.ca_pem.exists())
        self.m365 = M365Control(self.m365_url, self.ca_pem)
        self._wait("the Microsoft 365 emulator", "m365", self.m365.health)
        self.m365.set_knobs(rest_ids_change_on_update=True)  # only immutable ids keep working
        self.justsfa_url = self._emulator("justsfa")
        self.justsfa = JustSfaControl(self.justsfa_url, self.ca_pem)
        self._wait("the JUST.SFA emulator", "justsfa", self.justsfa.health)

    def start_serve(self) -> str:
        port = free_port()
        self.start("serve", "serve", "--port", str(port), "--workers", "2")
        self.web_url = f"http://127.0.0.1:{port}"
        self._wait(
            "sfacal serve",
            "serve",
            lambda: httpx.get(self.web_url + "/healthz", timeout=2, trust_env=False).status_code == 200,
            timeout=120,
        )
        return self.web_url

    def stop(self) -> None:
        for client in (self.m365, self.justsfa):
            if client is not None:
                client.close()
        for name, proc in list(self.procs.items()):
            if proc.poll() is None:  # the server stops gracefully; the emulators need not
                os.killpg(proc.pid, signal.SIGTERM if name == "serve" else signal.SIGKILL)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
        self.procs.clear()

    # -- what the server wrote --------------------------------------------------------------------

    @property
    def server_log(self) -> Path:
        return self.data_dir / "serve.log"

    def server_log_size(self) -> int:
        return self.server_log.stat().st_size if self.server_log.exists() else 0

    def server_problems(self, since: int) -> str:
        """What the server logged after offset ``since`` that means a problem (see
        :func:`problems_in`); empty if nothing."""
        if not self.server_log.exists():
            return ""
        with self.server_log.open("rb") as f:
            f.seek(since)
            text = f.read().decode(errors="replace")
        return "\n".join(problems_in(text))

    # -- Microsoft 365 emulator: what the calendars hold -------------------------------------------

    def events(self, mailbox: str) -> list[dict[str, Any]]:
        """The stored events of a mailbox, writable properties at the top level."""
        assert self.m365 is not None
        return [{**e, **e.get("properties", {})} for e in self.m365.events(mailbox)]
