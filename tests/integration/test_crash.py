"""S6/S11 crash safety: workers are killed (SIGKILL) at random points of a 2,000-event run and
restarted; afterwards every mailbox holds exactly the desired events (none missing, no duplicate).

On SQLite the one worker process is killed; on the scale-out stack (PostgreSQL + Redis, three
worker processes sharing the company's inbox parts and mailboxes) a random choice of them is."""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from sfacal.emulators.m365 import EmulatorHandle
from tests.integration.conftest import new_tenant
from tests.integration.stack import Stack, migrated_stack, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

MAILBOXES = 20
PER_MAILBOX = 100

SETUP = """
from datetime import datetime, timedelta, timezone
from sfacal.core.schedule import Schedule, SourceRef, TimedSpan
from sfacal.engine import inbox
from sfacal.directory.companies.provisioning import ensure_company
from sfacal.directory.companies.models import CompanySettings
from sfacal.directory.employees.models import Employee
cfg = {cfg!r}
c = ensure_company("crash", "Crash")
cs = CompanySettings.objects.get(company=c)
for k, v in cfg["settings"].items():
    setattr(cs, k, v)
cs.save()
Employee.objects.bulk_create([Employee(company=c, login_id=f"u{{i}}", state="on", user_id_mode="login_at_domain",
    sync_start=datetime(2020, 1, 1, tzinfo=timezone.utc)) for i in range({m})])
result = c.pk
"""
CHANGES = """
from datetime import datetime, timedelta, timezone
from sfacal.core.schedule import Schedule, ScheduleDeletion, SourceRef, TimedSpan
from sfacal.engine import inbox
from sfacal.directory.companies.models import Company
c = Company.objects.get(slug="crash")
start = datetime(2030, 1, 7, 9, tzinfo=timezone.utc)
now = datetime.now(timezone.utc)
memo, todo, gone = {memo!r}, {todo!r}, {gone!r}
for i, j in todo:
    ref = SourceRef("crash", "push", f"{{i}}-{{j}}")
    if [i, j] in gone:
        inbox.accept(c, ScheduleDeletion(ref, now), trigger="push")
        continue
    inbox.accept(c, Schedule(ref=ref, kind="業務", status="予定", span=TimedSpan(start + timedelta(hours=j),
        start + timedelta(hours=j, minutes=30)), updated_at=now, title="会議", business_name="会議",
        content=memo, participants=(f"u{{i}}",)), trigger="push")
result = len(todo)
"""
PROGRESS = """
from sfacal.engine.models import InboxEntry
result = {s: InboxEntry.objects.filter(state=s).count() for s in ("pending", "done", "deferred", "failed")}
"""


@pytest.fixture(params=["sqlite", "scaleout"])
def stack(tmp_path: Path, m365: EmulatorHandle, request: pytest.FixtureRequest) -> Iterator[Stack]:
    env = {"SFACAL_CA_BUNDLE": str(m365.ca_pem), "SFACAL_LEASE_SECONDS": "3"}
    with migrated_stack(tmp_path / "data", env, request.param) as s:
        m365.control.set_knobs(latency_ms=15)
        try:
            yield s
        finally:
            m365.control.set_knobs(latency_ms=0)


def kill_some(stack: Stack, rnd: random.Random) -> list[str]:
    """SIGKILL a random, non-empty choice of the running workers (the one worker on SQLite)."""
    names = stack.worker_names
    victims = rnd.sample(names, rnd.randint(1, len(names)))
    for name in victims:
        stack.kill(name)
    return victims


def kill_all(stack: Stack) -> None:
    for name in stack.worker_names:
        stack.kill(name)


def test_s6_s11_worker_killed_at_random_points_leaves_exactly_the_desired_events(
    stack: Stack, m365: EmulatorHandle
) -> None:
    rnd = random.Random(20261124)
    tenant = new_tenant(m365)
    boxes = [tenant.mailbox(f"u{i}") for i in range(MAILBOXES)]
    cfg = {
        "settings": {
            "sync_enabled": True,
            "write_to_calendar": True,
            "client_id": tenant.app.client_id,
            "auth_method": "secret",
            "client_secret": tenant.app.secret,
            "token_endpoint": m365.token_url(tenant.domain),
            "graph_base_url": m365.graph_url,
            "domain": tenant.domain,
        }
    }
    stack.query(SETUP.format(cfg=cfg, m=MAILBOXES))
    everything = [[i, j] for i in range(MAILBOXES) for j in range(PER_MAILBOX)]
    stack.query(CHANGES.format(memo="v1", todo=everything, gone=[]))

    # Kill workers at random moments while the first run is in progress.
    for _ in range(4):
        stack.start_workers()
        time.sleep(rnd.uniform(0.8, 3.0))
        kill_some(stack, rnd)
    kill_all(stack)
    # Changes while no worker runs: updates and deletions of some of the schedules.
    changed = rnd.sample(everything, 200)
    gone = rnd.sample(changed, 60)
    stack.query(CHANGES.format(memo="v2", todo=changed, gone=gone))
    stack.start_workers()
    time.sleep(rnd.uniform(0.5, 2.0))
    kill_some(stack, rnd)
    stack.start_workers()
    wait_for(
        lambda: stack.query(PROGRESS)["pending"] == 0 and stack.query(PROGRESS)["deferred"] == 0,
        240,
        interval=1.0,
        what="the inbox drained",
    )
    wanted = {(f"u{i}", f"{i}-{j}") for i, j in everything if [i, j] not in gone}
    updated = {(f"u{i}", f"{i}-{j}") for i, j in changed if [i, j] not in gone}
    seen: Counter[tuple[str, str]] = Counter()
    bodies: dict[tuple[str, str], str] = {}
    for i, box in enumerate(boxes):
        for ev in tenant.events(box):
            values = [p["value"] for p in ev.get("singleValueExtendedProperties", [])]
            tag = next(v for v in values if v.startswith("crash:push:"))
            record = tag.split(":")[2]
            key = (f"u{i}", record)
            seen[key] += 1
            bodies[key] = ev["body"]["content"]
    duplicates = {k: n for k, n in seen.items() if n > 1}
    assert not duplicates, f"duplicates: {list(duplicates.items())[:5]}"
    assert set(seen) == wanted, (len(set(seen) - wanted), len(wanted - set(seen)))
    assert all("v2" in bodies[k] for k in updated)
    assert stack.query(PROGRESS)["failed"] == 0
