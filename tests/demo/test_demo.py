"""``sfacal serve --demo``: the sample company, the emulators and the salesperson."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sqlite3
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sfacal.demo import people
from sfacal.demo.provision import DemoRefusedError, prepare_company, wire_company
from sfacal.demo.stream import Salesperson
from sfacal.demo.world import start_world
from sfacal.directory.companies.models import Company, CompanySettings, Membership
from sfacal.directory.companies.provisioning import ensure_company
from sfacal.directory.connections.models import SourceConnection, UserMapping
from sfacal.directory.employees.models import Employee
from sfacal.emulators.m365 import ControlClient
from sfacal.engine.models import MirrorEvent, StoredSchedule

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(predicate: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")


def _rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)) as con:
            return list(con.execute(sql))
    except sqlite3.Error:
        return []


@contextlib.contextmanager
def _signed_in(base: str, username: str, password: str) -> Iterator[httpx.Client]:
    """A client of the demo's web server, signed in (through the sign-in form, with its CSRF token)."""
    with httpx.Client(base_url=base, timeout=10, trust_env=False) as client:
        client.get("/accounts/signin/").raise_for_status()
        response = client.post(
            "/accounts/signin/",
            data={
                "username": username,
                "password": password,
                "csrfmiddlewaretoken": client.cookies["csrftoken"],
            },
            headers={"Referer": f"{base}/accounts/signin/"},
        )
        assert response.status_code == 302, response.text[:500]
        yield client


def _demo_links_lead_to_the_mirrored_events(info: dict[str, Any]) -> None:
    """The screens link to the emulated mailboxes (demo only) and list what was mirrored."""
    viewer = info["m365_view_url"]
    yamada = people.PEOPLE[0]
    with _signed_in(info["web_url"], people.ADMIN_USERNAME, people.ADMIN_PASSWORD) as admin:
        assert f'href="{viewer}"' in admin.get("/dashboard/").text
    with _signed_in(info["web_url"], yamada.login_id, people.EMPLOYEE_PASSWORD) as employee:
        page = employee.get("/me/events/")
        assert page.status_code == 200 and "赤木電機/定期訪問" in page.text
        assert f'href="{viewer}/{yamada.mailbox}"' in page.text
    trusted = ssl.create_default_context(cafile=info["ca_pem"])
    with httpx.Client(verify=trusted, timeout=10, trust_env=False) as browser:
        mailbox = browser.get(f"{viewer}/{yamada.mailbox}", params={"refresh": "0"})
        assert mailbox.status_code == 200 and "赤木電機/定期訪問" in mailbox.text


def test_demo_serve_events_land_in_calendars_and_the_log_within_a_minute(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {
        **os.environ,
        "SFACAL_DATA_DIR": str(data),
        "SFACAL_DEMO_INTERVAL": "0.5",
        "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}",
        "DJANGO_SETTINGS_MODULE": "sfacal.web.settings",
    }
    env.pop("DATABASE_URL", None)
    env.pop("SFACAL_QUEUE_URL", None)
    env.pop("SFACAL_ALLOW_PRIVATE_URLS", None)  # the demo allows its emulators' loopback itself
    port = _free_port()
    out = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "sfacal.cli", "serve", "--demo", "--port", str(port)],
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    started = time.monotonic()
    try:
        info_file = data / "demo" / "demo.json"
        _wait(lambda: info_file.exists() or proc.poll() is not None, 60, "demo.json")
        assert proc.poll() is None, (tmp_path / "serve.log").read_text(errors="replace")
        info = json.loads(info_file.read_text(encoding="utf-8"))
        assert info["web_url"] == f"http://127.0.0.1:{port}"
        control = ControlClient(info["m365_url"], info["ca_pem"])
        db = data / "sfacal.sqlite3"
        remaining = 60 - (time.monotonic() - started)

        def landed() -> bool:
            events = control.events()
            subjects = {(e["user"].split("@")[0], e["properties"].get("subject")) for e in events}
            all_day = [e for e in events if e["isAllDay"]]
            return (
                ("yamada", "赤木電機/定期訪問") in subjects
                and ("suzuki", "青葉商事/新規開拓") in subjects
                and bool(all_day)
            )

        try:
            _wait(landed, remaining, "events in the emulated calendars")
            events = control.events()
        finally:
            control.close()
        visit = next(e for e in events if e["properties"].get("subject") == "赤木電機/定期訪問")
        assert visit["properties"]["location"]["displayName"] == "東京都千代田区丸の内1-1-1"
        # suzuki's events go to the named calendar 営業 (E3), as the mirror table records.
        named = _rows(
            db,
            "select calendar_name, event_id from engine_mirrorevent where login_id = 'suzuki' and state = 'synced'",
        )
        assert named and all(name == people.NAMED_CALENDAR for name, _ in named)
        suzuki_ids = {e["id"] for e in events if e["user"].startswith("suzuki@")}
        assert {event_id for _, event_id in named} & suzuki_ids
        lines = _rows(
            db,
            "select trigger, operation, result from engine_synclogentry where result = 'success'",
        )
        assert ("webhook", "receive", "success") in lines
        assert any(op == "create" for _, op, _ in lines)
        _demo_links_lead_to_the_mirrored_events(info)
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        out.close()


@pytest.mark.django_db(transaction=True)
def test_demo_setup_is_idempotent_across_restarts(tmp_path: Path) -> None:
    counts: list[tuple[int, ...]] = []
    keys: list[str] = []
    for _ in range(2):
        company, secrets = prepare_company()
        with contextlib.ExitStack() as stack:
            world = start_world(stack, tmp_path, api_key=secrets.api_key)
            connection = wire_company(company, world)
        # Left over from the previous run: cleared at the next start (the emulators start empty).
        StoredSchedule.objects.create(company=company, source="justsfa", record_id="1", content_hash="x")
        keys.append(secrets.api_key)
        counts.append(
            (
                Company.objects.count(),
                Employee.objects.count(),
                UserMapping.objects.count(),
                SourceConnection.objects.count(),
                Membership.objects.count(),
            )
        )
        cs = CompanySettings.objects.get(company=company)
        assert cs.sync_enabled and cs.auth_method == "certificate" and cs.certificate_pfx
        assert cs.graph_base_url == world.m365.graph_url
        assert connection.config["base_url"] == world.justsfa_base_url
    assert counts[0] == counts[1] == (1, 4, 4, 1, 5)
    assert keys[0] == keys[1]
    assert StoredSchedule.objects.count() == 1  # only the row made after the second start
    assert not MirrorEvent.objects.exists()
    suzuki = Employee.objects.get(login_id="suzuki")
    assert suzuki.calendar_name == people.NAMED_CALENDAR and suzuki.state == "on"
    assert suzuki.account is not None and suzuki.account.check_password(people.EMPLOYEE_PASSWORD)


@pytest.mark.django_db
def test_demo_refuses_a_database_that_holds_other_companies() -> None:
    ensure_company("akagi", "赤木電機")
    with pytest.raises(DemoRefusedError, match="akagi"):
        prepare_company()
    assert not Company.objects.filter(slug=people.COMPANY_SLUG).exists()


def test_demo_salesperson_actions_are_valid_records_for_the_emulator(tmp_path: Path) -> None:
    from sfacal.emulators.justsfa import running_emulator

    with running_emulator(tmp_path) as emu:
        setup = emu.control.setup_schedule(
            people.JUSTSFA_TENANT, users=[{"userId": p.login_id, "name": p.name} for p in people.PEOPLE]
        )
        person = Salesperson(emu.control, setup)
        verbs = [person.step().verb for _ in range(60)]
        records = emu.control.records(people.JUSTSFA_TENANT, setup.table_id)
    assert verbs[:9] == [
        "created",
        "created",
        "created",
        "created",
        "updated",
        "created",
        "updated",
        "reported",
        "deleted",
    ]
    assert {"created", "updated", "deleted", "reported"} <= set(verbs[9:]) | set(verbs[:9])
    assert len(records) == len(person.live)
    statuses = {r["record"][setup.status_field] for r in records}
    assert statuses <= {"予定", "実績"} and "実績" in statuses
    all_day = [
        r
        for r in records
        if len(r["record"][setup.schedule_field][f"{setup.schedule_field}_period"][0]) == 10
    ]
    assert all_day


@pytest.mark.parametrize(
    ("before", "during"),
    [
        (None, "127.0.0.0/8,::1"),
        ("0", "127.0.0.0/8,::1"),
        ("not-a-network", "127.0.0.0/8,::1"),
        ("10.20.0.0/16", "10.20.0.0/16,127.0.0.0/8,::1"),
        ("1", "1"),
    ],
)
def test_demo_adds_loopback_to_the_outbound_address_rule_and_restores_it(
    monkeypatch: pytest.MonkeyPatch, before: str | None, during: str
) -> None:
    from sfacal.demo import _allow_loopback, _restore_env
    from sfacal.net import ALLOW_ENV, current_rule

    if before is None:
        monkeypatch.delenv(ALLOW_ENV, raising=False)
    else:
        monkeypatch.setenv(ALLOW_ENV, before)
    assert _allow_loopback() == before
    assert os.environ[ALLOW_ENV] == during and current_rule().permits("127.0.0.1")
    _restore_env(ALLOW_ENV, before)
    assert os.environ.get(ALLOW_ENV) == before
