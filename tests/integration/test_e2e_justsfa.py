"""End to end with every real component: the JUST.SFA emulator delivers webhooks over HTTP to
``sfacal web``, separate ``sfacal worker`` processes (Huey) process them and write through the Graph
connector to the Microsoft 365 emulator over TLS; every step is in the log. Twice: on a SQLite file
database with one worker, and on PostgreSQL + Redis with three workers (the scale-out stack).

It runs as a matrix over the answer forms public JUST.SFA clients show (the emulator's variant
knobs): the plain form, and every variant at once (array selects and lookups, participants as
``[name, userId]`` with the matching setting, array-wrapped webhook bodies, the test send as a
sample record with ``recordId`` 0).

The same run with each other destination (:mod:`tests.integration.destinations`): Google Calendar
(the Google emulator, through the Google connector) and CalDAV (a real Radicale server), on the
SQLite stack in the plain form -- the destination changes nothing the log or the SFA sees."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sfacal.emulators.m365 import EmulatorHandle
from tests.integration.destinations import Destination, Event, destination
from tests.integration.stack import Stack, migrated_stack, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

TENANT = "e2e"
SETUP = """
from sfacal.directory.companies.provisioning import ensure_company
from sfacal.directory.companies.models import CompanySettings
from sfacal.directory.connections.models import SourceConnection
from sfacal.directory.employees.models import Employee
from datetime import datetime, timezone
cfg = json.loads({cfg!r})
c = ensure_company("akagi", "赤木")
{destination}
src = SourceConnection.objects.create(company=c, kind="justsfa", config=cfg["source"], api_key=cfg["api_key"])
for login, box in cfg["people"].items():
    Employee.objects.create(company=c, login_id=login, state="on", user_id_mode="explicit", user_id=box,
        sync_start=datetime(2020, 1, 1, tzinfo=timezone.utc))
result = src.webhook_token
"""
LOG = """
from sfacal.engine.models import SyncLogEntry
result = [[x.login_id, x.trigger, x.operation, x.result, x.error_code, x.message]
          for x in SyncLogEntry.objects.order_by("id")]
"""


SLOW = pytest.mark.slow
CASES = [
    pytest.param(("m365", "sqlite", "plain"), id="m365-sqlite-plain"),
    pytest.param(("m365", "sqlite", "every variant"), id="m365-sqlite-every-variant"),
    pytest.param(("m365", "scaleout", "plain"), id="m365-scaleout-plain", marks=SLOW),
    pytest.param(("m365", "scaleout", "every variant"), id="m365-scaleout-every-variant", marks=SLOW),
    pytest.param(("google", "sqlite", "plain"), id="google-sqlite-plain"),
    pytest.param(("caldav", "sqlite", "plain"), id="caldav-sqlite-plain"),
]


@pytest.fixture
def case(request: pytest.FixtureRequest) -> tuple[str, str, str]:
    """(destination, backend, variant) of the run."""
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def dest(case: tuple[str, str, str], tmp_path: Path, m365: EmulatorHandle) -> Iterator[Destination]:
    with destination(case[0], tmp_path / "destination", m365) as d:
        yield d


@pytest.fixture
def stack(case: tuple[str, str, str], dest: Destination, justsfa: Any, tmp_path: Path) -> Iterator[Stack]:
    dest.ca_files.append(justsfa.ca_pem)  # the workers read records from the JUST.SFA emulator
    env = {**dest.stack_env(tmp_path), "SFACAL_LEASE_SECONDS": "5"}
    with migrated_stack(tmp_path / "data", env, case[1]) as s:
        yield s


@pytest.mark.parametrize("case", CASES, indirect=True)
def test_e2e_justsfa_webhook_to_two_calendars_and_every_step_logged(
    case: tuple[str, str, str], stack: Stack, dest: Destination, justsfa: Any
) -> None:
    variant = case[2]
    yamada, suzuki = dest.mailbox("yamada"), dest.mailbox("suzuki")
    justsfa.control.reset()
    s = justsfa.control.setup_schedule(TENANT)
    settings: dict[str, Any] = {}
    if variant == "every variant":
        justsfa.control.set_knobs(
            select_form="array",
            lookup_fields=[s.customer_field, s.address_field],
            participant_form="name_id",
            webhook_form="array_body",
            test_send_form="sample",
        )
        settings = {"participant_element": "2"}
    source = {
        "tenant": s.tenant,
        "base_url": justsfa.tenant_url(s.tenant),
        "table": s.table_id,
        "panel": s.panel_id,
        "filter": s.filter_id,
        "schedule_field": s.schedule_field,
        "title_field": s.title_field,
        "location_field": s.location_field,
        "content_field": s.content_field,
        "key_field": s.key_field,
        "status_field": s.status_field,
        "kind_field": s.kind_field,
        "purpose_field": s.purpose_field,
        "business_field": s.business_field,
        "customer_field": s.customer_field,
        "address_field": s.address_field,
        **settings,
    }
    cfg = {
        "source": source,
        "api_key": s.api_key,
        "people": {"yamada": yamada, "suzuki": suzuki},
    }
    token = stack.query(SETUP.format(cfg=json.dumps(cfg), destination=dest.setup_code()))
    web = stack.start_web()
    stack.start_workers()
    hook = justsfa.control.add_webhook(TENANT, s.table_id, f"{web}/hooks/justsfa/{token}")
    justsfa.control.test_webhook(TENANT, s.table_id, hook["webhookId"])  # answered 200, never stored
    (sent,) = justsfa.control.wait_deliveries(1, tenant=TENANT, timeout=30)
    assert sent["state"] == "delivered" and sent["attempts"][-1]["status"] == 200, sent

    def record(users: list[str], status: str = "予定", memo: str = "初回訪問") -> dict[str, Any]:
        return {
            s.schedule_field: s.schedule_value("2030-03-10T10:00+09:00", "2030-03-10T11:00+09:00", users),
            s.status_field: status,
            s.kind_field: "商談",
            s.purpose_field: "定期訪問",
            s.customer_field: "赤木電機",
            s.address_field: "東京都千代田区",
            s.content_field: memo,
        }

    def events(mailbox: str) -> list[Event]:
        return dest.events(mailbox)

    created = justsfa.control.create_record(TENANT, s.table_id, record(["yamada", "suzuki"]))
    record_id = int(created.get("recordId") or created.get("id") or created["record"]["recordId"])
    wait_for(lambda: len(events(yamada)) == 1 and len(events(suzuki)) == 1, 60, what="two events")
    for upn in (yamada, suzuki):
        (ev,) = events(upn)
        assert ev.subject == "赤木電機/定期訪問"
        assert ev.location == "東京都千代田区"

    justsfa.control.update_record(TENANT, s.table_id, record_id, record(["yamada", "suzuki"], memo="二回目"))
    wait_for(
        lambda: all("二回目" in events(u)[0].body for u in (yamada, suzuki) if events(u)),
        60,
        what="both updated",
    )

    justsfa.control.update_record(TENANT, s.table_id, record_id, record(["yamada"], memo="二回目"))
    wait_for(lambda: events(suzuki) == [] and len(events(yamada)) == 1, 60, what="suzuki's event deleted")

    justsfa.control.update_record(
        TENANT, s.table_id, record_id, record(["yamada"], status="実績", memo="結果")
    )
    wait_for(
        lambda: any(line[2] == "skip" for line in stack.query(LOG)), 60, what="the actual logged as skipped"
    )
    (frozen,) = events(yamada)
    assert "二回目" in frozen.body  # S1: no further change

    justsfa.control.delete_record(TENANT, s.table_id, record_id)
    wait_for(lambda: events(yamada) == [], 60, what="the other event deleted")

    lines = stack.query(LOG)
    writes = [
        (login, op)
        for login, trig, op, res, _code, _ in lines
        if res == "success" and trig == "webhook" and op in ("create", "update", "delete")
    ]
    assert sorted(writes) == sorted(
        [
            ("yamada", "create"),
            ("suzuki", "create"),
            ("yamada", "update"),
            ("suzuki", "update"),
            ("suzuki", "delete"),
            ("yamada", "delete"),
        ]
    )
    assert any(op == "receive" for _, trig, op, *_ in lines)  # the webhook's own lines
    assert not [line for line in lines if line[3] == "failure"]
    assert [line[2] for line in lines if line[2] == "test"] == ["test"]
