"""Change-to-calendar latency of a served stack: a steady stream of changes through the push API and
the JUST.SFA webhook, each timed from the moment it was sent to the moment its event was stored in
the Microsoft 365 emulator.

    .venv/bin/python bench/latency.py --rate 20 --seconds 60 --stack embedded
    .venv/bin/python bench/latency.py --stack scaled --find-knee

What runs (``bench/served_stack.py``): ``sfacal serve`` on SQLite (``embedded``) or ``sfacal web``
and two ``sfacal worker`` processes on PostgreSQL and Redis (``scaled``); the Microsoft 365 emulator
with a fixed latency ``L`` (100 ms) and Graph's limits on, and the JUST.SFA emulator, each in its own
process over TLS.

The stream: ``rate`` new schedules a second for ``seconds`` seconds, on a fixed timetable (a slow
answer does not delay the next send), alternately

* a ``PUT /api/v1/schedules/{id}`` to the product's push API, and
* a record created in the JUST.SFA emulator "as a salesperson" (its control API), which the emulator
  delivers to the product's webhook,

each with one participant (the mailboxes in turn). The time a change was sent is taken just before
the request; the time its event reached the calendar is the emulator's ``createdDateTime`` of the
event carrying the product's tag for that record (the same machine's clock).

It prints ONE JSON line: ``rate``, ``seconds``, ``stack``, ``latency_ms``, ``sent``, ``p50_ms``,
``p90_ms``, ``p99_ms``, ``max_ms``, ``lost`` (sent and acknowledged, no event after the drain
time), ``duplicates``, ``push`` / ``webhook`` (the same figures per door), ``send_errors``,
``goal_p50_ms`` / ``goal_p99_ms`` / ``met``; and the JUST.SFA API figures (``justsfa_api_calls``,
``justsfa_poll_calls``, ``justsfa_calls_per_webhook`` (calls other than polls, per webhook),
``justsfa_max_polls_per_minute``, ``justsfa_max_calls_per_minute``, ``justsfa_budget_per_minute``,
``within_budget``) read from the JUST.SFA emulator's journal. With ``--find-knee`` it runs the
stream at rising rates on one stack and adds ``knee_rate`` (the first rate whose p99 passes 1 s or
that loses a change) and ``steps`` (each rate's figures).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx
from served_stack import JUSTSFA_TENANT, BenchStack, tag_key

GOAL_P50_MS = 300.0
GOAL_P99_MS = 1000.0
KNEE_RATES = (10, 20, 40, 60, 80, 120, 160, 240)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rate", type=float, default=20.0, help="changes per second")
    p.add_argument("--seconds", type=float, default=60.0, help="how long the stream runs")
    p.add_argument("--stack", choices=("embedded", "scaled"), default="embedded")
    p.add_argument("--latency-ms", type=float, default=100.0, help="the Microsoft 365 emulator's latency")
    p.add_argument("--mailboxes", type=int, default=20)
    p.add_argument("--workers", type=int, default=4, help="worker threads per worker process")
    p.add_argument("--drain", type=float, default=30.0, help="seconds to wait for the last events")
    p.add_argument("--find-knee", action="store_true", help="rising rates until p99 passes 1 s")
    p.add_argument("--max-rate", type=float, default=240.0, help="--find-knee stops here")
    p.add_argument("--data-dir", default=None, help="keep the run here (default: a temporary directory)")
    return p.parse_args(argv)


def percentile(values: list[float], q: float) -> float | None:
    """The ``q`` quantile (0..1) by the nearest rank; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 1)


class Stream:
    """One run of the stream against a started stack."""

    def __init__(self, stack: BenchStack, label: str) -> None:
        self.stack = stack
        self.label = label  # keeps record ids of several runs on one stack apart
        self.local = threading.local()
        self.sent: dict[tuple[str, str], float] = {}  # (source, record id) -> time sent
        self.errors: list[str] = []
        self.lock = threading.Lock()
        self.webhooks = 0

    def _api(self) -> httpx.Client:
        client = getattr(self.local, "api", None)
        if client is None:
            client = httpx.Client(
                base_url=self.stack.web_url,
                headers={"Authorization": f"Bearer {self.stack.api_token}"},
                timeout=30,
                trust_env=False,
            )
            self.local.api = client
        return client

    def _justsfa(self) -> Any:
        client = getattr(self.local, "justsfa", None)
        if client is None:
            from sfacal.emulators.justsfa import ControlClient

            client = ControlClient(self.stack.justsfa_url, self.stack.ca_pem, timeout=30)
            self.local.justsfa = client
        return client

    def send(self, n: int) -> None:
        people = self.stack.people()
        login = people[n % len(people)][0]
        day = 1 + (n // 24) % 27
        start, end = f"2031-03-{day:02d}T{n % 24:02d}:00", f"2031-03-{day:02d}T{n % 24:02d}:30"
        try:
            if n % 2 == 0:
                source_id = f"{self.label}-{n}"
                body = {
                    "kind": "商談",
                    "status": "予定",
                    "start": start + "+09:00",
                    "end": end + "+09:00",
                    "title": "定期訪問",
                    "customer_name": "赤木電機",
                    "customer_address": "東京都千代田区",
                    "participants": [login],
                }
                at = time.time()
                r = self._api().put(f"/api/v1/schedules/{source_id}", json=body)
                if r.status_code not in (200, 201):
                    raise RuntimeError(f"push {r.status_code}: {r.text[:200]}")
                key = ("push", source_id)
            else:
                s = self.stack.setup
                record = {
                    s.schedule_field: s.schedule_value(start + "+09:00", end + "+09:00", [login]),
                    s.status_field: "予定",
                    s.kind_field: "商談",
                    s.purpose_field: "定期訪問",
                    s.customer_field: "赤木電機",
                    s.address_field: "東京都千代田区",
                    s.content_field: f"{self.label}-{n}",
                }
                at = time.time()
                created = self._justsfa().create_record(JUSTSFA_TENANT, s.table_id, record)
                record_id = created.get("recordId") or created.get("id") or created["record"]["recordId"]
                key = ("justsfa", str(record_id))
            with self.lock:
                self.sent[key] = at
        except Exception as exc:  # counted and reported, never hidden
            with self.lock:
                self.errors.append(f"{type(exc).__name__}: {exc}"[:300])

    def run(self, rate: float, seconds: float) -> None:
        total = max(1, int(rate * seconds))
        futures: list[Future[None]] = []
        with ThreadPoolExecutor(max_workers=min(64, max(8, int(rate)))) as pool:
            t0 = time.monotonic()
            for n in range(total):
                delay = t0 + n / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                futures.append(pool.submit(self.send, n))
            for f in futures:
                f.result()
        self.webhooks = sum(1 for source, _ in self.sent if source == "justsfa")

    def arrivals(self, drain: float) -> tuple[dict[tuple[str, str], list[float]], int]:
        """Creation times of the events of the sent changes, waiting up to ``drain`` seconds for
        the last ones; and how many other tagged events the calendars hold."""
        deadline = time.monotonic() + drain
        while True:
            seen: dict[tuple[str, str], list[float]] = {}
            for ev in self.stack.m365.events():
                key = tag_key(ev)
                if key in self.sent:
                    created = datetime.fromisoformat(ev["createdDateTime"]).timestamp()
                    seen.setdefault(key, []).append(created)
            if len(seen) >= len(self.sent) or time.monotonic() > deadline:
                return seen, 0
            time.sleep(0.5)

    def figures(self, seen: dict[tuple[str, str], list[float]]) -> dict[str, Any]:
        def summary(keys: list[tuple[str, str]]) -> dict[str, Any]:
            lat = [min(seen[k]) - self.sent[k] for k in keys if k in seen]
            return {
                "sent": len(keys),
                "p50_ms": _ms(percentile(lat, 0.5)),
                "p90_ms": _ms(percentile(lat, 0.9)),
                "p99_ms": _ms(percentile(lat, 0.99)),
                "max_ms": _ms(max(lat) if lat else None),
                "lost": sum(1 for k in keys if k not in seen),
                "duplicates": sum(len(seen[k]) - 1 for k in keys if k in seen),
            }

        every = list(self.sent)
        out = summary(every)
        out["push"] = summary([k for k in every if k[0] == "push"])
        out["webhook"] = summary([k for k in every if k[0] == "justsfa"])
        out["send_errors"] = len(self.errors)
        if self.errors:
            out["first_send_error"] = self.errors[0]
        return out


def _most_in_a_minute(times: list[float]) -> int:
    times = sorted(times)
    most, left = 0, 0
    for right, t in enumerate(times):
        while times[left] < t - 60:
            left += 1
        most = max(most, right - left + 1)
    return most


def justsfa_api(stack: BenchStack, since_seq: int, webhooks: int) -> dict[str, Any]:
    """The product's JUST.SFA API calls since journal entry ``since_seq`` (PB5). A listing of the
    table's records (``GET …/records``) is a poll; any other call (a record read or a write) is
    counted against the webhooks delivered. All calls together, in any sliding minute, against the
    connection's per-minute budget."""
    from sfacal.sources.justsfa.settings import DEFAULT_PER_MINUTE

    calls = [
        e for e in stack.justsfa.journal(since_seq, tenant=JUSTSFA_TENANT) if int(e.get("seq", 0)) > since_seq
    ]

    def at(entry: dict[str, Any]) -> float:
        return datetime.fromisoformat(str(entry["at"])).timestamp()

    polls = [
        e
        for e in calls
        if e.get("method") == "GET" and str(e.get("path", "")).rstrip("/").endswith("/records")
    ]
    others = [e for e in calls if e not in polls]
    most = _most_in_a_minute([at(e) for e in calls])
    return {
        "justsfa_api_calls": len(calls),
        "justsfa_poll_calls": len(polls),
        "justsfa_calls_per_webhook": round(len(others) / webhooks, 3) if webhooks else None,
        "justsfa_max_polls_per_minute": _most_in_a_minute([at(e) for e in polls]),
        "justsfa_max_calls_per_minute": most,
        "justsfa_budget_per_minute": DEFAULT_PER_MINUTE,
        "within_budget": most <= DEFAULT_PER_MINUTE,
    }


def _last_seq(stack: BenchStack) -> int:
    entries = stack.justsfa.journal(0, tenant=JUSTSFA_TENANT)
    return max((int(e.get("seq", 0)) for e in entries), default=0)


def measure(stack: BenchStack, rate: float, seconds: float, drain: float, label: str) -> dict[str, Any]:
    seq = _last_seq(stack)
    stream = Stream(stack, label)
    started = time.monotonic()
    stream.run(rate, seconds)
    send_seconds = time.monotonic() - started
    seen, _ = stream.arrivals(drain)
    out: dict[str, Any] = {"rate": rate, "seconds": seconds, "send_seconds": round(send_seconds, 2)}
    out.update(stream.figures(seen))
    out.update(justsfa_api(stack, seq, stream.webhooks))
    return out


def _passes(step: dict[str, Any]) -> bool:
    p99 = step["p99_ms"]
    return p99 is not None and p99 <= GOAL_P99_MS and step["lost"] == 0 and step["duplicates"] == 0


def run(args: argparse.Namespace) -> dict[str, Any]:
    temp = args.data_dir is None
    data_dir = Path(args.data_dir or tempfile.mkdtemp(prefix="sfacal-latency-"))
    stack = BenchStack(
        data_dir, stack=args.stack, latency_ms=args.latency_ms, mailboxes=args.mailboxes, workers=args.workers
    )
    try:
        stack.start()
        # Warm-up, not measured: the first token, the first connections, the first pass.
        measure(stack, 2, 1, args.drain, "warm")
        result: dict[str, Any] = {"stack": args.stack, "latency_ms": args.latency_ms}
        if args.find_knee:
            steps = []
            knee = None
            for rate in (r for r in KNEE_RATES if r <= args.max_rate):
                step = measure(stack, rate, args.seconds, args.drain, f"r{rate}")
                steps.append(step)
                if not _passes(step):
                    knee = rate
                    break
            goal = next((s for s in steps if s["rate"] == args.rate), steps[0])
            result.update(goal)
            result["knee_rate"] = knee
            result["steps"] = [
                {k: s[k] for k in ("rate", "p50_ms", "p99_ms", "lost", "duplicates", "send_errors")}
                for s in steps
            ]
        else:
            result.update(measure(stack, args.rate, args.seconds, args.drain, "run"))
        result["goal_p50_ms"], result["goal_p99_ms"] = GOAL_P50_MS, GOAL_P99_MS
        result["met"] = (
            result["p50_ms"] is not None
            and result["p50_ms"] <= GOAL_P50_MS
            and _passes(result)
            and result["send_errors"] == 0
        )
        result["load_avg_1m"] = round(os.getloadavg()[0], 2)
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
