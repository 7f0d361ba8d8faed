"""``GET /metrics``: the service's figures in the Prometheus text format.

What is exposed (every family is prefixed ``sfacal_``):

- counted by every process (:mod:`sfacal.net.metrics`, summed over processes):
  ``graph_requests_total{outcome}``, ``sfa_requests_total{source,outcome}``,
  ``sync_failures_total{code}``, ``pass_duration_seconds{kind}`` (histogram);
- read from the database at each scrape (:class:`DatabaseCollector`):
  ``inbox_depth{company,state}``, ``inbox_oldest_pending_age_seconds{company}``,
  ``workers_live``, ``worker_heartbeat_age_seconds{worker}``, ``backfills_running{company}``,
  ``backfill_items_total{company}``, ``backfill_items_done{company}``, ``queue_pending``.

Access (checked before anything is read):

1. with ``SFACAL_METRICS_TOKEN`` set, the request must carry ``Authorization: Bearer <token>``
   (compared in constant time), else 401;
2. without it, only clients from ``SFACAL_METRICS_ALLOW`` (addresses and networks, default this
   machine: ``127.0.0.1,::1``) are answered, else 403.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
from collections.abc import Iterator
from typing import Any

from django.db.models import Count, Min, Sum
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from huey.contrib.djhuey import HUEY

from sfacal.directory.companies.models import Company
from sfacal.directory.employees.models import Employee
from sfacal.engine import heartbeat
from sfacal.engine.models import InboxEntry, InboxState, WorkerHeartbeat
from sfacal.net import metrics

__all__ = ["DatabaseCollector", "metrics_view"]

log = logging.getLogger(__name__)

TOKEN_ENV = "SFACAL_METRICS_TOKEN"
ALLOW_ENV = "SFACAL_METRICS_ALLOW"
DEFAULT_ALLOW = "127.0.0.1,::1"


class DatabaseCollector:
    """Gauges read from the database when scraped (right whichever process did the work)."""

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        now = timezone.now()
        codes = dict(Company.objects.values_list("pk", "slug"))

        depth = GaugeMetricFamily(
            "sfacal_inbox_depth", "Inbox entries waiting, per company and state", labels=["company", "state"]
        )
        oldest = GaugeMetricFamily(
            "sfacal_inbox_oldest_pending_age_seconds",
            "Age of the oldest pending inbox entry, per company",
            labels=["company"],
        )
        waiting = (
            InboxEntry.objects.filter(state__in=[InboxState.PENDING, InboxState.DEFERRED])
            .values("company_id", "state")
            .annotate(n=Count("id"), first=Min("received_at"))
        )
        seen: set[tuple[int, str]] = set()
        for row in waiting:
            code = codes.get(row["company_id"], str(row["company_id"]))
            depth.add_metric([code, row["state"]], row["n"])
            seen.add((row["company_id"], row["state"]))
            if row["state"] == InboxState.PENDING:
                oldest.add_metric([code], max(0.0, (now - row["first"]).total_seconds()))
        for company_id, code in codes.items():
            for state in (InboxState.PENDING, InboxState.DEFERRED):
                if (company_id, state) not in seen:
                    depth.add_metric([code, state], 0)
            if (company_id, InboxState.PENDING) not in seen:
                oldest.add_metric([code], 0.0)
        yield depth
        yield oldest

        live = GaugeMetricFamily("sfacal_workers_live", "Worker processes that beat within the live window")
        live.add_metric([], heartbeat.live_workers(now))
        yield live
        ages = GaugeMetricFamily(
            "sfacal_worker_heartbeat_age_seconds",
            "Seconds since each known worker process last beat",
            labels=["worker"],
        )
        for worker, seen_at in WorkerHeartbeat.objects.values_list("worker", "seen_at"):
            ages.add_metric([worker], max(0.0, (now - seen_at).total_seconds()))
        yield ages

        running = GaugeMetricFamily(
            "sfacal_backfills_running", "Back-fills (calendar changes) not finished", labels=["company"]
        )
        total = GaugeMetricFamily(
            "sfacal_backfill_items_total", "Items of the running back-fills", labels=["company"]
        )
        done = GaugeMetricFamily(
            "sfacal_backfill_items_done",
            "Items of the running back-fills already written",
            labels=["company"],
        )
        progress = (
            Employee.objects.filter(backfill_wanted_at__isnull=False)
            .values("company_id")
            .annotate(n=Count("id"), total=Sum("backfill_total"), done=Sum("backfill_done"))
        )
        for row in progress:
            code = codes.get(row["company_id"], str(row["company_id"]))
            running.add_metric([code], row["n"])
            total.add_metric([code], row["total"] or 0)
            done.add_metric([code], row["done"] or 0)
        yield running
        yield total
        yield done

        queue = GaugeMetricFamily("sfacal_queue_pending", "Tasks waiting in the work queue")
        try:
            queue.add_metric([], HUEY.pending_count())
        except Exception:
            log.warning("the work queue could not be read for /metrics", exc_info=True)
        else:
            yield queue


def _allowed(address: str | None, allow: str) -> bool:
    if not address:
        return False
    try:
        client = ipaddress.ip_address(address)
    except ValueError:
        return False
    for part in allow.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            if client in ipaddress.ip_network(part, strict=False):
                return True
        except ValueError:
            log.error("%s: %r is not an address or network; ignored", ALLOW_ENV, part)
    return False


def refusal(request: HttpRequest) -> HttpResponse | None:
    """The answer refusing ``request``, or ``None`` when it may read the metrics."""
    token = os.environ.get(TOKEN_ENV, "").strip()
    if token:
        given = request.headers.get("Authorization", "")
        scheme, _, value = given.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip().encode(), token.encode()):
            response = HttpResponse("a bearer token is required\n", status=401, content_type="text/plain")
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
        return None
    allow = os.environ.get(ALLOW_ENV, "").strip() or DEFAULT_ALLOW
    if not _allowed(request.META.get("REMOTE_ADDR"), allow):
        return HttpResponse(
            f"not allowed from this address (set {TOKEN_ENV} or {ALLOW_ENV})\n",
            status=403,
            content_type="text/plain",
        )
    return None


@never_cache
@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    refused = refusal(request)
    if refused is not None:
        return refused
    body, content_type = metrics.exposition([DatabaseCollector()])
    return HttpResponse(body, content_type=content_type)
