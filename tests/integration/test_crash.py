"""S6/S11 crash safety: workers are killed (SIGKILL) at random points of a 2,000-event run and
restarted; afterwards every mailbox holds exactly the desired events (none missing, no duplicate).

On SQLite the one worker process is killed; on the scale-out stack (PostgreSQL + Redis, three
worker processes sharing the company's inbox parts and mailboxes) a random choice of them is.

Each destination (:mod:`tests.integration.destinations`) on the SQLite stack: Microsoft 365 and
Google Calendar (emulators with 15 ms per request; Google with a per-user quota of 25 requests a
second, so that its batches take long enough to be killed in) with 20 x 100 events; CalDAV (a real Radicale
server, which writes every event to its disk storage) with 20 x 20 = 400 events, so that the run
stays short while the kills still land in the middle of it."""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from sfacal.emulators.m365 import EmulatorHandle
from tests.integration.destinations import Destination, destination
from tests.integration.stack import Stack, migrated_stack, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

MAILBOXES = 20
PER_MAILBOX = {"m365": 100, "google": 100, "caldav": 20}
# Google's per-user quota, small enough that a mailbox's 100 creates take several seconds (the
# batches' parts beyond it are answered 403 userRateLimitExceeded and sent again after a backoff):
# without it the whole run ends before the first kill.
GOOGLE_QUOTA = {"user_rate_limit": 25, "rate_window_s": 1.0}
CASES = [
    pytest.param(("m365", "sqlite"), id="m365-sqlite"),
    pytest.param(("m365", "scaleout"), id="m365-scaleout"),
    pytest.param(("google", "sqlite"), id="google-sqlite"),
    pytest.param(("caldav", "sqlite"), id="caldav-sqlite"),
]

SETUP = """
from datetime import datetime, timedelta, timezone
from sfacal.core.schedule import Schedule, SourceRef, TimedSpan
from sfacal.engine import inbox
from sfacal.directory.companies.provisioning import ensure_company
from sfacal.directory.companies.models import CompanySettings
from sfacal.directory.employees.models import Employee
c = ensure_company("crash", "Crash")
{destination}
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


@pytest.fixture
def case(request: pytest.FixtureRequest) -> tuple[str, str]:
    """(destination, backend) of the run."""
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def dest(case: tuple[str, str], tmp_path: Path, m365: EmulatorHandle) -> Iterator[Destination]:
    with destination(case[0], tmp_path / "destination", m365, latency_ms=15, google_knobs=GOOGLE_QUOTA) as d:
        yield d


@pytest.fixture
def stack(case: tuple[str, str], dest: Destination, tmp_path: Path) -> Iterator[Stack]:
    env = {**dest.stack_env(tmp_path), "SFACAL_LEASE_SECONDS": "3"}
    with migrated_stack(tmp_path / "data", env, case[1]) as s:
        yield s


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


@pytest.mark.parametrize("case", CASES, indirect=True)
def test_s6_s11_worker_killed_at_random_points_leaves_exactly_the_desired_events(
    case: tuple[str, str], stack: Stack, dest: Destination
) -> None:
    rnd = random.Random(20261124)
    boxes = [dest.mailbox(f"u{i}") for i in range(MAILBOXES)]
    stack.query(SETUP.format(destination=dest.setup_code(), m=MAILBOXES))
    everything = [[i, j] for i in range(MAILBOXES) for j in range(PER_MAILBOX[case[0]])]
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
        for ev in dest.events(box):
            assert ev.tag.startswith("crash:push:"), ev
            key = (f"u{i}", ev.tag.split(":")[2])
            seen[key] += 1
            bodies[key] = ev.body
    duplicates = {k: n for k, n in seen.items() if n > 1}
    assert not duplicates, f"duplicates: {list(duplicates.items())[:5]}"
    assert set(seen) == wanted, (len(set(seen) - wanted), len(wanted - set(seen)))
    assert all("v2" in bodies[k] for k in updated)
    assert stack.query(PROGRESS)["failed"] == 0
