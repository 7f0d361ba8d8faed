"""The served product for the fuzz tests: ``sfacal web`` (uvicorn over Django's ASGI app, as
operators run it) on a SQLite file, with one company that has an API token, a JUST.SFA connection
(its webhook address) and an employee ``tanaka``.

Tests talk to it over HTTP only and read its database through :meth:`Stack.query`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.integration.stack import Stack
from tests.sources.justsfa.test_webhook_bad_input import CONFIG, SF

PERIOD = f"{SF}_period"
PARTICIPANTS = f"{SF}_participants"

SETUP = """
from sfacal.directory.companies.provisioning import ensure_company
from sfacal.directory.connections.models import ApiToken, SourceConnection
from sfacal.directory.employees.models import Employee
company = ensure_company("acme", "ACME")
Employee.objects.create(company=company, login_id="tanaka", state="on", user_id="tanaka@example.com")
_, token = ApiToken.issue(company, "fuzz")
hook = SourceConnection.objects.create(company=company, kind="justsfa", config={config!r}, api_key="k" * 32)
result = {{"token": token, "hook": hook.webhook_token}}
"""


def good_record(title: str = "訪問", start: str = "2025-12-30T10:00+09:00") -> dict[str, Any]:
    """A JUST.SFA record the webhook accepts."""
    return {
        "field_1700000010": title,
        SF: {PERIOD: [start, start.replace("T10:", "T11:")], PARTICIPANTS: [["tanaka", "田中"]]},
    }


def good_schedule(title: str = "定例") -> dict[str, Any]:
    """A push API schedule body the API accepts."""
    return {
        "kind": "業務",
        "status": "予定",
        "title": title,
        "participants": ["tanaka"],
        "start": "2026-11-24T10:00:00+09:00",
        "end": "2026-11-24T11:00:00+09:00",
    }


class Served:
    """``sfacal web`` in a subprocess, and a client for its two doors."""

    def __init__(self, data_dir: Path, env: dict[str, str] | None = None) -> None:
        self.stack = Stack(data_dir, env)
        data_dir.mkdir(parents=True, exist_ok=True)
        self.stack.sfacal("migrate")
        creds = self.stack.query(SETUP.format(config=CONFIG))
        self.token: str = creds["token"]
        self.hook: str = creds["hook"]
        self.url = self.stack.start_web()
        self.http = httpx.Client(base_url=self.url, timeout=120, trust_env=False)

    @property
    def api_url(self) -> str:
        return self.url + "/api/v1"

    def webhook(self, body: Any) -> httpx.Response:
        data = body if isinstance(body, str | bytes) else json.dumps(body, ensure_ascii=True)
        return self.http.post(
            f"/hooks/justsfa/{self.hook}", content=data, headers={"Content-Type": "application/json"}
        )

    def api(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        content = None
        if body is not None:
            content = body if isinstance(body, str | bytes) else json.dumps(body, ensure_ascii=True)
        return self.http.request(
            method,
            "/api/v1" + path,
            content=content,
            headers={
                "Authorization": f"Bearer {self.token}",
                "Content-Type": "application/json",
                **(headers or {}),
            },
        )

    def stored(self, source: str, record_id: str) -> dict[str, Any] | None:
        """The stored state of a record (``None`` if there is none)."""
        found: dict[str, Any] | None = self.stack.query(
            "from sfacal.engine.models import StoredSchedule\n"
            f"row = StoredSchedule.objects.filter(source={source!r}, record_id={record_id!r}).first()\n"
            "result = None if row is None else {'payload': row.payload, 'deleted': row.deleted}"
        )
        return found

    def log(self) -> str:
        path = self.stack.data_dir / "web.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        self.http.close()
        self.stack.stop()


@contextmanager
def running(data_dir: Path, env: dict[str, str] | None = None) -> Iterator[Served]:
    """The served product for the ``with`` block (stopped at its end, whatever happens)."""
    product = Served(data_dir, env)
    try:
        yield product
    finally:
        product.stop()
