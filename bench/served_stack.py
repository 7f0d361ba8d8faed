"""The product as an operator serves it, with both emulators, for the served benchmarks.

Two shapes (``--stack``):

* ``embedded``: ``sfacal serve`` (web server, worker threads and scheduler in one process) on SQLite
  in a temporary data directory;
* ``scaled``: ``sfacal web`` and two ``sfacal worker`` processes on PostgreSQL and Redis (a database
  and a Redis db number of the benchmark's own, dropped / flushed at the end).

Guarantees:

* nothing in the product is replaced: the Microsoft 365 emulator (``python -m sfacal.emulators.m365``,
  fixed latency ``L``, Graph's limits on) and the JUST.SFA emulator run in processes of their own over
  TLS with one CA, which the product trusts through ``SFACAL_CA_BUNDLE``;
* one company is set up through the product's own models (sync and calendar writes on, client
  secret, ``M`` employees with a mailbox each, a JUST.SFA connection whose webhook the JUST.SFA
  emulator calls, a push API token);
* :meth:`BenchStack.stop` ends only the processes this stack started, by their process group.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
if str(SRC) not in sys.path:
    sys.path.insert(0, str(SRC))

DOMAIN = "bench.onmicrosoft.com"
JUSTSFA_TENANT = "bench"
PG_ADMIN_DSN = os.environ.get("SFACAL_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("SFACAL_BENCH_REDIS", "redis://127.0.0.1:6379/13")

SETUP = r"""
import django, json, sys
django.setup()
from datetime import datetime, timezone
from sfacal.directory.companies.provisioning import ensure_company
from sfacal.directory.companies.models import CompanySettings
from sfacal.directory.connections.models import ApiToken, SourceConnection
from sfacal.directory.employees.models import Employee
cfg = json.loads(sys.stdin.read())
c = ensure_company("bench", "Bench")
cs = CompanySettings.objects.get(company=c)
cs.sync_enabled = True
cs.write_to_calendar = cfg["write_to_calendar"]
cs.client_id = cfg["client_id"]
cs.auth_method = "secret"
cs.client_secret = cfg["secret"]
cs.token_endpoint = cfg["token_endpoint"]
cs.graph_base_url = cfg["graph"]
cs.domain = cfg["domain"]
cs.save()
src = SourceConnection.objects.create(company=c, kind="justsfa", config=cfg["source"], api_key=cfg["api_key"])
since = datetime(2020, 1, 1, tzinfo=timezone.utc)
Employee.objects.bulk_create(
    Employee(company=c, login_id=login, name=login, state="on", user_id_mode="explicit", user_id=box,
             sync_start=since)
    for login, box in cfg["people"]
)
_, api_token = ApiToken.issue(c, "bench")
print("@@RESULT@@" + json.dumps({"webhook_token": src.webhook_token, "api_token": api_token}))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_of(pid: int) -> float:
    """User + system CPU seconds of a process (Linux ``/proc``)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def peak_rss_mb(pid: int) -> float:
    """Peak resident memory of a live process (``VmHWM``), in MB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return float("nan")


@dataclass
class BenchStack:
    data_dir: Path
    stack: str = "embedded"
    latency_ms: float = 100.0
    mailboxes: int = 20
    workers: int = 4
    write_to_calendar: bool = True  # off: changes are accepted and kept, the engine writes nothing
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    web_url: str = ""
    m365_url: str = ""
    justsfa_url: str = ""
    api_token: str = ""
    webhook_token: str = ""
    m365: Any = None
    justsfa: Any = None
    setup: Any = None  # the JUST.SFA ScheduleSetup
    db_name: str = ""

    @property
    def emulator_dir(self) -> Path:
        return self.data_dir / "emulators"

    @property
    def ca_pem(self) -> Path:
        return self.emulator_dir / "ca.pem"

    def people(self) -> list[tuple[str, str]]:
        """(login id, mailbox) of the benchmark's employees."""
        return [(f"u{i:04d}", f"u{i:04d}@{DOMAIN}") for i in range(self.mailboxes)]

    # -- environment ------------------------------------------------------------------------------

    def env(self) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("SFACAL_", "DJANGO_")) and key not in ("DATABASE_URL",)
        }
        env.update(
            {
                "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
                "SFACAL_DATA_DIR": str(self.data_dir / "product"),
                "DJANGO_SETTINGS_MODULE": "sfacal.web.settings",
                "SFACAL_CA_BUNDLE": str(self.ca_pem),
                "SFACAL_ALLOW_PRIVATE_URLS": "127.0.0.0/8,::1",
                "SFACAL_LOG_LEVEL": "WARNING",
            }
        )
        if self.stack == "scaled":
            env["DATABASE_URL"] = f"postgresql://postgres@127.0.0.1:5432/{self.db_name}"
            env["SFACAL_QUEUE_URL"] = REDIS_URL
        return env

    def _start(self, name: str, cmd: list[str]) -> subprocess.Popen[bytes]:
        log = (self.data_dir / f"{name}.log").open("ab")
        proc = subprocess.Popen(
            cmd, env=self.env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.procs[name] = proc
        return proc

    def log(self, name: str) -> str:
        path = self.data_dir / f"{name}.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def _wait(self, name: str, probe: Any, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            proc = self.procs[name]
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}: {self.log(name)}")
            with contextlib.suppress(Exception):
                if probe():
                    return
            time.sleep(0.1)
        raise RuntimeError(f"{name} did not start: {self.log(name)}")

    # -- start ------------------------------------------------------------------------------------

    def start(self) -> BenchStack:
        from sfacal.emulators.justsfa import ControlClient as JustSfaControl
        from sfacal.emulators.m365 import ControlClient as M365Control
        from sfacal.emulators.tls import ensure_tls_files

        (self.data_dir / "product").mkdir(parents=True, exist_ok=True)
        ensure_tls_files(self.emulator_dir)
        py = sys.executable
        port = free_port()
        self._start(
            "m365",
            [
                py,
                "-m",
                "sfacal.emulators.m365",
                "--port",
                str(port),
                "--data-dir",
                str(self.emulator_dir),
                "--latency-ms",
                str(self.latency_ms),
                "--log-level",
                "error",
            ],
        )
        self.m365_url = f"https://127.0.0.1:{port}"
        port = free_port()
        self._start(
            "justsfa",
            [
                py,
                "-m",
                "sfacal.emulators.justsfa",
                "--port",
                str(port),
                "--data-dir",
                str(self.emulator_dir),
                "--log-level",
                "error",
            ],
        )
        self.justsfa_url = f"https://127.0.0.1:{port}"
        self.m365 = M365Control(self.m365_url, self.ca_pem)
        self.justsfa = JustSfaControl(self.justsfa_url, self.ca_pem)
        self._wait("m365", self.m365.health)
        self._wait("justsfa", self.justsfa.health)
        if self.stack == "scaled":
            self._create_database()
        self._migrate()
        self._setup_company()
        if self.stack == "embedded":
            self._serve()
        else:
            self._web_and_workers()
        self.justsfa.add_webhook(
            JUSTSFA_TENANT, self.setup.table_id, f"{self.web_url}/hooks/justsfa/{self.webhook_token}"
        )
        return self

    def _create_database(self) -> None:
        import psycopg
        import redis

        self.db_name = f"sfacal_bench_{os.getpid()}"
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{self.db_name}"')
        redis.Redis.from_url(REDIS_URL).flushdb()

    def _drop_database(self) -> None:
        import psycopg
        import redis

        with contextlib.suppress(Exception):
            with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
        with contextlib.suppress(Exception):
            redis.Redis.from_url(REDIS_URL).flushdb()

    def _migrate(self) -> None:
        done = subprocess.run(
            [sys.executable, "-m", "sfacal.cli", "migrate"],
            env=self.env(),
            capture_output=True,
            timeout=300,
            check=False,
        )
        if done.returncode:
            raise RuntimeError("migrate failed: " + done.stderr.decode()[-3000:])

    def _setup_company(self) -> None:
        tenant = self.m365.create_tenant(DOMAIN)
        app = self.m365.create_app(tenant.id)
        people = self.people()
        for _, upn in people:
            self.m365.create_user(tenant.id, upn)
        self.setup = self.justsfa.setup_schedule(
            JUSTSFA_TENANT, users=[{"userId": login, "name": login} for login, _ in people]
        )
        s = self.setup
        source = {
            "tenant": s.tenant,
            "base_url": f"{self.justsfa_url}/_tenant/{s.tenant}",
            "table": s.table_id,
            "panel": s.panel_id,
            "filter": s.filter_id,
            **{
                name: getattr(s, name)
                for name in (
                    "schedule_field",
                    "title_field",
                    "location_field",
                    "content_field",
                    "key_field",
                    "status_field",
                    "kind_field",
                    "purpose_field",
                    "business_field",
                    "customer_field",
                    "address_field",
                )
            },
        }
        cfg = {
            "client_id": app.client_id,
            "secret": app.secret,
            "token_endpoint": f"{self.m365_url}/{DOMAIN}/oauth2/v2.0/token",
            "graph": f"{self.m365_url}/v1.0",
            "domain": DOMAIN,
            "source": source,
            "api_key": s.api_key,
            "people": people,
            "write_to_calendar": self.write_to_calendar,
        }
        done = subprocess.run(
            [sys.executable, "-c", SETUP],
            input=json.dumps(cfg).encode(),
            env=self.env(),
            capture_output=True,
            timeout=120,
            check=False,
        )
        out = done.stdout.decode()
        if done.returncode or "@@RESULT@@" not in out:
            raise RuntimeError("setting up the company failed: " + done.stderr.decode()[-3000:])
        tokens = json.loads(out.split("@@RESULT@@", 1)[1])
        self.webhook_token = tokens["webhook_token"]
        self.api_token = tokens["api_token"]

    def _healthy(self) -> bool:
        return httpx.get(self.web_url + "/healthz", timeout=2, trust_env=False).status_code == 200

    def _serve(self) -> None:
        port = free_port()
        self._start(
            "serve",
            [
                sys.executable,
                "-m",
                "sfacal.cli",
                "serve",
                "--port",
                str(port),
                "--workers",
                str(self.workers),
            ],
        )
        self.web_url = f"http://127.0.0.1:{port}"
        self._wait("serve", self._healthy, timeout=120)

    def _web_and_workers(self) -> None:
        port = free_port()
        self._start("web", [sys.executable, "-m", "sfacal.cli", "web", "--port", str(port)])
        self.web_url = f"http://127.0.0.1:{port}"
        for n in (1, 2):
            self._start(
                f"worker{n}",
                [sys.executable, "-m", "sfacal.cli", "worker", "--workers", str(self.workers)],
            )
        self._wait("web", self._healthy, timeout=120)

    # -- reading ----------------------------------------------------------------------------------

    def product_pids(self) -> dict[str, int]:
        """Process ids of the product's own processes (not the emulators)."""
        return {n: p.pid for n, p in self.procs.items() if n not in ("m365", "justsfa")}

    def stop(self) -> None:
        for client in (self.m365, self.justsfa):
            if client is not None:
                with contextlib.suppress(Exception):
                    client.close()
        for _name, proc in list(self.procs.items()):
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
        self.procs.clear()
        if self.db_name:
            self._drop_database()


def tag_key(event: dict[str, Any]) -> tuple[str, str] | None:
    """(source, record id) from the product's tag on a stored event, or None."""
    from sfacal.calendars.msgraph.payload import TAG_PROPERTY_ID

    tag_id = TAG_PROPERTY_ID.lower()
    for prop in event.get("singleValueExtendedProperties", []):
        if str(prop.get("id", "")).lower() == tag_id:
            parts = str(prop["value"]).split(":")
            if len(parts) > 2:
                return parts[1], parts[2]
    return None
