"""Ingest benchmark: how many changes a served stack acknowledges durably per second, and how fast.

    .venv/bin/python bench/ingest.py --seconds 20 --concurrency 16 --stack embedded

What runs (``bench/served_stack.py``): ``sfacal serve`` on SQLite (``embedded``; or ``sfacal web``
and two ``sfacal worker`` on PostgreSQL and Redis, ``scaled``) with the Microsoft 365 emulator
(latency ``L``) and the JUST.SFA emulator, each in its own process; the engine works the changes
into the calendars while they arrive, as it would in production.

``concurrency`` clients send new schedules as fast as they are answered for ``seconds`` seconds,
half of them through the push API (``PUT /api/v1/schedules/{id}``) and half as JUST.SFA webhook
deliveries (``POST /hooks/justsfa/<token>``, the body JUST.SFA sends for a created record, taken
from the JUST.SFA emulator's own first delivery). Each acknowledgement (200/201) is timed from the
request's start to the end of the answer.

**Durable** is checked the hard way: right after the last answer the product's processes are
killed (SIGKILL, no shutdown), and every acknowledged change is looked up in the stored schedules
of the database they leave behind (SPEC S11: stored before acknowledged). ``lost`` counts
acknowledged changes that are not there.

It prints ONE JSON line: ``stack``, ``seconds``, ``concurrency``, ``acks``, ``acks_per_s``,
``p50_ack_ms``, ``p99_ack_ms``, ``max_ack_ms``, ``refused`` (answers other than 200/201, e.g. 503
with ``Retry-After``), ``errors`` (no answer), ``lost``, ``push_acks``, ``webhook_acks``,
``server_cpu_seconds``, and the goal (``goal_acks_per_s`` 500, ``goal_p99_ack_ms`` 100, ``met``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx
from latency import percentile
from served_stack import JUSTSFA_TENANT, BenchStack, cpu_of

GOAL_ACKS_PER_S = 500.0
GOAL_P99_ACK_MS = 100.0

STORED = r"""
import django, json, sys
django.setup()
from sfacal.engine.models import StoredSchedule
wanted = json.loads(sys.stdin.read())
have = set(StoredSchedule.objects.values_list("source", "record_id"))
print("@@RESULT@@" + json.dumps([k for k in wanted if tuple(k) not in have]))
"""


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--concurrency", type=int, default=16, help="clients sending at once")
    p.add_argument("--stack", choices=("embedded", "scaled"), default="embedded")
    p.add_argument("--latency-ms", type=float, default=100.0, help="the Microsoft 365 emulator's latency")
    p.add_argument("--mailboxes", type=int, default=20)
    p.add_argument("--workers", type=int, default=4, help="worker threads per worker process")
    p.add_argument(
        "--no-calendar-writes",
        action="store_true",
        help="calendar writes off: the product only acknowledges and keeps (the ingest path alone)",
    )
    p.add_argument("--data-dir", default=None, help="keep the run here (default: a temporary directory)")
    return p.parse_args(argv)


def _webhook_template(stack: BenchStack) -> dict[str, Any]:
    """The body the JUST.SFA emulator delivers for a created record (its first delivery)."""
    s = stack.setup
    login = stack.people()[0][0]
    record = {
        s.schedule_field: s.schedule_value("2031-04-01T10:00+09:00", "2031-04-01T11:00+09:00", [login]),
        s.status_field: "予定",
        s.kind_field: "商談",
        s.purpose_field: "定期訪問",
        s.customer_field: "赤木電機",
        s.address_field: "東京都千代田区",
        s.content_field: "template",
    }
    stack.justsfa.create_record(JUSTSFA_TENANT, s.table_id, record)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        done = [d for d in stack.justsfa.deliveries(JUSTSFA_TENANT) if d["state"] == "delivered"]
        if done:
            return dict(done[0]["body"])
        time.sleep(0.1)
    raise RuntimeError("the JUST.SFA emulator delivered no webhook")


class Clients:
    def __init__(self, stack: BenchStack, template: dict[str, Any]) -> None:
        self.stack = stack
        self.template = template
        self.acked: list[tuple[str, str]] = []
        self.ack_seconds: list[float] = []
        self.refused: dict[int, int] = {}
        self.errors: list[str] = []
        self.logins = [login for login, _ in stack.people()]

    def _push(self, n: int) -> tuple[str, dict[str, Any], tuple[str, str]]:
        day, hour = 1 + (n // 10) % 27, 8 + n % 10
        body = {
            "kind": "商談",
            "status": "予定",
            "start": f"2031-05-{day:02d}T{hour:02d}:00+09:00",
            "end": f"2031-05-{day:02d}T{hour:02d}:30+09:00",
            "title": "定期訪問",
            "customer_name": "赤木電機",
            "participants": [self.logins[n % len(self.logins)]],
        }
        return f"/api/v1/schedules/i{n}", body, ("push", f"i{n}")

    def _webhook(self, n: int) -> tuple[str, dict[str, Any], tuple[str, str]]:
        record_id = 1_000_000 + n
        body = {**self.template, "type": "ADD_RECORD", "recordId": record_id}
        record = dict(body.get("record") or {})
        key_field = self.stack.setup.key_field
        if key_field in record:
            record[key_field] = record_id
        body["record"] = record
        return f"/hooks/justsfa/{self.stack.webhook_token}", body, ("justsfa", str(record_id))

    async def client(self, k: int, stop_at: float, counter: list[int]) -> None:
        headers = {"Authorization": f"Bearer {self.stack.api_token}"}
        async with httpx.AsyncClient(base_url=self.stack.web_url, timeout=30, trust_env=False) as http:
            while time.monotonic() < stop_at:
                n = counter[0]
                counter[0] += 1
                if n % 2 == 0:
                    path, body, key = self._push(n)
                    send = http.put(path, json=body, headers=headers)
                else:
                    path, body, key = self._webhook(n)
                    send = http.post(path, json=body)
                t = time.perf_counter()
                try:
                    r = await send
                except httpx.HTTPError as exc:
                    self.errors.append(f"{type(exc).__name__}: {exc}"[:200])
                    continue
                elapsed = time.perf_counter() - t
                if r.status_code in (200, 201):
                    self.acked.append(key)
                    self.ack_seconds.append(elapsed)
                else:
                    self.refused[r.status_code] = self.refused.get(r.status_code, 0) + 1

    async def run(self, concurrency: int, seconds: float) -> float:
        counter = [0]
        started = time.monotonic()
        stop_at = started + seconds
        await asyncio.gather(*(self.client(k, stop_at, counter) for k in range(concurrency)))
        return time.monotonic() - started


def _kill_product(stack: BenchStack) -> None:
    for name, pid in stack.product_pids().items():
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        stack.procs[name].wait(10)


def _not_stored(stack: BenchStack, keys: list[tuple[str, str]]) -> list[Any]:
    done = subprocess.run(
        [sys.executable, "-c", STORED],
        input=json.dumps(keys).encode(),
        env=stack.env(),
        capture_output=True,
        timeout=300,
        check=False,
    )
    out = done.stdout.decode()
    if done.returncode or "@@RESULT@@" not in out:
        raise RuntimeError("reading the stored schedules failed: " + done.stderr.decode()[-3000:])
    return list(json.loads(out.split("@@RESULT@@", 1)[1]))


def run(args: argparse.Namespace) -> dict[str, Any]:
    temp = args.data_dir is None
    data_dir = Path(args.data_dir or tempfile.mkdtemp(prefix="sfacal-ingest-"))
    stack = BenchStack(
        data_dir,
        stack=args.stack,
        latency_ms=args.latency_ms,
        mailboxes=args.mailboxes,
        workers=args.workers,
        write_to_calendar=not args.no_calendar_writes,
    )
    try:
        stack.start()
        template = _webhook_template(stack)
        clients = Clients(stack, template)
        pids = stack.product_pids()
        cpu0 = sum(cpu_of(p) for p in pids.values())
        wall = asyncio.run(clients.run(args.concurrency, args.seconds))
        server_cpu = sum(cpu_of(p) for p in pids.values()) - cpu0
        _kill_product(stack)  # durable means: still there after the process dies without warning
        missing = _not_stored(stack, clients.acked)
        acks = len(clients.acked)
        p99 = percentile(clients.ack_seconds, 0.99)
        result: dict[str, Any] = {
            "stack": args.stack,
            "seconds": round(wall, 2),
            "concurrency": args.concurrency,
            "acks": acks,
            "acks_per_s": round(acks / wall, 1),
            "p50_ack_ms": round((percentile(clients.ack_seconds, 0.5) or 0) * 1000, 1),
            "p99_ack_ms": round((p99 or 0) * 1000, 1),
            "max_ack_ms": round(max(clients.ack_seconds, default=0) * 1000, 1),
            "refused": clients.refused,
            "errors": len(clients.errors),
            "lost": len(missing),
            "push_acks": sum(1 for s, _ in clients.acked if s == "push"),
            "webhook_acks": sum(1 for s, _ in clients.acked if s == "justsfa"),
            "server_cpu_seconds": round(server_cpu, 2),
            "server_cpu_ms_per_ack": round(server_cpu * 1000 / acks, 2) if acks else None,
            "calendar_writes": not args.no_calendar_writes,
            "load_avg_1m": round(os.getloadavg()[0], 2),
            "goal_acks_per_s": GOAL_ACKS_PER_S,
            "goal_p99_ack_ms": GOAL_P99_ACK_MS,
        }
        if clients.errors:
            result["first_error"] = clients.errors[0]
        result["met"] = (
            result["acks_per_s"] >= GOAL_ACKS_PER_S
            and result["p99_ack_ms"] <= GOAL_P99_ACK_MS
            and result["lost"] == 0
        )
        return result
    finally:
        stack.stop()
        if temp:
            import shutil

            shutil.rmtree(data_dir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    print(json.dumps(run(_parse(argv)), ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
