"""Every metric family moves when its work happens, summed over processes; /metrics is guarded
(sfacal.net.metrics, sfacal.web.metrics)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.test import Client
from django.utils import timezone

from sfacal.calendars.msgraph.client import BatchItem
from sfacal.directory.companies.provisioning import ensure_company
from sfacal.directory.employees.models import Employee
from sfacal.engine import heartbeat, tasks
from sfacal.engine.context import load_context
from sfacal.engine.loglines import insert_log_lines, log_line
from sfacal.engine.models import InboxEntry, InboxState, WorkerHeartbeat
from sfacal.net import metrics
from tests.calendars.test_graph_unit import _body, _run
from tests.ops.promtext import samples, value

ROOT = Path(__file__).resolve().parents[2]
GRAPH = "sfacal_graph_requests_total"


def delta(before: dict[Any, float], after: dict[Any, float], name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def test_graph_requests_by_outcome_throttled_and_retried() -> None:
    def handler(request: httpx.Request, n: int) -> httpx.Response:
        if n < 3:
            return httpx.Response(429, headers={"Retry-After": "1"}, json=_body("ApplicationThrottled"))
        if n == 3:
            return httpx.Response(404, json=_body("ErrorItemNotFound"))
        return httpx.Response(200, json={"value": []})

    before = samples()

    async def scenario(cal: Any, c: Any) -> Any:
        await c.request("GET", "/users/a/events/1", mailbox="a", accept=(404,))
        return await c.request("GET", "/users/a/calendars", mailbox="a")

    _run(handler, scenario)
    after = samples()
    assert delta(before, after, GRAPH, outcome="throttled") == 2
    assert delta(before, after, GRAPH, outcome="retried") == 2
    assert delta(before, after, GRAPH, outcome="client_error") == 1  # a 404 the caller expected
    assert delta(before, after, GRAPH, outcome="ok") == 1


def test_graph_batch_items_throttled_inside_a_batch_are_counted_and_retried() -> None:
    def handler(request: httpx.Request, n: int) -> httpx.Response:
        if n == 1:
            return httpx.Response(
                200,
                json={
                    "responses": [
                        {"id": "1", "status": 201, "body": {"id": "e1"}},
                        {"id": "2", "status": 429, "headers": {"Retry-After": "1"}, "body": _body("TooMany")},
                        {"id": "3", "status": 503, "body": _body("ServiceUnavailable")},
                    ]
                },
            )
        return httpx.Response(
            200,
            json={
                "responses": [{"id": "2", "status": 201, "body": {}}, {"id": "3", "status": 201, "body": {}}]
            },
        )

    items = [BatchItem("POST", "/users/a/events", body={"subject": str(i)}) for i in range(3)]
    before = samples()
    _run(handler, lambda cal, c: c.batch("a", items))
    after = samples()
    assert delta(before, after, GRAPH, outcome="throttled") == 1
    assert delta(before, after, GRAPH, outcome="server_error") == 1
    assert delta(before, after, GRAPH, outcome="retried") == 2
    assert delta(before, after, GRAPH, outcome="ok") == 2 + 3  # two $batch POSTs, three items


def test_graph_network_failures_are_counted() -> None:
    def reset(request: httpx.Request, n: int) -> httpx.Response:
        if n == 1:
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
        return httpx.Response(204)

    before = samples()
    _run(reset, lambda cal, c: c.request("DELETE", "/users/a/events/1", mailbox="a"))
    after = samples()
    assert delta(before, after, GRAPH, outcome="network_error") == 1
    assert delta(before, after, GRAPH, outcome="retried") == 1


@pytest.mark.django_db
def test_sync_failures_by_error_code_and_pass_durations() -> None:
    company = ensure_company("acme", "ACME")
    ctx = load_context(company.pk)
    from sfacal.core.errors import AccessDeniedError, MailboxNotFoundError

    before = samples()
    insert_log_lines(
        [
            log_line(
                ctx, trigger="webhook", operation="create", result="failure", error=AccessDeniedError("x")
            ),
            log_line(
                ctx, trigger="webhook", operation="create", result="failure", error=AccessDeniedError("y")
            ),
            log_line(
                ctx, trigger="webhook", operation="update", result="failure", error=MailboxNotFoundError("z")
            ),
            log_line(ctx, trigger="webhook", operation="create", result="success"),
        ]
    )
    tasks.run_batch.call_local(company.pk)
    tasks.process_company.call_local(company.pk)
    after = samples()
    assert delta(before, after, "sfacal_sync_failures_total", code="access_denied") == 2
    assert delta(before, after, "sfacal_sync_failures_total", code="mailbox_not_found") == 1
    assert delta(before, after, "sfacal_pass_duration_seconds_count", kind="batch") == 1
    assert delta(before, after, "sfacal_pass_duration_seconds_count", kind="inbox") == 1


def test_counters_of_every_process_are_summed() -> None:
    """A second process (a worker) counts into the same directory; one exposition adds both."""
    before = samples()
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"}
    code = "from sfacal.net import metrics\nmetrics.count_sfa_request('justsfa', 'throttled')\n"
    for _ in range(2):
        subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=60)
    metrics.count_sfa_request("justsfa", "throttled")
    after = samples()
    assert delta(before, after, "sfacal_sfa_requests_total", source="justsfa", outcome="throttled") == 3
    assert len(list(metrics.metrics_dir().glob("counter_*.db"))) >= 3


def test_a_metrics_directory_that_cannot_be_used_turns_counting_off(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "file"),
    }
    (tmp_path / "file").write_text("not a directory")
    code = "from sfacal.net import metrics\nmetrics.count_graph_request('ok')\nprint('went on')\n"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, timeout=60)
    assert done.returncode == 0 and b"went on" in done.stdout
    assert b"metrics are off" in done.stderr


@pytest.mark.django_db
def test_database_gauges_inbox_workers_backfill(client: Client) -> None:
    company = ensure_company("acme", "ACME")
    ensure_company("quiet", "Quiet")
    now = timezone.now()
    for i in range(3):
        InboxEntry.objects.create(
            company=company, source="push", record_id=str(i), trigger="push", content_hash="h"
        )
    InboxEntry.objects.filter(record_id="0").update(received_at=now - timedelta(seconds=120))
    InboxEntry.objects.create(
        company=company,
        source="push",
        record_id="d",
        trigger="push",
        content_hash="h",
        state=InboxState.DEFERRED,
    )
    InboxEntry.objects.create(
        company=company, source="push", record_id="x", trigger="push", content_hash="h", state=InboxState.DONE
    )
    heartbeat.beat()
    WorkerHeartbeat.objects.create(
        worker="dead", host="h", pid=1, started_at=now, seen_at=now - timedelta(hours=1)
    )
    Employee.objects.create(
        company=company, login_id="taro", backfill_total=40, backfill_done=15, backfill_wanted_at=now
    )
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    got = samples(response.content.decode())
    assert value(got, "sfacal_inbox_depth", company="acme", state="pending") == 3
    assert value(got, "sfacal_inbox_depth", company="acme", state="deferred") == 1
    assert value(got, "sfacal_inbox_depth", company="quiet", state="pending") == 0
    assert 119 <= value(got, "sfacal_inbox_oldest_pending_age_seconds", company="acme") < 200
    assert value(got, "sfacal_workers_live") == 1
    assert value(got, "sfacal_worker_heartbeat_age_seconds", worker="dead") >= 3600
    assert value(got, "sfacal_backfills_running", company="acme") == 1
    assert value(got, "sfacal_backfill_items_total", company="acme") == 40
    assert value(got, "sfacal_backfill_items_done", company="acme") == 15
    assert ("sfacal_queue_pending", frozenset()) in got


@pytest.mark.django_db
def test_metrics_need_the_token_when_one_is_set(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SFACAL_METRICS_TOKEN", "m-token-123")
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    refused = client.get("/metrics", HTTP_AUTHORIZATION="Basic m-token-123")
    assert refused.status_code == 401 and refused["WWW-Authenticate"].startswith("Bearer")
    ok = client.get("/metrics", HTTP_AUTHORIZATION="Bearer m-token-123", REMOTE_ADDR="203.0.113.9")
    assert ok.status_code == 200 and b"sfacal_workers_live" in ok.content


@pytest.mark.django_db
def test_metrics_without_a_token_answer_allowed_addresses_only(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SFACAL_METRICS_TOKEN", raising=False)
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="::1").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 403
    monkeypatch.setenv("SFACAL_METRICS_ALLOW", "10.0.0.0/8, bogus")
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403


def test_each_process_files_are_private(tmp_path: Path) -> None:
    """A process started with a loose umask still writes its counters readable by its user only."""
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}", "PROMETHEUS_MULTIPROC_DIR": ""}
    env["SFACAL_DATA_DIR"] = str(tmp_path / "data")
    code = "import os\nos.umask(0o022)\nfrom sfacal.net import metrics\nmetrics.observe_pass('inbox', 1)\n"
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=60)
    folder = tmp_path / "data" / "metrics"
    assert folder.stat().st_mode & 0o777 == 0o700
    files = list(folder.iterdir())
    assert {f.name.split("_")[0] for f in files} == {"counter", "histogram"}
    assert all(f.stat().st_mode & 0o777 == 0o600 for f in files)
