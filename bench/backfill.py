"""Back-fill benchmark: M mailboxes x N events through the whole engine into the Graph emulator.

    .venv/bin/python bench/backfill.py --mailboxes 200 --events-per-mailbox 100 --latency-ms 50
    .venv/bin/python bench/backfill.py --service google ...   # the same into the Google emulator

With ``--service google`` the company's destination is Google Calendar and the Google emulator
runs instead (fixed latency per request, a batch counting as one request); the bound is then
max over users of ceil(ceil(n_m / 50) / 4) * L (batches of 50, 4 requests in flight per user), and
the Graph-only keys (``items_retried``, ``requests_retried``) are ``null``.

With ``--service caldav`` the destination is a real CalDAV server: Radicale over TLS, started by
the benchmark in its data directory (``tests/calendars/radicale.py``), the company's service
account writing to every calendar home ``{mailbox}/``. CalDAV publishes no request limits, so the
bound is the connector's own: at most ``c`` = 4 requests in flight per mailbox
(``CalDavSettings.concurrency``), one ``PUT`` per create, each taking the server's latency
``L`` -- measured, not set: the median of 20 sequential creates (``PUT`` with ``If-None-Match: *``
of an event like the benchmark's) into a scratch calendar just before the pass
(``latency_ms`` reports it, ``--latency-ms`` is ignored). ``bound_seconds`` = max over mailboxes of
ceil(n_m / c) * L. Radicale writes one event at a time to its storage (a lock over the whole
collection tree), so ``serial_seconds`` = n * L is reported too: what the same creates take one
after the other, the server's own ceiling; a result between the two shows how much of the
connector's parallelism the server turns into speed. Radicale has no request counters: ``requests``,
``throttled`` and ``emulator_cpu_seconds`` are ``null``.

What runs:

* the Microsoft 365 emulator in a **separate process** (``python -m sfacal.emulators.m365``) with
  fixed latency ``L`` and Graph's limits on (4 requests in flight per mailbox, 10,000 per 10 minutes);
  with two or more CPUs the emulator is pinned to one core and this process (the engine) to another;
* this process: the product with a fresh SQLite database in a temporary data directory, one company
  wired to the emulator by client secret over TLS, M employees (one mailbox each);
* M x N planned schedules (one participant each, so N per mailbox) accepted into the inbox with
  ``sfacal.engine.inbox.accept`` (as webhooks, the push API and CSV do), then the engine's inbox pass
  (``sfacal.engine.passes.process_inbox``: plan -> per-mailbox execution -> mirror rows and log) until
  the inbox is empty (postponed entries are run again when due, as the queue would).

It prints ONE JSON line::

    {"mailboxes", "events_per_mailbox", "latency_ms", "seconds", "bound_seconds", "ratio",
     "requests", "throttled", "items_retried", "duplicates", "missing", "peak_rss_mb", ...}

* ``seconds``: from the start of the engine's pass (every change already accepted) to the commit of
  the last mirror row (the latest ``MirrorEvent.updated_at``);
* ``bound_seconds``: no client can be faster (DESIGN.md, "Performance model") than
  max( max over mailboxes of ceil(n_m / 4) * L,  (ceil(n / R) - 1) * W + L ): 4 requests in flight
  per mailbox, and Graph's limit of R requests per W seconds per application for the n = M x N
  creates (R = 130,000, W = 10 s unless ``--app-limit``/``--app-window`` make it smaller);
  ``ratio`` = seconds / bound_seconds;
* ``requests`` / ``throttled``: the emulator's counters (every Graph request, batch items included);
* ``items_retried`` / ``requests_retried``: JSON batch items and whole requests the connector sent
  again (an item Graph throttled inside a batch is sent again in a smaller batch); with
  ``--batch-throttle`` the emulator throttles 4-6 of every 20 items for one mailbox, as Graph does;
* ``duplicates`` / ``missing``: from the emulator's stored events against the desired set (one event
  per schedule and employee, found by the product's tag);
* ``peak_rss_mb``: peak resident memory of this (the engine's) process, read before the emulator's
  events are fetched for counting;
* extra keys: ``accept_seconds`` (accepting the M x N changes), ``pass_seconds`` (until the pass
  returned, inbox entries settled), ``passes``, ``load_avg_1m`` (the machine's load when the pass
  started: other work on the machine slows the run), ``reference_loop_ms`` (the CPU time of a fixed
  pure-Python workload just before the pass: the machine's speed at that moment),
  ``engine_cpu_seconds`` and ``emulator_cpu_seconds`` (CPU time of each process during the pass) and
  ``engine_pass_thread_cpu_seconds`` (the part of the engine's spent in the pass's own thread:
  planning and SQLite; the rest is the HTTP thread).

Measurement aids (not dependencies of the product): ``--profile FILE`` writes a pyinstrument profile of
the pass (the pass's own thread only), ``--emulator-profile FILE`` runs the emulator under py-spy
(collapsed stacks), ``--journal FILE`` dumps the emulator's request journal.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cpu_of(pid: int) -> float:
    """User + system CPU seconds of a process (Linux ``/proc``)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def _rss_mb() -> dict[str, float]:
    """This process's resident memory now (``VmRSS``) and its peak so far (``VmHWM``), in MB."""
    found = {"VmRSS": float("nan"), "VmHWM": float("nan")}
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            name = line.split(":", 1)[0]
            if name in found:
                found[name] = round(int(line.split()[1]) / 1024, 1)
    return found


def _reference_ms() -> float:
    """CPU milliseconds of a fixed pure-Python workload (dicts, strings, JSON), best of five:
    this machine's speed at the moment of the run, to compare runs made minutes apart."""
    best = float("inf")
    for _ in range(5):
        start = time.thread_time()
        for i in range(5_000):
            row = {"id": i, "subject": f"赤木電機/定期訪問 {i}", "tags": [str(i)] * 5}
            json.loads(json.dumps(row, ensure_ascii=False))
        best = min(best, time.thread_time() - start)
    return round(best * 1000, 1)


def _pin(pid: int, cpu: int) -> None:
    with contextlib.suppress(AttributeError, OSError):
        os.sched_setaffinity(pid, {cpu})


class _MemorySampler:
    """Measurement aid: traces allocations and keeps the snapshot taken when the traced memory was
    highest (sampled every 0.2 s, from its own thread)."""

    def __init__(self) -> None:
        import threading
        import tracemalloc

        tracemalloc.start(8)
        self._best: Any = None
        self._best_size = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import tracemalloc

        while not self._stop.wait(0.2):
            current, _ = tracemalloc.get_traced_memory()
            if current > self._best_size:
                self._best_size, self._best = current, tracemalloc.take_snapshot()

    def stop(self) -> str:
        import tracemalloc

        self._stop.set()
        self._thread.join()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        lines = [f"traced peak {peak / 2**20:.1f} MB; largest sample {self._best_size / 2**20:.1f} MB"]
        if self._best is not None:
            for key in ("lineno", "traceback"):
                lines.append(f"-- by {key}")
                for stat in self._best.statistics(key)[:25]:
                    lines.append(
                        f"{stat.size / 2**20:8.1f} MB {stat.count:9d} x  {stat.traceback.format()[-1].strip()}"
                    )
                    if key == "traceback":
                        lines.extend("      " + x.strip() for x in stat.traceback.format()[:-1][-12:])
        return "\n".join(lines) + "\n"


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--service", choices=("m365", "google", "caldav"), default="m365", help="the destination")
    p.add_argument("--mailboxes", type=int, default=20)
    p.add_argument("--events-per-mailbox", type=int, default=100)
    p.add_argument("--latency-ms", type=float, default=50.0)
    p.add_argument("--data-dir", default=None, help="keep the run here (default: a temporary directory)")
    p.add_argument("--no-pin", action="store_true", help="do not pin the emulator and the engine to cores")
    p.add_argument(
        "--profile", default=None, help="write a pyinstrument profile of the pass here (.html, or .txt)"
    )
    p.add_argument(
        "--emulator-profile",
        default=None,
        help="run the emulator under py-spy and write its collapsed stacks here (profiling aid)",
    )
    p.add_argument("--journal", default=None, help="write the emulator's request journal (JSON) here")
    p.add_argument(
        "--memory-profile",
        default=None,
        help="trace allocations (tracemalloc) and write the largest sites at the traced peak here",
    )
    p.add_argument(
        "--batch-throttle",
        action="store_true",
        help="the emulator throttles some items of each batch (as Graph)",
    )
    p.add_argument(
        "--app-limit", type=int, default=130_000, help="Graph's requests per window per application"
    )
    p.add_argument("--app-window", type=int, default=10, help="that window in seconds")
    p.add_argument("--timeout", type=float, default=600.0, help="give up after this many seconds of passes")
    return p.parse_args(argv)


def _start_emulator(
    data_dir: Path, port: int, latency_ms: float, pin: bool, profile: str | None = None, service: str = "m365"
) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    cmd = [
        sys.executable,
        "-m",
        f"sfacal.emulators.{service}",
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
    ]
    if service == "google":
        cmd += ["--knobs", json.dumps({"latency_ms": latency_ms})]
    else:
        cmd += ["--latency-ms", str(latency_ms)]
    cmd += ["--log-level", "error"]
    if profile:
        spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
        cmd = [spy, "record", "--format", "raw", "--rate", "250", "-o", profile, "--", *cmd]
    log = (data_dir / "emulator.log").open("ab")
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    if pin:
        _pin(proc.pid, 1)
    return proc


def _wait_healthy(control: Any, proc: subprocess.Popen[bytes], data_dir: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the emulator exited: " + (data_dir / "emulator.log").read_text()[-2000:])
        try:
            if control.health():
                return
        except Exception:
            time.sleep(0.05)
    raise RuntimeError("the emulator did not start")


def _django(data_dir: Path, ca_pem: Path | None, app_limit: int = 130_000, app_window: int = 10) -> None:
    os.environ["SFACAL_DATA_DIR"] = str(data_dir)
    os.environ["SFACAL_GRAPH_APP_LIMIT"] = str(app_limit)  # the engine keeps the limit the emulator has
    os.environ["SFACAL_GRAPH_APP_WINDOW_S"] = str(app_window)
    os.environ["DJANGO_SETTINGS_MODULE"] = "sfacal.web.settings"
    if ca_pem is not None:
        os.environ["SFACAL_CA_BUNDLE"] = str(ca_pem)
    else:
        os.environ.pop("SFACAL_CA_BUNDLE", None)
    os.environ.setdefault("SFACAL_LOG_LEVEL", "ERROR")
    os.environ.setdefault("SFACAL_ALLOW_PRIVATE_URLS", "127.0.0.0/8,::1")  # the emulator is on loopback
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("SFACAL_QUEUE_URL", None)
    sys.path.insert(0, str(ROOT / "src"))
    # The schema is created as an operator does it, by `sfacal migrate` in its own process; the
    # engine's process then only checks it, as `sfacal worker` does (running the migrations here
    # would leave ~17 MB of migration state in the process whose memory is measured).
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    subprocess.run(
        [sys.executable, "-m", "sfacal.cli", "migrate", "--verbosity", "0"],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    import django

    django.setup()
    from sfacal.web.ops.schema import require_schema

    require_schema()


DOMAIN = "bench.onmicrosoft.com"


def _people(mailboxes: int) -> list[tuple[str, str]]:
    """(login id, mailbox) of the benchmark's employees."""
    return [(f"u{i:05d}", f"u{i:05d}@{DOMAIN}") for i in range(mailboxes)]


def _company(people: list[tuple[str, str]], **settings: Any) -> Any:
    """The benchmark company (sync and calendar writes on, ``settings`` on top) and its employees,
    each with sync on since 2020 and their own mailbox."""
    from sfacal.directory.companies.models import CompanySettings
    from sfacal.directory.companies.provisioning import ensure_company
    from sfacal.directory.employees.models import Employee

    company = ensure_company("bench", "Bench")
    cs = CompanySettings.objects.get(company=company)
    cs.sync_enabled = True
    cs.write_to_calendar = True
    cs.domain = DOMAIN
    for name, value in settings.items():
        setattr(cs, name, value)
    cs.save()
    since = datetime(2020, 1, 1, tzinfo=UTC)
    Employee.objects.bulk_create(
        Employee(
            company=company,
            login_id=login,
            name=login,
            state="on",
            user_id_mode="explicit",
            user_id=upn,
            sync_start=since,
        )
        for login, upn in people
    )
    return company


def _setup(control: Any, base_url: str, mailboxes: int) -> tuple[Any, list[tuple[str, str]]]:
    """Tenant, app and mailboxes in the emulator; the company and its employees in the database."""
    tenant = control.create_tenant(DOMAIN)
    app = control.create_app(tenant.id)
    people = _people(mailboxes)
    for _, upn in people:
        control.create_user(tenant.id, upn)
    company = _company(
        people,
        client_id=app.client_id,
        auth_method="secret",
        client_secret=app.secret,
        token_endpoint=f"{base_url}/{DOMAIN}/oauth2/v2.0/token",
        graph_base_url=f"{base_url}/v1.0",
    )
    return company, people


def _setup_google(control: Any, base_url: str, mailboxes: int) -> tuple[Any, list[tuple[str, str]]]:
    """Project, service account with delegation and users in the Google emulator; the company
    (destination Google Calendar) and its employees in the database."""
    os.environ["SFACAL_GOOGLE_API_URL"] = base_url
    project = control.create_project()
    key = control.create_service_account(project["project_id"], DOMAIN)
    people = _people(mailboxes)
    for _, email in people:
        control.create_user(email)
    company = _company(people, calendar_service="google", google_service_account_key=json.dumps(key))
    return company, people


def _count_google(
    control: Any, people: list[tuple[str, str]], desired: set[tuple[str, str]]
) -> tuple[int, int]:
    seen: Counter[tuple[str, str]] = Counter()
    for _, email in people:
        for ev in control.events(email):
            value = str(((ev.get("extendedProperties") or {}).get("private") or {}).get("sfacalTag", ""))
            parts = value.split(":")
            if len(parts) > 2:
                seen[(email.lower(), parts[2])] += 1
    duplicates = sum(c - 1 for c in seen.values() if c > 1)
    return duplicates, len(desired - set(seen))


def _setup_caldav(server: Any, mailboxes: int) -> tuple[Any, list[tuple[str, str]]]:
    """A calendar home with a default calendar per mailbox on the CalDAV server; the company
    (destination CalDAV, the server's service account) and its employees in the database."""
    from tests.calendars.radicale import SERVICE_PASSWORD, SERVICE_USER

    from sfacal.directory.connections.models import CalDavConnection

    people = _people(mailboxes)
    for _, upn in people:
        server.new_user(mailbox=upn)
    company = _company(people, calendar_service="caldav")
    CalDavConnection.objects.create(
        company=company, base_url=server.base_url, username=SERVICE_USER, password=SERVICE_PASSWORD
    )
    return company, people


def _caldav_latency(server: Any, samples: int = 20) -> float:
    """Seconds of one create on the CalDAV server: the median of ``samples`` sequential ``PUT`` s
    with ``If-None-Match: *`` of an event like the benchmark's, into a scratch calendar."""
    import statistics
    import uuid

    home = server.new_user(mailbox=f"probe@{DOMAIN}")
    path = server.calendars(home)["Calendar"]
    times = []
    with server.client() as c:
        for i in range(samples):
            uid = f"probe-{uuid.uuid4().hex}"
            body = (
                "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//sfacal bench//EN\r\nBEGIN:VEVENT\r\n"
                f"UID:{uid}\r\nDTSTAMP:20300101T000000Z\r\nDTSTART:20300101T010000Z\r\n"
                "DTEND:20300101T020000Z\r\nSUMMARY:赤木電機/定期訪問\r\nLOCATION:東京都千代田区\r\n"
                f"DESCRIPTION:back-fill probe {i}\r\nX-SFACAL-TAG:probe:push:{i}\r\n"
                "END:VEVENT\r\nEND:VCALENDAR\r\n"
            )
            t = time.perf_counter()
            r = c.put(
                f"{path}{uid}.ics",
                content=body.encode(),
                headers={"Content-Type": "text/calendar; charset=utf-8", "If-None-Match": "*"},
            )
            times.append(time.perf_counter() - t)
            assert r.status_code == 201, r.text
    return statistics.median(times)


def _count_caldav(
    server: Any, people: list[tuple[str, str]], desired: set[tuple[str, str]]
) -> tuple[int, int]:
    """Duplicates and missing events, from every calendar of every mailbox (one
    ``calendar-query`` per calendar, the events found by the product's ``X-SFACAL-TAG``)."""
    import re

    from lxml import etree
    from tests.calendars.radicale import CALDAV, DAV

    query = (
        f'<?xml version="1.0" encoding="utf-8"?><c:calendar-query xmlns:d="{DAV}" xmlns:c="{CALDAV}">'
        '<d:prop><c:calendar-data/></d:prop><c:filter><c:comp-filter name="VCALENDAR">'
        '<c:comp-filter name="VEVENT"/></c:comp-filter></c:filter></c:calendar-query>'
    )
    tag = re.compile(r"^X-SFACAL-TAG[^:]*:(.*)$", re.M)
    seen: Counter[tuple[str, str]] = Counter()
    with server.client() as c:
        for _, upn in people:
            for path in server.calendars(upn).values():
                r = c.request("REPORT", path, content=query.encode(), headers={"Depth": "1"})
                for data in etree.fromstring(r.content).iter(f"{{{CALDAV}}}calendar-data"):
                    found = tag.search(re.sub(r"\r?\n[ \t]", "", data.text or ""))
                    parts = found.group(1).strip().split(":") if found else []
                    if len(parts) > 2:
                        seen[(upn.lower(), parts[2])] += 1
    duplicates = sum(n - 1 for n in seen.values() if n > 1)
    return duplicates, len(desired - set(seen))


def _accept(company: Any, people: list[tuple[str, str]], per_mailbox: int) -> set[tuple[str, str]]:
    """Accept M x N planned schedules; returns the desired (mailbox, record id) set."""
    from sfacal.core.schedule import Kind, Schedule, SourceRef, Status, TimedSpan
    from sfacal.engine import inbox

    inbox.set_dispatcher(None)  # the benchmark runs the pass itself
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    base = now + timedelta(days=1)
    desired: set[tuple[str, str]] = set()
    customers = ("赤木電機", "青葉商事", "桜井工業", "緑川食品")
    for m, (login, upn) in enumerate(people):
        for n in range(per_mailbox):
            record = f"{m}-{n}"
            start = base + timedelta(hours=n)
            schedule = Schedule(
                ref=SourceRef(company.slug, "push", record),
                kind=Kind.MEETING,
                status=Status.PLAN,
                span=TimedSpan(start, start + timedelta(minutes=60)),
                updated_at=now,
                title="定期訪問",
                content=f"back-fill {record}",
                purpose="定期訪問",
                customer_name=customers[n % len(customers)],
                customer_address="東京都千代田区",
                participants=(login,),
            )
            inbox.accept(company, schedule, trigger="push")
            desired.add((upn.lower(), record))
    return desired


def _run_passes(company_id: int, timeout: float) -> int:
    """The inbox pass, again whenever postponed entries become due, until the inbox is empty."""
    from django.utils import timezone

    from sfacal.engine import passes
    from sfacal.engine.models import InboxEntry

    deadline = time.monotonic() + timeout
    count = 0
    while True:
        passes.process_inbox(company_id)
        count += 1
        waiting = InboxEntry.objects.filter(company_id=company_id, state="pending")
        if not waiting.exists() or time.monotonic() > deadline:
            return count
        due = waiting.order_by("next_attempt_at").values_list("next_attempt_at", flat=True).first()
        if due is not None:
            time.sleep(max(0.0, min(5.0, (due - timezone.now()).total_seconds())))


def _count(control: Any, desired: set[tuple[str, str]]) -> tuple[int, int]:
    from sfacal.calendars.msgraph.payload import TAG_PROPERTY_ID

    tag_id = TAG_PROPERTY_ID.lower()
    seen: Counter[tuple[str, str]] = Counter()
    for ev in control.events():
        for prop in ev.get("singleValueExtendedProperties", []):
            if str(prop.get("id", "")).lower() == tag_id:
                parts = str(prop["value"]).split(":")
                seen[(str(ev["user"]).lower(), parts[2] if len(parts) > 2 else "")] += 1
    duplicates = sum(c - 1 for c in seen.values() if c > 1)
    missing = len(desired - set(seen))
    return duplicates, missing


def run(args: argparse.Namespace) -> dict[str, Any]:
    temp = args.data_dir is None
    data_dir = Path(args.data_dir or tempfile.mkdtemp(prefix="sfacal-bench-"))
    data_dir.mkdir(parents=True, exist_ok=True)
    pin = not args.no_pin and (os.cpu_count() or 1) >= 2
    sys.path.insert(0, str(ROOT / "src"))
    from sfacal.emulators.google import ControlClient as GoogleControl
    from sfacal.emulators.m365 import ControlClient
    from sfacal.emulators.tls import ensure_tls_files

    google = args.service == "google"
    caldav = args.service == "caldav"
    resources = contextlib.ExitStack()
    emulator: subprocess.Popen[bytes] | None = None
    control: Any = None
    server: Any = None
    latency = args.latency_ms / 1000
    if caldav:
        sys.path.insert(0, str(ROOT))
        from tests.calendars.radicale import start_radicale

        (data_dir / "radicale").mkdir(exist_ok=True)
        server = resources.enter_context(start_radicale(data_dir / "radicale"))
        ca_pem = Path(server.ca_bundle)
    else:
        tls = ensure_tls_files(data_dir)
        ca_pem = tls.ca_pem
        port = _free_port()
        emulator = _start_emulator(data_dir, port, args.latency_ms, pin, args.emulator_profile, args.service)
        base_url = f"https://127.0.0.1:{port}"
        control = GoogleControl(base_url, ca_pem) if google else ControlClient(base_url, ca_pem)
    if pin:
        _pin(0, 0)
    try:
        if emulator is not None:
            _wait_healthy(control, emulator, data_dir)
        if args.service == "m365":
            control.set_knobs(
                batch_throttle=args.batch_throttle,
                app_rate_limit=args.app_limit,
                app_rate_window_s=args.app_window,
            )
        _django(data_dir, ca_pem, args.app_limit, args.app_window)
        if caldav:
            company, people = _setup_caldav(server, args.mailboxes)
            latency = _caldav_latency(server)
        else:
            setup = _setup_google if google else _setup
            company, people = setup(control, base_url, args.mailboxes)
        t = time.perf_counter()
        desired = _accept(company, people, args.events_per_mailbox)
        accept_seconds = time.perf_counter() - t

        from sfacal.calendars.msgraph.throttle import retry_counts
        from sfacal.engine.models import MirrorEvent

        before = control.counters() if control is not None else None
        retried_before = retry_counts()
        load_1m = os.getloadavg()[0]
        reference_ms = _reference_ms()
        profiler = None
        if args.profile:
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.001)
            profiler.start()
        rss_at_start = _rss_mb()
        sampler = _MemorySampler() if args.memory_profile else None
        started_at = datetime.now(UTC)
        cpu0 = time.process_time()
        emu_cpu0 = _cpu_of(emulator.pid) if emulator is not None else float("nan")
        thread_cpu0 = time.thread_time()
        t = time.perf_counter()
        count = _run_passes(company.pk, args.timeout)
        pass_seconds = time.perf_counter() - t
        pass_thread_cpu = time.thread_time() - thread_cpu0
        if sampler is not None:
            Path(args.memory_profile).write_text(sampler.stop())
        engine_cpu = time.process_time() - cpu0
        emu_cpu = _cpu_of(emulator.pid) - emu_cpu0 if emulator is not None else None
        if profiler is not None:
            profiler.stop()
            out = (
                profiler.output_text(unicode=True, show_all=False) if args.profile.endswith(".txt") else None
            )
            Path(args.profile).write_text(out if out is not None else profiler.output_html())
        peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        last = MirrorEvent.objects.order_by("-updated_at").values_list("updated_at", flat=True).first()
        seconds = (last - started_at).total_seconds() if last is not None else pass_seconds
        after = control.counters() if control is not None else None
        retried = retry_counts()
        if args.journal and control is not None:
            Path(args.journal).write_text(json.dumps(control.journal() if google else control.journal(0.0)))
        if caldav:
            duplicates, missing = _count_caldav(server, people, desired)
        elif google:
            duplicates, missing = _count_google(control, people, desired)
        else:
            duplicates, missing = _count(control, desired)
        per_mailbox = Counter(upn for upn, _ in desired)
        per_request = 50 if google else 1  # a Google batch of 50 is one request
        mailbox_bound = max(math.ceil(math.ceil(n / per_request) / 4) for n in per_mailbox.values()) * latency
        app_bound = (math.ceil(len(desired) / args.app_limit) - 1) * args.app_window + latency
        bound = mailbox_bound if caldav else max(mailbox_bound, app_bound)
        graph = args.service == "m365"
        return {
            "mailboxes": args.mailboxes,
            "events_per_mailbox": args.events_per_mailbox,
            "latency_ms": round(latency * 1000, 2) if caldav else args.latency_ms,
            "seconds": round(seconds, 3),
            "bound_seconds": round(bound, 3),
            "ratio": round(seconds / bound, 2) if bound else None,
            "requests": after["requests"] - before["requests"] if after and before else None,
            "throttled": after["throttled"] - before["throttled"] if after and before else None,
            "serial_seconds": round(len(desired) * latency, 3) if caldav else None,
            "service": args.service,
            "items_retried": retried.batch_items - retried_before.batch_items if graph else None,
            "requests_retried": retried.requests - retried_before.requests if graph else None,
            "batch_throttle": args.batch_throttle,
            "app_limit": args.app_limit,
            "app_window_s": args.app_window,
            "duplicates": duplicates,
            "missing": missing,
            "peak_rss_mb": round(peak_rss_mb, 1),
            "rss_at_pass_start_mb": rss_at_start["VmRSS"],
            "peak_rss_before_pass_mb": rss_at_start["VmHWM"],
            "accept_seconds": round(accept_seconds, 3),
            "pass_seconds": round(pass_seconds, 3),
            "passes": count,
            "load_avg_1m": round(load_1m, 2),
            "reference_loop_ms": reference_ms,
            "engine_cpu_seconds": round(engine_cpu, 2),
            "engine_pass_thread_cpu_seconds": round(pass_thread_cpu, 2),
            "emulator_cpu_seconds": round(emu_cpu, 2) if emu_cpu is not None else None,
        }
    finally:
        if control is not None:
            control.close()
        if emulator is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(emulator.pid, 2 if args.emulator_profile else 15)
            with contextlib.suppress(subprocess.TimeoutExpired):
                emulator.wait(10)
        resources.close()
        if temp:
            shutil.rmtree(data_dir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    result = run(_parse(argv))
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
