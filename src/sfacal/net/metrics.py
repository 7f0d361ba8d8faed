"""Counters and timings of the service, for Prometheus (``/metrics``), shared by every process.

The layers below the screens (engine, sources, calendars) count what they do through the small
functions of this module; the web process exposes the sum over every process
(:func:`exposition`).

Guarantees:

- **Every process counts into one place.** ``prometheus-client``'s multi-process mode: each process
  writes its values into memory-mapped files in ``PROMETHEUS_MULTIPROC_DIR`` (default
  ``<data dir>/metrics``, created 0700), and :func:`exposition` adds them up. ``sfacal serve`` (one
  process), ``sfacal web`` with N ``sfacal worker`` processes on one machine, or several machines
  sharing the directory all give one set of figures. The directory is never emptied by the service:
  counters keep counting across restarts (a process that reuses a pid continues its file), which
  Prometheus' ``rate()`` reads the same as any counter.
- **Counting never breaks the work.** A metrics directory that cannot be written is logged once
  (WARNING) and counting is then skipped; no function here raises.
- **Private files.** The directory is created 0700 and each process's files 0600 (whatever its umask).
- **No secret and no unbounded label.** Labels are outcomes, error codes and operations from closed
  sets (:data:`GRAPH_OUTCOMES`, :data:`SFA_OUTCOMES`, the error tree's codes, pass kinds); never a
  URL, a mailbox or a token.

Gauges that describe the database (inbox depth, oldest pending entry, worker heartbeats, back-fill
progress) are read from the database when ``/metrics`` is scraped (``sfacal.web.metrics``), so
they are right whichever process did the work.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sfacal import config

__all__ = [
    "GRAPH_OUTCOMES",
    "MULTIPROC_ENV",
    "SFA_OUTCOMES",
    "count_graph_request",
    "count_sfa_request",
    "count_sync_failures",
    "exposition",
    "metrics_dir",
    "observe_pass",
]

log = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
GRAPH_OUTCOMES = ("ok", "client_error", "server_error", "throttled", "retried", "network_error")
"""One per answer received, by its status: ``ok`` (below 400), ``throttled`` (429, a request or a
JSON batch item), ``client_error`` (other 4xx, including those the caller expects, such as a 404 for
an event already gone), ``server_error`` (5xx); ``network_error``: no answer; plus ``retried`` for
every request or batch item sent again."""
SFA_OUTCOMES = ("ok", "client_error", "server_error", "throttled", "retried", "network_error")
"""As :data:`GRAPH_OUTCOMES`. JUST.SFA's records API is not retried at once (a 429 holds every
process off and the change waits in the inbox), so ``retried`` comes from push write-back callbacks."""


def metrics_dir() -> Path:
    """The shared directory of the per-process files (created 0700 on first use)."""
    raw = os.environ.get(MULTIPROC_ENV, "").strip()
    path = Path(raw) if raw else config.data_dir() / "metrics"
    if not path.exists():
        path.mkdir(mode=config.PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    os.environ[MULTIPROC_ENV] = str(path)
    return path


@dataclass
class _Families:
    graph_requests: Any
    sfa_requests: Any
    sync_failures: Any
    pass_seconds: Any


_families: _Families | None = None
_broken = False
_lock = threading.Lock()

PASS_KINDS = ("inbox", "batch", "reconcile", "twoway")
PASS_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)


def _get() -> _Families | None:
    """The metric families, created on first use (after the multi-process directory is known:
    ``prometheus_client`` decides at import whether it writes files)."""
    global _families, _broken
    if _broken:
        return None
    if _families is not None:
        return _families
    with _lock:
        if _families is not None or _broken:
            return _families
        try:
            metrics_dir()
            from prometheus_client import Counter, Histogram, values

            # prometheus_client picks its value class when first imported; if something imported it
            # before the directory was known, pick again (the library reads it at each metric).
            values.ValueClass = values.get_value_class()

            _families = _Families(
                graph_requests=Counter(
                    "sfacal_graph_requests",
                    "Microsoft Graph requests (and JSON batch items) by outcome",
                    ["outcome"],
                    registry=None,
                ),
                sfa_requests=Counter(
                    "sfacal_sfa_requests",
                    "Requests to the SFA (JUST.SFA records API, push write-back callbacks) by outcome",
                    ["source", "outcome"],
                    registry=None,
                ),
                sync_failures=Counter(
                    "sfacal_sync_failures",
                    "Failed calendar writes recorded in the sync log, by error code",
                    ["code"],
                    registry=None,
                ),
                pass_seconds=Histogram(
                    "sfacal_pass_duration_seconds",
                    "Duration of the engine's passes (inbox, batch, reconcile, two-way poll)",
                    ["kind"],
                    buckets=PASS_BUCKETS,
                    registry=None,
                ),
            )
            # Every label value known in advance starts at zero, which also creates this process's
            # files now: they are made private at once, whatever the umask of the process.
            for outcome in GRAPH_OUTCOMES:
                _families.graph_requests.labels(outcome=outcome)
            for kind in PASS_KINDS:
                _families.pass_seconds.labels(kind=kind)
            for path in metrics_dir().glob(f"*_{os.getpid()}.db"):
                path.chmod(config.PRIVATE_FILE_MODE)
        except Exception:
            _families = None
            _broken = True
            log.warning("metrics are off: the metrics directory cannot be used", exc_info=True)
        return _families


def _record(what: Callable[[_Families], object]) -> None:
    """Apply ``what`` to the families; a failure (an unwritable file) turns counting off, once."""
    global _broken
    families = _get()
    if families is None:
        return
    try:
        what(families)
    except Exception:
        _broken = True
        log.warning("metrics are off: the metrics directory cannot be used", exc_info=True)


def count_graph_request(outcome: str, n: int = 1) -> None:
    """``n`` Microsoft Graph requests (or batch items) ended with ``outcome`` (:data:`GRAPH_OUTCOMES`)."""
    if n > 0:
        _record(lambda f: f.graph_requests.labels(outcome=outcome).inc(n))


def count_sfa_request(source: str, outcome: str) -> None:
    """One request to an SFA (``source``: ``justsfa``, ``push_callback``) ended with ``outcome``."""
    _record(lambda f: f.sfa_requests.labels(source=source, outcome=outcome).inc())


def count_sync_failures(codes: Iterable[str]) -> None:
    """Failure lines written to the sync log, one error code each (empty: ``unknown``)."""
    counts: dict[str, int] = {}
    for code in codes:
        key = code or "unknown"
        counts[key] = counts.get(key, 0) + 1

    def add(f: _Families) -> None:
        for code, n in counts.items():
            f.sync_failures.labels(code=code).inc(n)

    if counts:
        _record(add)


def observe_pass(kind: str, seconds: float) -> None:
    """One engine pass of ``kind`` (``inbox``, ``batch``, ``reconcile``, ``twoway``) took ``seconds``."""
    _record(lambda f: f.pass_seconds.labels(kind=kind).observe(max(0.0, seconds)))


def http_outcome(status: int) -> str:
    """The outcome label of a final HTTP status."""
    if status == 429:
        return "throttled"
    if status >= 500:
        return "server_error"
    if status >= 400:
        return "client_error"
    return "ok"


def exposition(extra: Iterable[Any] = ()) -> tuple[bytes, str]:
    """The text exposition of every process's counters plus the ``extra`` collectors, and its
    content type."""
    _get()
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry(auto_describe=False)
    MultiProcessCollector(registry, path=str(metrics_dir()))
    for collector in extra:
        registry.register(collector)
    return generate_latest(registry), CONTENT_TYPE_LATEST
