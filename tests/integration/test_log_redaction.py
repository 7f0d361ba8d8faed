"""No token or secret in any log line, at DEBUG, through every error path (issue 14, item 2), and an
expected refusal is one line without a traceback (item 11).

``sfacal serve`` (web server, access log and worker in one process) runs with
``SFACAL_LOG_LEVEL=DEBUG`` against the Microsoft 365 and JUST.SFA emulators, with a test-only
middleware that fails on demand (:mod:`tests.integration.failing_settings`). A valid webhook goes all
the way to a calendar; then bad webhook bodies, wrong tokens and secrets, push-API refusals and
failures, invitation links, sign-in failures, CSRF failures, refused and missing pages and the
screens that show new tokens; then ``sfacal check --connections`` at DEBUG. The complete output of
both is searched for every token and secret the test created or learned.
"""

from __future__ import annotations

import json
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sfacal.emulators.m365 import EmulatorHandle
from tests.integration.conftest import m365_settings, new_tenant
from tests.integration.stack import Stack, free_port, migrated_stack, wait_for
from tests.sources.justsfa.conftest import config_for
from tests.ui.conftest import make_pfx

TENANT = "logs"
HOOK_HEADER = "X-Hook-Secret"
SETUP = """
from datetime import datetime, timezone as tz
from django.contrib.auth import get_user_model
from sfacal.web.accounts.invitations import create_account, invitation_path
from sfacal.directory.companies.models import CompanySettings, Membership, Role
from sfacal.directory.companies.provisioning import ensure_company
from sfacal.directory.connections.models import ApiToken, SourceConnection
from sfacal.directory.employees.models import Employee
cfg = json.loads({cfg!r})
c = ensure_company("acme", "ACME")
cs = CompanySettings.objects.get(company=c)
for key, value in cfg["m365"].items():
    setattr(cs, key, value)
cs.save()
hook = SourceConnection.objects.create(company=c, kind="justsfa", config=cfg["source"],
    api_key=cfg["api_key"], webhook_header_name=cfg["hook_header"], webhook_header_value=cfg["hook_secret"])
SourceConnection.objects.create(company=c, kind="push", callback_url="https://127.0.0.1:9/callback",
    callback_secret=cfg["callback_secret"])
_row, api_token = ApiToken.issue(c, "SFA")
Employee.objects.create(company=c, login_id="yamada", state="on", user_id_mode="explicit",
    user_id=cfg["mailbox"], sync_start=datetime(2020, 1, 1, tzinfo=tz.utc))
users = get_user_model().objects
for name, role in (("admin", Role.COMPANY_ADMIN), ("taro", Role.EMPLOYEE)):
    Membership.objects.create(user=users.create_user(name, password=cfg["password"]), company=c, role=role)
invited = create_account(c, "hanako")
beta = ensure_company("beta", "BETA")
bs = CompanySettings.objects.get(company=beta)
for key, value in cfg["m365"].items():
    setattr(bs, key, value)
bs.auth_method = "certificate"
bs.client_secret = ""
bs.certificate_pfx = bytes.fromhex(cfg["pfx"])
bs.certificate_password = cfg["pfx_password"]
bs.save()
result = {{"webhook_token": hook.webhook_token, "api_token": api_token, "invitation": invitation_path(invited)}}
"""
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} ")
REFUSALS = re.compile(
    r" (Forbidden|Unauthorized|Not Found|Gone|Bad Request|Method Not Allowed|Too Many Requests"
    r"|Unprocessable Content|Unprocessable Entity)\b"
)


@pytest.fixture
def stack(tmp_path: Path, m365: EmulatorHandle) -> Iterator[Stack]:
    env = {
        "SFACAL_CA_BUNDLE": str(m365.ca_pem),
        "SFACAL_LOG_LEVEL": "DEBUG",
        "DJANGO_SETTINGS_MODULE": "tests.integration.failing_settings",
    }
    with migrated_stack(tmp_path / "data", env) as s:
        yield s


def serve(stack: Stack) -> str:
    port = free_port()
    stack.start("serve", "serve", "--port", str(port), "--workers", "2")
    url = f"http://127.0.0.1:{port}"
    wait_for(lambda: _answers(url), 60, what="sfacal serve")
    stack.web_url = url
    return url


def _answers(url: str) -> bool:
    try:
        httpx.get(url + "/healthz", timeout=1, trust_env=False)
    except httpx.HTTPError:
        return False
    return True


def sign_in(web: str, name: str, password: str) -> httpx.Client:
    client = httpx.Client(base_url=web, trust_env=False, timeout=30)
    client.get("/accounts/signin/")
    csrf = client.cookies["csrftoken"]
    client.post(
        "/accounts/signin/", data={"csrfmiddlewaretoken": csrf, "username": name, "password": password}
    )
    return client


def post_form(client: httpx.Client, path: str, data: dict[str, str]) -> httpx.Response:
    return client.post(path, data={"csrfmiddlewaretoken": client.cookies["csrftoken"], **data})


def test_no_secret_reaches_any_log_line_and_refusals_are_one_line(
    stack: Stack, m365: EmulatorHandle, justsfa: Any
) -> None:
    tenant = new_tenant(m365)
    mailbox = tenant.mailbox("yamada")
    s = justsfa.control.setup_schedule(TENANT)
    pfx_password = "pfx-" + secrets.token_urlsafe(12)
    pfx, _thumbprint = make_pfx(pfx_password)
    cfg = {
        "m365": m365_settings(tenant),
        "source": config_for(justsfa, s),
        "api_key": s.api_key,
        "hook_header": HOOK_HEADER,
        "hook_secret": "hook-" + secrets.token_urlsafe(16),
        "callback_secret": "callback-" + secrets.token_urlsafe(16),
        "mailbox": mailbox,
        "password": "pw-" + secrets.token_urlsafe(12),
        "pfx": pfx.hex(),
        "pfx_password": pfx_password,
    }
    made = stack.query(SETUP.format(cfg=json.dumps(cfg)))
    token, api_token, invitation = made["webhook_token"], made["api_token"], made["invitation"]
    invitation_token = invitation.rstrip("/").rsplit("/", 1)[1]
    wrong_api_token = "sfa_" + secrets.token_urlsafe(30)
    web = serve(stack)
    hook = f"/hooks/justsfa/{token}"
    headers = {HOOK_HEADER: cfg["hook_secret"]}

    # the valid path, webhook to calendar, through the worker
    justsfa.control.add_webhook(TENANT, s.table_id, web + hook, headers=headers)
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
        },
    )
    wait_for(lambda: tenant.events(mailbox), 60, what="the event in the calendar")

    http = httpx.Client(base_url=web, trust_env=False, timeout=60)
    answers = [
        # webhook: bad bodies, wrong secret, wrong method, junk, an unhandled exception, wrong token
        http.post(hook, content=b"{", headers=headers),
        http.post(hook, json=[1], headers=headers),
        http.post(hook, json={"type": "ADD_RECORD"}, headers=headers),
        http.post(hook, json={"type": "ADD_RECORD"}, headers={HOOK_HEADER: "wrong"}),
        http.post(hook, content=b'{"type": "ADD_RECORD", "recordId": "\\ud800"}', headers=headers),
        http.post(hook, content=b"[" * 100_000, headers=headers),
        http.get(hook),
        http.post(hook + "/", json={}, headers={**headers, "X-Test-Fail": "1"}),
        http.post("/hooks/justsfa/" + secrets.token_urlsafe(32), json={}),
        # push API: a wrong token, a bad body, an unhandled exception
        http.get("/api/v1/schedules/x", headers={"Authorization": f"Bearer {wrong_api_token}"}),
        http.put("/api/v1/schedules/x", json={"kind": 1}, headers={"Authorization": f"Bearer {api_token}"}),
        http.put(
            "/api/v1/schedules/x",
            json={},
            headers={"Authorization": f"Bearer {api_token}", "X-Test-Fail": "1"},
        ),
        # invitation links: valid, failing, wrong
        http.get(invitation),
        http.get(invitation, headers={"X-Test-Fail": "1"}),
        http.get(invitation.rsplit("/", 2)[0] + "/wrong-token/"),
        # no CSRF token, a page that does not exist
        http.post("/accounts/signin/", data={"username": "admin", "password": cfg["password"]}),
        http.get("/nothing-here/"),
    ]
    statuses = [r.status_code for r in answers]
    assert 500 in statuses and 404 in statuses and 401 in statuses and 403 in statuses, statuses

    wrong = sign_in(web, "admin", "not-" + cfg["password"])
    employee = sign_in(web, "taro", cfg["password"])
    assert employee.get("/settings/").status_code == 403
    admin = sign_in(web, "admin", cfg["password"])
    session_key = admin.cookies["sessionid"]
    page = post_form(admin, "/api-tokens/", {"name": "second"}).text
    new_api_token = re.search(r"sfa_[A-Za-z0-9_-]{20,}", page).group(0)
    post_form(admin, "/justsfa/webhook/regenerate/", {})
    new_token = re.search(r"/hooks/justsfa/([A-Za-z0-9_-]{16,})", admin.get("/justsfa/").text).group(1)
    assert new_token != token
    for client in (http, wrong, employee, admin):
        client.close()
    time.sleep(1)  # the worker's and the access log's last lines
    stack.kill("serve", sig=15)

    check = subprocess.run(
        [sys.executable, "-m", "sfacal.cli", "check", "--connections"],
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    served = (stack.data_dir / "serve.log").read_text(errors="replace")
    output = served + check.stdout + check.stderr

    found = {
        name: value
        for name, value in {
            "webhook token": token,
            "regenerated webhook token": new_token,
            "API token": api_token,
            "new API token": new_api_token,
            "wrong API token": wrong_api_token,
            "webhook secret header": cfg["hook_secret"],
            "JUST.SFA API key": cfg["api_key"],
            "client secret": cfg["m365"]["client_secret"],
            "callback secret": cfg["callback_secret"],
            "pfx password": pfx_password,
            "invitation token": invitation_token,
            "sign-in password": cfg["password"],
            "session key": session_key,
        }.items()
        if value in output
    }
    assert found == {}, [line for line in output.splitlines() if any(v in line for v in found.values())][:5]
    # ...in a run that did log those paths, at DEBUG, with tracebacks, and checked both companies
    assert "/hooks/justsfa/***" in served and "DEBUG" in served  # the run logged what it should
    assert "Internal Server Error" in served and "InjectedFailure" in served
    assert "Company beta" in check.stdout  # the certificate company was checked

    # every expected refusal is one line: the next line starts a new record
    lines = served.splitlines()
    refusals = [i for i, line in enumerate(lines) if TIMESTAMP.match(line) and REFUSALS.search(line)]
    assert any("Forbidden (Permission denied)" in lines[i] for i in refusals)
    for i in refusals:
        assert i + 1 == len(lines) or TIMESTAMP.match(lines[i + 1]) or not lines[i + 1].strip(), lines[
            i : i + 3
        ]
