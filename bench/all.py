"""Every performance promise, measured: runs each benchmark at its goal size and rewrites the table
of goals at the top of docs/performance.md (goal, measured, met or not, date).

    .venv/bin/python bench/all.py                 # everything (about 15 minutes)
    .venv/bin/python bench/all.py --only PB2,PB3  # some; the other rows keep their last figures
    .venv/bin/python bench/all.py --smoke --doc /tmp/perf.md   # tiny sizes (the CI smoke test)

| id | benchmark | goal |
| --- | --- | --- |
| PB1 | ``backfill.py`` 200 x 100, L = 200 ms, three runs (and one at L = 50 ms, reported) | ratio <= 1.25, 0 duplicates, 0 missing |
| PB1-w | ``engine_pass.py --workers 2`` 200 x 50 on PostgreSQL, in-memory calendars at L = 20 ms | events/s with 2 worker processes >= 1.6 x with 1 |
| PB2 | ``latency.py`` at 20 changes/s for 60 s, embedded and scaled; the rate where p99 passes 1 s | p50 <= 300 ms, p99 <= 1 s |
| PB3 | ``ingest.py`` on the embedded stack | >= 500 durable acks/s, p99 ack <= 100 ms, 0 lost |
| PB4 | peak RSS of the engine during PB1 | <= 200 MB |
| PB5 | JUST.SFA API calls per webhook and per minute during PB2 | 0 per webhook, never over the budget |

Each benchmark is run as a developer runs it (its own process, one JSON line). A figure measured
several times is shown as its range. It prints ONE JSON line: every row and every run's JSON.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "performance.md"
START, END = "<!-- goals:start -->", "<!-- goals:end -->"
HEADER = "| id | promise | goal | measured | met | date |\n| --- | --- | --- | --- | --- | --- |"


@dataclass(frozen=True)
class Row:
    id: str
    promise: str
    goal: str
    measured: str
    met: bool | None  # None: reported, no goal
    date: str

    def line(self) -> str:
        met = "—" if self.met is None else ("met" if self.met else "**not met**")
        return f"| {self.id} | {self.promise} | {self.goal} | {self.measured} | {met} | {self.date} |"


def span(values: list[float], digits: int = 2) -> str:
    """``a`` or ``a – b`` (the range of several runs)."""
    lo, hi = round(min(values), digits), round(max(values), digits)
    fmt = f"{{:.{digits}f}}"
    return fmt.format(lo) if lo == hi else f"{fmt.format(lo)} – {fmt.format(hi)}"


def render(rows: list[Row]) -> str:
    return "\n".join([START, HEADER, *(r.line() for r in rows), END])


def rewrite(doc: str, rows: list[Row]) -> str:
    """``doc`` with its goals table replaced by ``rows`` (rows of ids not given keep their old line;
    ids are ordered as ``PB1``, ``PB1-50``, ``PB2-…``). Without a table yet, it goes under the title."""
    old: dict[str, str] = {}
    match = re.search(re.escape(START) + r"(.*?)" + re.escape(END), doc, re.S)
    if match:
        for line in match.group(1).strip().splitlines()[2:]:
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if cells and cells[0]:
                old[cells[0]] = line.strip()
    new = {r.id: r.line() for r in rows}
    merged = {**old, **new}
    table = "\n".join([START, HEADER, *(merged[k] for k in sorted(merged, key=_order)), END])
    if match:
        return doc[: match.start()] + table + doc[match.end() :]
    title, _, rest = doc.partition("\n")
    return f"{title}\n\n{table}\n{rest}"


def _order(row_id: str) -> tuple[int, str]:
    number = re.match(r"PB(\d+)", row_id)
    return (int(number.group(1)) if number else 99, row_id)


def bench(script: str, *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *args], capture_output=True, check=False
    )
    if done.returncode:
        raise RuntimeError(f"{script} {' '.join(args)} failed: {done.stderr.decode()[-3000:]}")
    lines = [x for x in done.stdout.decode().splitlines() if x.strip()]
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--only", default="PB1,PB1-w,PB2,PB3,PB4,PB5", help="comma-separated ids")
    p.add_argument("--repeat", type=int, default=3, help="runs of the 200 x 100 back-fill")
    p.add_argument("--smoke", action="store_true", help="tiny sizes: checks the machinery, not the goals")
    p.add_argument("--doc", default=str(DOC), help="the document whose table is rewritten")
    p.add_argument("--no-write", action="store_true", help="print only")
    return p.parse_args(argv)


def run(args: argparse.Namespace) -> dict[str, Any]:
    only = {x.strip() for x in args.only.split(",") if x.strip()}
    today = datetime.now(UTC).date().isoformat()
    smoke = args.smoke
    rows: list[Row] = []
    runs: dict[str, list[dict[str, Any]]] = {}

    if only & {"PB1", "PB4"}:
        size = (
            ["--mailboxes", "2", "--events-per-mailbox", "8"]
            if smoke
            else ["--mailboxes", "200", "--events-per-mailbox", "100"]
        )
        repeat = 1 if smoke else max(1, args.repeat)
        slow = [bench("backfill.py", *size, "--latency-ms", "5" if smoke else "200") for _ in range(repeat)]
        fast = bench("backfill.py", *size, "--latency-ms", "5" if smoke else "50")
        runs["backfill_200ms"], runs["backfill_50ms"] = slow, [fast]
        label = "2 × 8" if smoke else "200 × 100"
        if "PB1" in only:
            ok = all(r["ratio"] <= 1.25 and r["duplicates"] == 0 and r["missing"] == 0 for r in slow)
            rows.append(
                Row(
                    "PB1",
                    f"back-fill {label} at L = 200 ms, Graph limits on (`backfill.py`)",
                    "ratio ≤ 1.25; 0 duplicates, 0 missing",
                    f"ratio {span([r['ratio'] for r in slow])} ({len(slow)} runs, "
                    f"{span([r['seconds'] for r in slow])} s); "
                    f"{max(r['duplicates'] for r in slow)} duplicates, {max(r['missing'] for r in slow)} missing",
                    ok,
                    today,
                )
            )
            rows.append(
                Row(
                    "PB1-50",
                    f"back-fill {label} at L = 50 ms (reported)",
                    "—",
                    f"ratio {fast['ratio']:.2f} ({fast['seconds']:.2f} s); "
                    f"{fast['duplicates']} duplicates, {fast['missing']} missing",
                    None,
                    today,
                )
            )
        if "PB4" in only:
            rss = [r["peak_rss_mb"] for r in slow]
            rows.append(
                Row(
                    "PB4",
                    f"peak RSS of the engine during the {label} back-fill",
                    "≤ 200 MB",
                    f"{span(rss, 0)} MB",
                    max(rss) <= 200,
                    today,
                )
            )

    if "PB1-w" in only:
        size = (
            ["--mailboxes", "4", "--events-per-mailbox", "5"]
            if smoke
            else ["--mailboxes", "200", "--events-per-mailbox", "50"]
        )
        workers = [
            bench("engine_pass.py", "--workers", "2", *size)
            for _ in range(1 if smoke else max(1, args.repeat))
        ]
        runs["engine_workers"] = workers
        rows.append(
            Row(
                "PB1-w",
                f"one company's inbox over worker processes, {workers[0]['events']} events on PostgreSQL, "
                "in-memory calendars at L = 20 ms (`engine_pass.py --workers 2`)",
                "events/s with 2 worker processes ≥ 1.6 × with 1",
                f"speed-up {span([w['speedup'] for w in workers])} ({len(workers)} runs; "
                f"{span([w['events_per_s_one_worker'] for w in workers], 0)} → "
                f"{span([w['events_per_s'] for w in workers], 0)} events/s); "
                f"{span([w['cpu_us_per_event'] for w in workers], 0)} µs CPU and "
                f"{span([w['statements_per_event'] for w in workers])} statements per event",
                all(w["within_bound"] for w in workers),
                today,
            )
        )

    if only & {"PB2", "PB5"}:
        seconds = "2" if smoke else "60"
        common = ["--rate", "4" if smoke else "20", "--seconds", seconds]
        if smoke:
            common += ["--mailboxes", "2"]
        latency = {stack: bench("latency.py", *common, "--stack", stack) for stack in ("embedded", "scaled")}
        knee_args = [
            "--find-knee",
            "--seconds",
            "2" if smoke else "20",
            "--max-rate",
            "20" if smoke else "240",
        ]
        knee = bench("latency.py", *knee_args, *(["--mailboxes", "2"] if smoke else []))
        runs["latency"] = [*latency.values(), knee]
        if "PB2" in only:
            for stack, r in latency.items():
                name = (
                    "`sfacal serve`, SQLite"
                    if stack == "embedded"
                    else "`sfacal web` + 2 `sfacal worker`, PostgreSQL/Redis"
                )
                rows.append(
                    Row(
                        f"PB2-{stack}",
                        f"change → calendar at {r['rate']:g}/s for {r['seconds']:g} s, push API and webhook, "
                        f"{name}, L = 100 ms (`latency.py`)",
                        "p50 ≤ 300 ms, p99 ≤ 1 s; 0 lost, 0 duplicates",
                        f"p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms; {r['lost']} lost, {r['duplicates']} duplicates",
                        bool(r["met"]),
                        today,
                    )
                )
            steps = ", ".join(f"{s['rate']:g}/s: {s['p99_ms']} ms" for s in knee["steps"])
            rows.append(
                Row(
                    "PB2-knee",
                    f"rate at which p99 passes 1 s (embedded, {knee['seconds']:g} s per rate)",
                    "reported",
                    (f"{knee['knee_rate']:g}/s" if knee["knee_rate"] else "not reached") + f" (p99 {steps})",
                    None,
                    today,
                )
            )
        if "PB5" in only:
            every = list(latency.values())
            per_webhook = max(r["justsfa_calls_per_webhook"] or 0 for r in every)
            most = max(r["justsfa_max_calls_per_minute"] for r in every)
            polls = max(r["justsfa_max_polls_per_minute"] for r in every)
            budget = every[0]["justsfa_budget_per_minute"]
            rows.append(
                Row(
                    "PB5",
                    "JUST.SFA API calls per webhook, and per minute, during PB2 (emulator journal)",
                    "0 per webhook; never over the budget",
                    f"{per_webhook:g} per webhook ({sum(r['webhook']['sent'] for r in every)} webhooks); "
                    f"at most {most} calls a minute, {polls} of them polls (budget {budget})",
                    per_webhook == 0 and all(r["within_budget"] for r in every),
                    today,
                )
            )

    if "PB3" in only:
        r = bench(
            "ingest.py", *(["--seconds", "2", "--concurrency", "4", "--mailboxes", "2"] if smoke else [])
        )
        runs["ingest"] = [r]
        rows.append(
            Row(
                "PB3",
                f"durable acknowledgements, push API and webhook, {r['concurrency']} clients, "
                "`sfacal serve` on SQLite (`ingest.py`)",
                "≥ 500 acks/s, p99 ack ≤ 100 ms; 0 lost",
                f"{r['acks_per_s']:g} acks/s, p99 {r['p99_ack_ms']} ms; {r['lost']} lost",
                bool(r["met"]),
                today,
            )
        )

    if not args.no_write:
        doc = Path(args.doc)
        doc.write_text(rewrite(doc.read_text(encoding="utf-8"), rows), encoding="utf-8")
    return {
        "rows": [r.__dict__ for r in rows],
        "runs": runs,
        "smoke": smoke,
    }


def main(argv: list[str] | None = None) -> int:
    print(json.dumps(run(_parse(argv)), ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
