"""Health checks for load balancers and orchestrators.

- ``GET /healthz`` -- *alive*: the process answers (200 ``{"status": "ok"}``). Nothing else is
  checked, so a database outage does not make an orchestrator restart healthy web processes.
- ``GET /readyz`` -- *ready to serve*: 200 when every check passes, 503 otherwise; the JSON body
  names each check, whether it passed and, when not, why (``failed`` lists the names):

  * ``database`` -- a query answers;
  * ``queue`` -- the work queue (SQLite file or Redis) answers;
  * ``workers`` -- at least one worker process beat within the live window
    (:mod:`sfacal.engine.heartbeat`);
  * ``encryption_key`` -- the key that encrypts stored secrets can be read and works.

Neither endpoint needs a sign-in, and neither says anything secret: the reasons are exception
class names and fixed sentences, never a connection string or a key.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from huey.contrib.djhuey import HUEY

from sfacal import config
from sfacal.directory import crypto
from sfacal.engine import heartbeat

__all__ = ["READY_CHECKS", "healthz", "readiness", "readyz"]


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return ""


def _queue() -> str:
    HUEY.pending_count()
    return ""


def _workers() -> str:
    live = heartbeat.live_workers()
    if live:
        return ""
    seconds = int(heartbeat.live_window().total_seconds())
    return f"no worker process has reported in the last {seconds} s: start `sfacal worker`"


def _encryption_key() -> str:
    if not os.environ.get("SFACAL_SECRET_KEY", "").strip():
        path = config.data_dir() / crypto.KEY_FILE_NAME
        if not os.access(path, os.R_OK):
            return f"the key file {crypto.KEY_FILE_NAME} in the data directory cannot be read"
    if crypto.decrypt_text(crypto.encrypt_text("readyz")) != "readyz":
        return "the encryption key does not decrypt what it encrypted"
    return ""


READY_CHECKS: dict[str, Callable[[], str]] = {
    "database": _database,
    "queue": _queue,
    "workers": _workers,
    "encryption_key": _encryption_key,
}


def readiness() -> dict[str, object]:
    """Run every check; the body of ``/readyz``."""
    checks: dict[str, dict[str, object]] = {}
    for name, check in READY_CHECKS.items():
        try:
            problem = check()
        except Exception as exc:
            problem = f"{type(exc).__name__}"
        checks[name] = {"ok": not problem, **({"detail": problem} if problem else {})}
    failed = [name for name, result in checks.items() if not result["ok"]]
    return {"status": "fail" if failed else "ok", "failed": failed, "checks": checks}


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    body = readiness()
    response = JsonResponse(body, status=503 if body["failed"] else 200)
    # A load balancer asks every few seconds: a 503 here is an answer, not a server error to log.
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response
