"""Operating the real service: ``sfacal web`` and ``sfacal worker`` processes against the emulators,
watched the way an operator watches them -- ``/metrics`` scraped during the run (Graph throttling,
retries, passes, inbox, workers), ``/readyz`` failing without a live worker and
passing with one, and JSON logs tying a webhook request to the job the worker ran for it."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sfacal.emulators.m365 import EmulatorHandle
from tests.integration.conftest import new_tenant
from tests.integration.stack import Stack, migrated_stack, wait_for
from tests.integration.test_e2e_justsfa import SETUP
from tests.ops.promtext import samples, value

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

TENANT = "opsrun"
TOKEN = "metrics-token-0123456789"


@pytest.fixture
def stack(tmp_path: Path, m365: EmulatorHandle) -> Iterator[Stack]:
    env = {
        "SFACAL_CA_BUNDLE": str(m365.ca_pem),
        "SFACAL_LEASE_SECONDS": "5",
        "SFACAL_HEARTBEAT_SECONDS": "0.5",
        "SFACAL_METRICS_TOKEN": TOKEN,
        "SFACAL_LOG_FORMAT": "json",
        "SFACAL_LOG_LEVEL": "DEBUG",
    }
    with migrated_stack(tmp_path / "data", env) as s:
        yield s


def scrape(web: str) -> dict[Any, float]:
    response = httpx.get(
        f"{web}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10, trust_env=False
    )
    assert response.status_code == 200, response.text
    return samples(response.text)


def ready(web: str) -> httpx.Response:
    return httpx.get(f"{web}/readyz", timeout=10, trust_env=False)


def json_lines(path: Path) -> list[dict[str, Any]]:
    out = []
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            out.append(json.loads(line))
    return out


def test_metrics_readiness_and_json_logs_of_a_running_stack(
    stack: Stack, m365: EmulatorHandle, justsfa: Any
) -> None:
    tenant = new_tenant(m365)
    yamada = tenant.mailbox("yamada")
    s = justsfa.control.setup_schedule(TENANT)
    source = {
        "tenant": s.tenant,
        "base_url": justsfa.tenant_url(s.tenant),
        "table": s.table_id,
        "panel": s.panel_id,
        "filter": s.filter_id,
        "schedule_field": s.schedule_field,
        "title_field": s.title_field,
        "location_field": s.location_field,
        "content_field": s.content_field,
        "key_field": s.key_field,
        "status_field": s.status_field,
        "kind_field": s.kind_field,
        "purpose_field": s.purpose_field,
        "business_field": s.business_field,
        "customer_field": s.customer_field,
        "address_field": s.address_field,
    }
    cfg = {
        "client_id": tenant.app.client_id,
        "secret": tenant.app.secret,
        "token_endpoint": m365.token_url(tenant.domain),
        "graph": m365.graph_url,
        "domain": tenant.domain,
        "source": source,
        "api_key": s.api_key,
        "people": {"yamada": yamada},
    }
    m365_settings = (
        "CompanySettings.objects.filter(company=c).update(sync_enabled=True, write_to_calendar=True,\n"
        "    client_id=cfg['client_id'], auth_method='secret', token_endpoint=cfg['token_endpoint'],\n"
        "    graph_base_url=cfg['graph'], domain=cfg['domain'])\n"
        "_cs = CompanySettings.objects.get(company=c); _cs.client_secret = cfg['secret']; _cs.save()"
    )
    token = stack.query(SETUP.format(cfg=json.dumps(cfg), destination=m365_settings))
    web = stack.start_web()

    # no worker yet: not ready, and the body says why
    first = ready(web)
    assert first.status_code == 503 and first.json()["failed"] == ["workers"]
    assert httpx.get(f"{web}/metrics", timeout=10, trust_env=False).status_code == 401

    stack.start_worker()
    wait_for(lambda: ready(web).status_code == 200, 60, what="/readyz with a live worker")
    assert value(scrape(web), "sfacal_workers_live") == 1

    justsfa.control.add_webhook(TENANT, s.table_id, f"{web}/hooks/justsfa/{token}")
    m365.control.set_knobs(failure_rate_429=1.0, failure_retry_after_s=1)
    try:
        justsfa.control.create_record(
            TENANT,
            s.table_id,
            {
                s.schedule_field: s.schedule_value(
                    "2030-03-10T10:00+09:00", "2030-03-10T11:00+09:00", ["yamada"]
                ),
                s.status_field: "予定",
                s.kind_field: "商談",
                s.purpose_field: "定期訪問",
                s.customer_field: "赤木電機",
                s.content_field: "初回訪問",
            },
        )
        # scraped while Graph throttles every request: throttled and retried move, the change waits
        during = wait_for(
            lambda: (
                m := scrape(web),
                value(m, "sfacal_graph_requests_total", outcome="throttled") >= 2
                and value(m, "sfacal_graph_requests_total", outcome="retried") >= 1
                and m,
            )[1],
            60,
            what="throttled Graph requests counted",
        )
        assert value(during, "sfacal_graph_requests_total", outcome="ok") == 0
    finally:
        m365.control.set_knobs(failure_rate_429=0.0)

    wait_for(lambda: len(tenant.events(yamada)) == 1, 90, what="the event written once Graph lets it through")
    after = wait_for(
        lambda: (
            m := scrape(web),
            value(m, "sfacal_inbox_depth", company="akagi", state="pending") == 0 and m,
        )[1],
        60,
        what="the inbox worked off",
    )
    assert value(after, "sfacal_graph_requests_total", outcome="ok") >= 1
    assert value(after, "sfacal_pass_duration_seconds_count", kind="inbox") >= 1
    assert value(after, "sfacal_inbox_oldest_pending_age_seconds", company="akagi") == 0
    assert value(after, "sfacal_workers_live") == 1

    # JSON logs: the webhook request's id is on the job the worker ran for it
    web_lines = json_lines(stack.data_dir / "web.log")
    worker_lines = json_lines(stack.data_dir / "worker.log")
    assert web_lines and worker_lines
    queued = [r for r in web_lines if r["message"].startswith("queued job") and r["request_id"]]
    assert queued, web_lines[-20:]
    job_ids = {r["message"].split()[2]: r["request_id"] for r in queued}
    ran = [r for r in worker_lines if r["job_id"] in job_ids]
    assert ran, worker_lines[-20:]
    assert all(r["request_id"] == job_ids[r["job_id"]] for r in ran)
    assert any(r["message"].startswith("job ") and "started" in r["message"] for r in ran)
    everything = (stack.data_dir / "web.log").read_text() + (stack.data_dir / "worker.log").read_text()
    for secret in (token, s.api_key, tenant.app.secret, TOKEN):
        assert secret not in everything

    # the worker dies: not ready within the live window
    stack.kill("worker", signal.SIGKILL)
    gone = wait_for(lambda: (r := ready(web)).status_code == 503 and r, 30, what="/readyz failing")
    assert gone.json()["failed"] == ["workers"]
    assert value(scrape(web), "sfacal_workers_live") == 0
