"""One company's work spread over worker processes on PostgreSQL (real processes, real database).

* two workers share one company's mailboxes, and no mailbox is written by both at once;
* a worker killed in the middle loses nothing: its parts and mailboxes are taken over once their
  leases expire, and every record is created once (a re-sent create carries the same transaction id);
* the company-wide jobs (minute sweep, periodic batch, retention) run once with three workers.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.scaleout.services import pg_database

ROOT = Path(__file__).resolve().parents[2]
LEASE_S = 4.0  # renewed every third of it: room for a loaded machine

pytestmark = pytest.mark.slow


class Cluster:
    def __init__(self, tmp: Path, url: str) -> None:
        self.tmp = tmp
        self.env = {
            **os.environ,
            "DATABASE_URL": url,
            "SFACAL_DATA_DIR": str(tmp / "data"),
            "SFACAL_LEASE_SECONDS": str(LEASE_S),
            "SFACAL_ENGINE_PARTS": "8",
            "DJANGO_SETTINGS_MODULE": "sfacal.web.settings",
            "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}",
        }
        self.env.pop("SFACAL_QUEUE_URL", None)
        (tmp / "data").mkdir()
        self.company = 0

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "tests.scaleout.worker", *args]

    def seed(self, mailboxes: int, events: int, meetings: int) -> int:
        out = self.tmp / "company"
        m, n, k = str(mailboxes), str(events), str(meetings)
        cmd = self.command("seed", str(out), "--mailboxes", m, "--events", n, "--meetings", k)
        subprocess.run(cmd, env=self.env, check=True, timeout=300)
        self.company = int(out.read_text())
        return self.company

    def worker(self, out: Path, *extra: str) -> subprocess.Popen[bytes]:
        cmd = self.command("work", str(out), "--company", str(self.company), *extra)
        return subprocess.Popen(cmd, env=self.env)

    def query(self, code: str) -> Any:
        script = "import django, json\ndjango.setup()\n" + code + "\nprint(json.dumps(result))\n"
        done = subprocess.run(
            [sys.executable, "-c", script], env=self.env, capture_output=True, timeout=120, check=True
        )
        return json.loads(done.stdout.decode().strip().splitlines()[-1])


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    with pg_database("i17") as url:
        yield Cluster(tmp_path, url)


def calls(*paths: Path) -> list[dict[str, Any]]:
    out = []
    for path in paths:
        if path.exists():
            out.extend(json.loads(x) for x in path.read_text().splitlines() if x.strip())
    return out


def overlaps(found: list[dict[str, Any]]) -> list[tuple[str, int, int]]:
    """Mailboxes written by two processes at overlapping times."""
    by_box: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for call in found:
        by_box[call["mailbox"]].append(call)
    bad = []
    for box, items in by_box.items():
        items.sort(key=lambda c: c["start"])
        for i, a in enumerate(items):
            for b in items[i + 1 :]:
                if b["start"] >= a["end"]:
                    break
                if b["pid"] != a["pid"]:
                    bad.append((box, a["pid"], b["pid"]))
    return bad


def created(found: list[dict[str, Any]]) -> dict[tuple[str, str], set[str]]:
    """(mailbox, record) -> the transaction ids its creates carried."""
    out: dict[tuple[str, str], set[str]] = defaultdict(set)
    for call in found:
        for w in call["writes"]:
            if w["kind"] == "CreateEvent":
                out[(call["mailbox"], w["record"])].add(w["tx"])
    return out


STATES = """
from sfacal.engine.models import InboxEntry, MirrorEvent
result = {
    "entries": {s: InboxEntry.objects.filter(state=s).count() for s in ("pending", "done", "failed")},
    "synced": MirrorEvent.objects.filter(state="synced").count(),
    "rows": MirrorEvent.objects.count(),
}
"""


def expected(mailboxes: int, events: int, meetings: int) -> set[str]:
    return {f"{m}-{n}" for m in range(mailboxes) for n in range(events)} | {
        f"meet-{k}" for k in range(meetings)
    }


def test_two_worker_processes_share_one_company_and_never_write_one_mailbox_at_once(
    cluster: Cluster,
) -> None:
    mailboxes, events, meetings = 24, 10, 12
    cluster.seed(mailboxes, events, meetings)
    logs = [cluster.tmp / "w0.jsonl", cluster.tmp / "w1.jsonl"]
    go = cluster.tmp / "go"
    procs = [cluster.worker(log, "--latency-ms", "20", "--go", str(go)) for log in logs]
    deadline = time.monotonic() + 120
    while len(list(cluster.tmp.glob("go.ready.*"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    go.touch()  # both set up: they start together
    for proc in procs:
        assert proc.wait(240) == 0
    found = calls(*logs)
    assert overlaps(found) == []
    per_worker = [{c["mailbox"] for c in found if c["pid"] == p.pid} for p in procs]
    assert all(per_worker), "both workers wrote"
    assert len(per_worker[0] | per_worker[1]) == mailboxes
    made = created(found)
    assert {record for _, record in made} == expected(mailboxes, events, meetings)
    assert len(made) == mailboxes * events + 2 * meetings
    assert all(len(txs) == 1 for txs in made.values())  # re-sent at most with the same id: no duplicate
    states = cluster.query(STATES)
    assert states["entries"] == {"pending": 0, "done": mailboxes * events + meetings, "failed": 0}
    assert states["synced"] == states["rows"] == mailboxes * events + 2 * meetings


def test_a_killed_workers_parts_and_mailboxes_are_taken_over_within_the_lease_time(
    cluster: Cluster,
) -> None:
    mailboxes, events, meetings = 16, 20, 6
    cluster.seed(mailboxes, events, meetings)
    first, second = cluster.tmp / "killed.jsonl", cluster.tmp / "survivor.jsonl"
    doomed = cluster.worker(first, "--latency-ms", "40")
    deadline = time.monotonic() + 60
    while len(calls(first)) < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(30)
    killed_at = time.time()
    held = cluster.query(
        "from sfacal.engine.models import MailboxLease\n"
        "result = list(MailboxLease.objects.filter(key__startswith='mbx:').values_list('key', flat=True))"
    )
    assert held, "the killed worker held mailbox leases"
    survivor = cluster.worker(second, "--latency-ms", "5")
    assert survivor.wait(240) == 0
    after = calls(second)
    boxes = {key.split(":", 2)[2] for key in held}
    taken = [c["start"] for c in after if c["mailbox"] in boxes]
    assert taken, "the survivor wrote the killed worker's mailboxes"
    # not before the leases expired, and not much later (the pass polls every 50 ms)
    assert min(taken) - killed_at <= LEASE_S + 15
    made = created(calls(first, second))
    assert {record for _, record in made} == expected(mailboxes, events, meetings)
    assert len(made) == mailboxes * events + 2 * meetings
    assert all(len(txs) == 1 for txs in made.values())
    states = cluster.query(STATES)
    assert states["entries"]["pending"] == 0 and states["entries"]["failed"] == 0
    assert states["synced"] == states["rows"] == mailboxes * events + 2 * meetings


def test_company_wide_jobs_run_once_with_three_workers(cluster: Cluster) -> None:
    cluster.seed(6, 30, 0)
    start = time.time() + 6  # the three have set Django up by then
    logs = [cluster.tmp / f"jobs{i}.jsonl" for i in range(3)]
    procs = [
        subprocess.Popen(
            cluster.command(
                "jobs",
                str(log),
                "--company",
                str(cluster.company),
                "--start-at",
                str(start),
                "--latency-ms",
                "30",
            ),
            env=cluster.env,
        )
        for log in logs
    ]
    for proc in procs:
        assert proc.wait(240) == 0
    results = [json.loads(log.read_text().splitlines()[-1]) for log in logs if log.exists()]
    results = [r for r in results if "tick" in r]
    assert len(results) == 3
    assert sum(r["tick"] is not None for r in results) == 1
    assert sum(r["batch"] is not None for r in results) == 1
    assert sum(r["purge"] is not None for r in results) == 1
