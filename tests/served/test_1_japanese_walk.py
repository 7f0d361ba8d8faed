"""The served product, walked through in Chromium by its three roles (issue 13).

``sfacal serve`` runs as a subprocess (real ASGI server, in-process worker, SQLite) against
``sfacal emulate m365`` and ``sfacal emulate justsfa`` over TLS. The super-administrator creates
the company and its administrator; the administrator sets the company up through the screens
(Microsoft 365 app by client secret and by certificate, masters, JUST.SFA connection and webhook,
user mapping, employees by form and CSV, API tokens, the push write-back) and invites an
employee, who signs in and sets up their own sync. Then schedules flow in through the JUST.SFA
webhook and the push API, and the walk checks where they land: in the emulated calendars, back
in JUST.SFA (write-back), at the push receiver, in the log screen. A representative part is then
walked in English by a second company whose data is ASCII.

Every action is a :meth:`~tests.served.walker.Screen.step`: no 5xx (nor an unasked-for 4xx), no
console error, no "unexpected error", no server traceback, no Japanese on English pages outside
user data, and a screenshot under ``artifacts/served/``. The last test fails on any URL pattern
of the product that the walk did not visit.

Steps run in file order and build on each other; each defect of issue 13 seen on the served
product has a test of its own here.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx
import pytest

from sfacal.emulators.justsfa import ScheduleSetup
from sfacal.emulators.m365 import AppInfo
from sfacal.sources.push.writeback import verify_signature
from tests.e2e.test_walk import PFX_PASSWORD, _cert_pem, _pfx
from tests.integration.stack import wait_for
from tests.served.conftest import PASSWORD, SUPER_ADMIN
from tests.served.harness import ServedStack
from tests.served.receiver import Receiver
from tests.served.steps import (
    DAY,
    JST,
    accept_invitation,
    assert_ok,
    at,
    check_the_link,
    classes,
    csv_bytes,
    events_with,
    fill_justsfa,
    fill_microsoft_365,
    justsfa_record,
    load_calendars_and_pick,
    path_of,
    starts,
)
from tests.served.walker import Screen, Walk

pytestmark = [pytest.mark.browser, pytest.mark.slow]
step = pytest.mark.walk_step

TENANT = "acme"  # the JUST.SFA tenant of the walk


@dataclass
class World:
    """What the walk made so far, shared by its steps."""

    domain: str = ""
    tenant_id: str = ""
    app: AppInfo | None = None
    pfx: Path | None = None
    thumbprint: str = ""
    setup: ScheduleSetup | None = None
    mailboxes: dict[str, str] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)  # invitation links by user name
    screens: dict[str, Screen] = field(default_factory=dict)
    token: str = ""
    webhook_url: str = ""
    header: tuple[str, str] = ("X-Sfacal-Hook", "hook-secret-2025")
    push_secret: str = ""
    employee_ids: dict[str, int] = field(default_factory=dict)
    records: dict[str, int] = field(default_factory=dict)
    en: dict[str, Any] = field(default_factory=dict)


@pytest.fixture(scope="module")
def world(stack: ServedStack, tmp_path_factory: pytest.TempPathFactory) -> World:
    """What exists outside sfacal before anyone signs in: the Microsoft 365 tenant with its app
    registration (a client secret and a certificate) and mailboxes, and the JUST.SFA tenant with
    its schedule table, API key and users."""
    assert stack.m365 is not None and stack.justsfa is not None
    w = World(domain="acme-served.onmicrosoft.com")
    w.pfx, w.thumbprint = _pfx(tmp_path_factory.mktemp("pfx"))
    tenant = stack.m365.create_tenant(w.domain)
    w.tenant_id = tenant.id
    w.app = stack.m365.create_app(tenant.id, secret=True, certificate_pem=_cert_pem(w.pfx))
    for login, calendars in (("taro", ["営業"]), ("hanako", []), ("jiro", ["会議"])):
        w.mailboxes[login] = stack.m365.create_user(tenant.id, f"{login}@{w.domain}", calendars=calendars).upn
    w.setup = stack.justsfa.setup_schedule(
        TENANT, users=[{"userId": "taro", "name": "山田太郎"}, {"userId": "hanako", "name": "佐藤花子"}]
    )
    return w


def token_requests(stack: ServedStack, client_id: str, since: float) -> list[dict[str, Any]]:
    assert stack.m365 is not None
    return [e for e in stack.m365.journal(since) if e.get("kind") == "token" and e.get("app") == client_id]


def now() -> float:
    return dt.datetime.now(dt.UTC).timestamp()


# -- the super-administrator ---------------------------------------------------------------------


@step
def test_super_admin_creates_the_company_and_its_administrator(walk: Walk, world: World) -> None:
    root = walk.screen("superadmin")
    world.screens["root"] = root
    page = root.page
    with root.step("signin-wrong-password", allow=[401]):
        root.goto("/accounts/signin/?next=/companies/")
        page.fill("#id_username", SUPER_ADMIN)
        page.fill("#id_password", "not-the-password")
        page.click("main button[type=submit].primary")
        page.wait_for_selector("main .notice.bad")
        assert "ユーザー名またはパスワードが正しくありません" in page.inner_text("main .notice.bad")
    with root.step("signin"):
        page.fill("#id_password", PASSWORD)
        with page.expect_navigation():
            page.click("main button[type=submit].primary")
        assert path_of(page) == "/companies/"
    with root.step("home-is-the-companies-list"):
        root.goto("/")
        assert path_of(page) == "/companies/"
    with root.step("new-company-form"):
        page.click("main a[href='/companies/new/']")
        page.wait_for_selector("#id_slug")
    with root.step("new-company-bad-time-zone"):
        page.fill("#id_slug", "acme")
        page.fill("#id_name", "ACME 株式会社")
        page.fill("#id_timezone", "Mars/Olympus")
        page.fill("#id_admin_username", "acme-admin")
        page.fill("#id_admin_email", "admin@acme.example")
        with page.expect_navigation():
            page.click("main button[type=submit].primary")
        assert (
            "タイム" in page.inner_text("main .notice.bad") or page.locator(".has-error #id_timezone").count()
        )
    with root.step("new-company-created"):
        page.fill("#id_timezone", "Asia/Tokyo")
        with page.expect_navigation():
            page.click("main button[type=submit].primary")
        link = page.input_value("#invitation-link")
        assert "/accounts/invitation/" in link
        world.links["acme-admin"] = link
    with root.step("copy-invitation-link"):
        page.click("button[data-copy-target='invitation-link']")
        wait_for(lambda: root.clipboard() == link, 5, what="the invitation link in the clipboard")
    with root.step("back-to-the-list"):
        with page.expect_navigation():
            page.click("main form a[href='/companies/']")
        row = page.locator("main tr", has_text="acme-admin")
        assert "ACME 株式会社" in row.inner_text()
    with root.step("signout"):
        root.sign_out()


def test_super_admin_lands_on_the_companies_list_after_sign_in(walk: Walk) -> None:
    """Issue 13 defect 3: a super-administrator signing in lands on the companies list, not on
    a 403 dashboard whose only link leads back to it."""
    root = walk.screen("superadmin-landing")
    with root.step("signin-lands-on-companies"):
        root.sign_in(SUPER_ADMIN, PASSWORD)
        assert path_of(root.page) == "/companies/"
    root.context.close()


# -- the company administrator: invitation, basic settings, masters ------------------------------


@step
def test_company_admin_accepts_the_invitation(walk: Walk, world: World) -> None:
    admin = walk.screen("admin")
    world.screens["admin"] = admin
    page = admin.page
    with admin.step("invitation-passwords-differ"):
        page.goto(world.links["acme-admin"])
        page.fill("#id_new_password1", PASSWORD)
        page.fill("#id_new_password2", PASSWORD + "x")
        with page.expect_navigation():
            page.click("main button[type=submit].primary")
        assert page.locator("main .errorlist").count()
    with admin.step("invitation-accepted"):
        accept_invitation(admin, world.links["acme-admin"])
        assert "ACME 株式会社" in page.inner_text("header")


@step
def test_company_settings_by_client_secret_then_certificate(
    walk: Walk, stack: ServedStack, world: World
) -> None:
    admin = world.screens["admin"]
    page = admin.page
    assert world.app is not None and world.pfx is not None
    with admin.step("settings-secret-save"):
        admin.goto("/settings/")
        fill_microsoft_365(page, stack, world.app.client_id, world.domain, world.app.secret)
        page.check("input[name=personal_settings_allowed][value='1']")
        page.check("input[name=write_to_calendar][value='1']")
        page.check("input[name=direction][value=two_way]")
        admin.htmx("#settings-form button[name=action][value=save]")
        page.wait_for_selector("#settings-form .notice.ok")
        assert world.app.secret not in page.content()
    since = now()
    with admin.step("settings-secret-save-and-test"):
        admin.htmx("#settings-form button[name=action][value=test]")
        assert_ok(page, "#connection-test-result")
    assert [e["status"] for e in token_requests(stack, world.app.client_id, since)] == [200]
    since = now()
    with admin.step("settings-certificate-save-and-test"):
        page.check("input[name=auth_method][value=certificate]")
        page.set_input_files("#id_certificate_file", str(world.pfx))
        page.fill("#id_certificate_password", PFX_PASSWORD)
        page.fill("#id_certificate_thumbprint", world.thumbprint)
        admin.htmx("#settings-form button[name=action][value=test]")
        assert_ok(page, "#connection-test-result")
        assert PFX_PASSWORD not in page.content()
    assert stack.m365 is not None
    assert [e["status"] for e in token_requests(stack, world.app.client_id, since)] == [200], [
        e for e in stack.m365.journal(since - 5)
    ]
    with admin.step("dashboard-connection-ok"):
        admin.goto("/dashboard/")
        assert page.locator("main .badge.ok").count() >= 1


@step
def test_masters(walk: Walk, world: World) -> None:
    """C9: the company starts with the default masters; the administrator adds, renames, flags,
    reorders and deletes entries."""
    admin = world.screens["admin"]
    page = admin.page
    with admin.step("masters-open"):
        page.click("nav a[href='/masters/']")
        assert page.locator("#purposes tbody input[value='定期訪問']").count() == 1  # a default
    for name, counted in (("展示会", True), ("技術相談", False), ("削除する目的", True)):
        with admin.step("masters-add-purpose"):
            page.fill("#id_p-name", name)
            page.set_checked("#id_p-counted_as_visit", counted)
            with page.expect_navigation():
                page.click("#purposes form[action='/masters/'] button.primary")
            assert page.locator(f"#purposes tbody input[value='{name}']").count() == 1
    with admin.step("masters-add-a-purpose-twice"):
        page.fill("#id_p-name", "定期訪問")
        with page.expect_navigation():
            page.click("#purposes form[action='/masters/'] button.primary")
        assert page.locator("#purposes .errorlist").count()
    with admin.step("masters-add-business"):
        admin.goto("/masters/")
        page.fill("#id_b-name", "展示会準備")
        with page.expect_navigation():
            page.click("#business-names form[action='/masters/'] button.primary")
        assert page.locator("#business-names tbody input[value='展示会準備']").count() == 1
    with admin.step("masters-rename"):
        row = page.locator("#business-names form.filters", has=page.locator("input[value='展示会準備']"))
        row.locator("input[name=name]").fill("展示会設営")
        with page.expect_navigation():
            row.locator("button[value=save]").click()
        assert page.locator("#business-names tbody input[value='展示会設営']").count() == 1
    with admin.step("masters-move-down"):
        with page.expect_navigation():
            page.locator("#purposes tbody tr").first.locator("button[value=down]").click()
        assert page.locator("#purposes tbody tr input[name=name]").nth(1).input_value() == "定期訪問"
    with admin.step("masters-move-up"):
        with page.expect_navigation():
            page.locator("#purposes tbody tr").nth(1).locator("button[value=up]").click()
        assert page.locator("#purposes tbody tr input[name=name]").first.input_value() == "定期訪問"
    with admin.step("masters-flag-and-save"):
        row = page.locator("#purposes form.filters", has=page.locator("input[value='技術相談']"))
        row.locator("input[name=counted_as_visit]").check()
        with page.expect_navigation():
            row.locator("button[value=save]").click()
        row = page.locator("#purposes form.filters", has=page.locator("input[value='技術相談']"))
        assert row.locator("input[name=counted_as_visit]").is_checked()
    with admin.step("masters-delete-business"):
        row = page.locator("#business-names tbody tr", has=page.locator("input[value='展示会設営']"))
        with page.expect_navigation():
            row.locator("button[value=delete]").click()
        assert page.locator("#business-names tbody input[value='展示会設営']").count() == 0
    with admin.step("masters-delete"):
        row = page.locator("#purposes tbody tr", has=page.locator("input[value='削除する目的']"))
        with page.expect_navigation():
            row.locator("button[value=delete]").click()
        assert page.locator("#purposes tbody input[value='削除する目的']").count() == 0
        assert admin.dialogs, "the delete button asks for confirmation"


# -- JUST.SFA: connection (J1), webhook (J2), user mapping (J3) ----------------------------------


@step
def test_justsfa_connection_and_webhook(
    walk: Walk, stack: ServedStack, world: World, http: httpx.Client
) -> None:
    admin = world.screens["admin"]
    page = admin.page
    setup = world.setup
    assert setup is not None and stack.justsfa is not None
    with admin.step("justsfa-open"):
        page.click("nav a[href='/justsfa/']")
        page.wait_for_selector("#webhook-url")
        old_url = page.input_value("#webhook-url")
    with admin.step("justsfa-how-to-set-the-webhook"):
        page.click("main section details > summary")
        assert page.locator("main section details ol").is_visible()
    with admin.step("justsfa-new-webhook-url"):
        with page.expect_navigation():
            page.click("form[action='/justsfa/webhook/regenerate/'] button")
        world.webhook_url = page.input_value("#webhook-url")
        assert world.webhook_url != old_url and world.webhook_url.startswith(
            stack.web_url + "/hooks/justsfa/"
        )
        assert admin.dialogs[-1], "making a new webhook URL asks for confirmation"
    with admin.step("justsfa-copy-webhook-url"):
        page.click("button[data-copy-target='webhook-url']")
        wait_for(lambda: admin.clipboard() == world.webhook_url, 5, what="the webhook URL in the clipboard")
    with admin.step("justsfa-save"):
        fill_justsfa(page, setup, TENANT, f"{stack.justsfa_url}/_tenant/{TENANT}")
        page.fill("#id_webhook_header_name", world.header[0])
        page.fill("#id_webhook_header_value", world.header[1])
        admin.htmx("#justsfa-form button[name=action][value=save]")
        assert "ok" in classes(page, "#justsfa-form .notice")
        assert setup.api_key not in page.content() and world.header[1] not in page.content()
    with admin.step("justsfa-wrong-panel"):
        page.fill("#id_panel", "panel_doesnotexist0001")
        admin.htmx("#justsfa-form button[name=action][value=test]")
        text = page.inner_text("#justsfa-test-result")
        assert "bad" in classes(page, "#justsfa-test-result") and "source_identifier_invalid" in text, text
        assert "panel_doesnotexist0001" in text
    since = len(stack.justsfa.journal(tenant=TENANT))
    with admin.step("justsfa-save-and-test"):
        page.fill("#id_panel", setup.panel_id)
        admin.htmx("#justsfa-form button[name=action][value=test]")
        assert_ok(page, "#justsfa-test-result")
    assert stack.justsfa.journal(tenant=TENANT)[since:], "the test reached the JUST.SFA emulator"

    # T1: write-back is proven on a scratch record before two-way may write anything to JUST.SFA.
    scratch = stack.justsfa.create_record(
        TENANT,
        setup.table_id,
        justsfa_record(setup, "テスト用", "定期訪問", (8, 9), ["taro"]),
        fire_webhooks=False,
    )["recordId"]
    with admin.step("justsfa-writeback-test-refused"):
        stack.justsfa.set_knobs(update_forms=["recordKey"])  # this tenant would refuse recordId items
        page.fill("#writeback-record", str(scratch))
        with page.expect_navigation():
            page.click("#justsfa-writeback form button[type=submit]")
        assert page.locator("#justsfa-writeback .badge.bad").count() == 1
        assert "UNSUPPORTED_UPDATE_FORM" in page.inner_text("#writeback-steps")
    with admin.step("justsfa-writeback-test-passed"):
        stack.justsfa.set_knobs(update_forms=["recordId", "recordKey"], update_status=204)
        page.fill("#writeback-record", str(scratch))
        with page.expect_navigation():
            page.click("#justsfa-writeback form button[type=submit]")
        assert page.locator("#justsfa-writeback .badge.ok").count() == 1
        assert page.locator("#writeback-steps tbody tr.ok").count() == 5
        stack.justsfa.set_knobs(update_status=200)
    assert (
        stack.justsfa.record(TENANT, setup.table_id, scratch)["record"][setup.content_field]
        == "テスト用: 定期訪問"
    )
    stack.justsfa.delete_record(TENANT, setup.table_id, scratch, fire_webhooks=False)
    with admin.step("justsfa-preview-of-the-first-records"):
        made = stack.justsfa.create_record(
            TENANT,
            setup.table_id,
            justsfa_record(setup, "見本商事", "定期訪問", (8, 9), ["taro"]),
            fire_webhooks=False,
        )["recordId"]
        admin.htmx("#justsfa-form button[name=action][value=test]")
        text = page.inner_text("#justsfa-preview")
        # Before the user mapping, taro is no employee yet: shown as unknown, before any calendar write.
        assert "見本商事" in text and "taro" in text and "定期訪問" in text and "不明" in text, text
        stack.justsfa.delete_record(TENANT, setup.table_id, made, fire_webhooks=False)

    # J2: the address goes into JUST.SFA's webhook settings, with the secret header.
    hook = stack.justsfa.add_webhook(
        TENANT, setup.table_id, world.webhook_url, headers=dict([world.header]), title="sfacal"
    )
    stack.justsfa.test_webhook(TENANT, setup.table_id, hook["webhookId"])
    (sent,) = stack.justsfa.wait_deliveries(1, tenant=TENANT)
    assert sent["state"] == "delivered", sent
    walk.visits.add("POST", world.webhook_url)
    # The old address stopped working; only POST is taken. (Without the secret header the new one
    # answers 401: see the last test of this module.)
    assert http.post(urlsplit(old_url).path, json={}).status_code == 404
    hook_path = urlsplit(world.webhook_url).path.rstrip("/")
    assert http.get(hook_path).status_code == 405
    assert http.get(hook_path + "/").status_code == 405  # the address with a trailing slash works too
    assert http.post("/hooks/justsfa/", json={}).status_code == 404
    assert http.post("/hooks/justsfa/not/a/token", json={}).status_code == 404


@step
def test_user_mapping(walk: Walk, world: World) -> None:
    admin = world.screens["admin"]
    page = admin.page
    rows = [("山田太郎", "taro", world.mailboxes["taro"]), ("佐藤花子", "hanako", world.mailboxes["hanako"])]
    with admin.step("mapping-open"):
        page.click("main a[href='/justsfa/users/']")
        page.wait_for_selector("#id_name-new")
    for name, user_id, mail in rows:
        with admin.step(f"mapping-test-{user_id}"):
            if not page.locator("#id_name-new").count():
                with page.expect_navigation():
                    page.click("main a[href^='/justsfa/users/?add=1']")
            page.fill("#id_name-new", name)
            page.fill("#id_external_user_id-new", user_id)
            page.fill("#id_mail_address-new", mail)
            admin.htmx("form.maprow:has(#id_name-new) button[name=action][value=test]")
            done = f"form.maprow:has(input[name=external_user_id][value='{user_id}']) .notice"
            assert "ok" in classes(page, done), page.inner_text(done)
    with admin.step("mapping-add-row"):
        with page.expect_navigation():
            page.click("main a[href^='/justsfa/users/?add=1']")
        assert page.locator("form.maprow").count() == 3
    with admin.step("mapping-test-a-mailbox-that-does-not-exist"):
        page.fill("#id_name-new", "誤った行")
        page.fill("#id_external_user_id-new", "nobody")
        page.fill("#id_mail_address-new", f"nobody@{world.domain}")
        admin.htmx("form.maprow:has(#id_name-new) button[name=action][value=test]")
        done = "form.maprow:has(input[name=external_user_id][value='nobody']) .notice"
        assert "bad" in classes(page, done) and f"nobody@{world.domain}" in page.inner_text(done)
    with admin.step("mapping-delete-row"):
        row = page.locator("form.maprow:has(input[name=external_user_id][value='nobody'])")
        row.locator("button[name=action][value=delete]").click()
        wait_for(lambda: page.locator("form.maprow").count() == 2, 10, what="the row gone")
        assert admin.dialogs[-1]
    with admin.step("mapping-rename-and-save"):
        row = page.locator("form.maprow:has(input[name=external_user_id][value='taro'])")
        row.locator("input[name=name]").fill("山田 太郎")
        admin.htmx(row.locator("button[name=action][value=save]"))
        assert page.locator("form.maprow:has(input[name=external_user_id][value='taro']) .ok-text").count()
    with admin.step("mapping-reload"):
        admin.goto("/justsfa/users/")
        assert page.locator("#mapping-rows form.maprow").count() == 2
        assert page.locator("#mapping-rows .badge.ok").count() == 2
        assert page.locator("input[value='山田 太郎']").count() == 1


# -- employees: form (E1–E5), CSV import (E6), bulk change, invitation (U1) -----------------------


def employee_rows(page: Any) -> list[str]:
    return [r.inner_text() for r in page.locator("main table tbody tr").all()]


CSV_PEOPLE = [[f"csv{i:02d}", f"取込{i:02d}", f"csv{i:02d}@acme.example", "連携しない"] for i in range(1, 31)]


@step
def test_employees(walk: Walk, stack: ServedStack, world: World, tmp_path: Path) -> None:
    admin = world.screens["admin"]
    page = admin.page
    with admin.step("employees-open"):
        page.click("nav a[href='/employees/']")
        page.wait_for_selector("main table")
        rows = employee_rows(page)
        assert any("taro" in r for r in rows) and any("hanako" in r for r in rows), rows
    with admin.step("employees-search"):
        page.fill("#q", "hanako")
        with page.expect_navigation():
            page.click("form[role=search] button")
        assert len(employee_rows(page)) == 1
    with admin.step("employees-filter-state"):
        page.fill("#q", "")
        page.select_option("#state-filter", "on")
        with page.expect_navigation():
            page.click("form[role=search] button")
        assert len(employee_rows(page)) == 2

    # A new employee by the form: the calendars come from the mailbox, then "check the link".
    with admin.step("employee-new-open"):
        with page.expect_navigation():
            page.click("main a[href='/employees/new/']")
    with admin.step("employee-new-load-calendars"):
        page.fill("#id_login_id", "jiro")
        page.fill("#id_name", "鈴木次郎")
        page.fill("#id_email", "jiro@acme.example")
        page.check("input[name=state][value=on]")
        page.check("input[name=user_id_mode][value=login_at_domain]")
        load_calendars_and_pick(admin, "#employee-form", "会議")
    with admin.step("employee-new-check-the-link"):
        check_the_link(admin, "#employee-form")
    with admin.step("employee-new-save-after-check"):
        admin.htmx("#employee-form button[name=action][value=save]")
        assert page.locator("#employee-form .notice.ok").count(), page.inner_text("#employee-form")

    # CSV import (E6): an unknown column is refused; 30 people in Shift_JIS, with accounts.
    with admin.step("import-open"):
        admin.goto("/employees/")
        with page.expect_navigation():
            page.click("main a[href='/employees/import/']")
    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv_bytes([["社員ログインID", "好きな色"], ["x1", "赤"]], "utf-8"))
    with admin.step("import-unknown-column"):
        page.set_input_files("#id_file", str(bad))
        with page.expect_navigation():
            page.click("main form[enctype] button.primary")
        assert "好きな色" in page.inner_text("main .errorlist")
    good = tmp_path / "employees-sjis.csv"
    good.write_bytes(csv_bytes([["社員ログインID", "氏名", "メールアドレス", "連携"], *CSV_PEOPLE], "cp932"))
    with admin.step("import-preview"):
        page.set_input_files("#id_file", str(good))
        page.check("#id_create_accounts")
        with page.expect_navigation():
            page.click("main form[enctype] button.primary")
        assert page.locator("main table tbody tr .badge.ok").count() == 30
    with admin.step("import-confirm"):
        with page.expect_navigation():
            page.click("main button[name=action][value=confirm]")
        links = page.locator("main table tbody tr").all()
        assert len(links) == 30 and "/accounts/invitation/" in links[0].inner_text()
    with admin.step("import-done-to-the-list"):
        with page.expect_navigation():
            page.click("main a.button[href='/employees/']")
        assert page.locator("nav.pager").count() == 1
    with admin.step("employees-next-page"):
        with page.expect_navigation():
            page.click("nav.pager a:last-child")
        assert "page=2" in page.url
    with admin.step("employees-previous-page"):
        with page.expect_navigation():
            page.click("nav.pager a")
        assert "page=1" in page.url
    with admin.step("employees-bulk-forbid"):
        page.fill("#q", "csv")
        with page.expect_navigation():
            page.click("form[role=search] button")
        page.check("input[data-select-all=ids]")
        assert page.locator("input[name=ids]:checked").count() == 25
        page.select_option("#bulk-state", "forbidden")
        with page.expect_navigation():
            page.click("form[action='/employees/bulk/'] fieldset button.primary")
        assert "25" in page.inner_text("main .notice")
        assert page.locator("main tbody .badge.forbidden").count() == 25

    # taro (made by the user mapping): calendars, check, save, invitation.
    with admin.step("employee-taro-open"):
        admin.goto("/employees/?q=taro")
        with page.expect_navigation():
            page.click("main tbody a:text-is('taro')")
        world.employee_ids["taro"] = int(path_of(page).strip("/").split("/")[-1])
    with admin.step("employee-taro-load-calendars"):
        load_calendars_and_pick(admin, "#employee-form", "営業")
    with admin.step("employee-taro-check-the-link"):
        check_the_link(admin, "#employee-form")
    with admin.step("employee-taro-save"):
        admin.htmx("#employee-form button[name=action][value=save]")
        assert page.locator("#employee-form .notice.ok").count()
    with admin.step("employee-taro-invite"):
        with page.expect_navigation():
            page.click("main form[action$='/invite/'] button")
        world.links["taro"] = page.input_value("#invitation-link")
    with admin.step("employee-taro-copy-invitation"):
        page.click("button[data-copy-target='invitation-link']")
        wait_for(lambda: admin.clipboard() == world.links["taro"], 5, what="the invitation in the clipboard")
    with admin.step("employee-taro-log-link"):
        with page.expect_navigation():
            page.click("main a[href^='/log/?employee=taro']")
        assert path_of(page) == "/log/"


@step
def test_csv_preview_refuses_an_invalid_mail_address(walk: Walk, world: World, tmp_path: Path) -> None:
    """E6 (issue 13 defect 10, first part): the preview marks a row whose mail address is "x"."""
    admin = world.screens["admin"]
    page = admin.page
    upload = tmp_path / "bad-mail.csv"
    upload.write_bytes(csv_bytes([["社員ログインID", "メールアドレス"], ["badmail", "x"]], "utf-8"))
    with admin.step("import-invalid-mail-address"):
        admin.goto("/employees/import/")
        page.set_input_files("#id_file", str(upload))
        with page.expect_navigation():
            page.click("main form[enctype] button.primary")
        assert page.locator("main table tbody tr .badge.bad").count() == 1
        assert page.locator("main button[name=action][value=confirm]").is_disabled()


def test_a_calendar_name_the_mailbox_does_not_have_is_refused_on_save(walk: Walk, world: World) -> None:
    """Issue 13 defect 2: saving 連携先カレンダー with a name the mailbox lacks is refused inline."""
    admin = world.screens["admin"]
    page = admin.page
    admin.goto("/employees/?q=jiro")
    with page.expect_navigation():
        page.click("main tbody a:text-is('jiro')")
    try:
        with admin.step("employee-missing-calendar-refused"):
            page.fill("#id_calendar_name", "存在しない予定表")
            admin.htmx("#employee-form button[name=action][value=save]")
            assert page.locator("#employee-form .notice.ok").count() == 0
            assert "会議" in page.inner_text("#employee-form .errorlist")
    finally:  # the walk goes on with jiro's calendar as it was
        admin.goto(path_of(page))
        if page.input_value("#id_calendar_name") != "会議":
            page.fill("#id_calendar_name", "会議")
            admin.htmx("#employee-form button[name=action][value=save]")


# -- push API tokens and the write-back callback -----------------------------------------------


@step
def test_api_tokens_and_push_write_back(walk: Walk, world: World, receiver: Receiver) -> None:
    admin = world.screens["admin"]
    page = admin.page
    with admin.step("tokens-open"):
        page.click("nav a[href='/api-tokens/']")
        page.wait_for_selector("#id_name")
    for name in ("古いトークン", "SFA連携"):
        with admin.step("tokens-create"):
            page.fill("#id_name", name)
            with page.expect_navigation():
                page.click("main form.panel button.primary")
            world.token = page.input_value("#new-token")
            assert world.token.startswith("sfa_")
    with admin.step("tokens-copy"):
        page.click("button[data-copy-target='new-token']")
        wait_for(lambda: admin.clipboard() == world.token, 5, what="the token in the clipboard")
    with admin.step("tokens-revoke"):
        row = page.locator("main tbody tr", has_text="古いトークン")
        with page.expect_navigation():
            row.locator("button.danger").click()
        assert page.locator("main tbody tr", has_text="古いトークン").locator(".badge.bad").count() == 1
        assert page.locator("main tbody tr", has_text="SFA連携").locator(".badge.ok").count() == 1
    with admin.step("tokens-api-documentation"):
        with page.expect_navigation():
            page.click("main a[href='/api/v1/docs']")
        page.wait_for_selector("#swagger-ui .information-container")
        assert "/api/v1/schedules/{source_id}" in page.inner_text("#swagger-ui")
    with admin.step("push-open"):
        admin.goto("/api-tokens/")
        with page.expect_navigation():
            page.click("main a[href='/push/']")
    with admin.step("push-save-with-a-new-secret"):
        page.fill("#id_callback_url", receiver.url)
        page.check("#id_generate_secret")
        admin.htmx("#push-form button[name=action][value=save]")
        world.push_secret = page.input_value("#new-secret")
        assert len(world.push_secret) >= 16
    with admin.step("push-copy-secret"):
        page.click("button[data-copy-target='new-secret']")
        wait_for(lambda: admin.clipboard() == world.push_secret, 5, what="the secret in the clipboard")
    with admin.step("push-test"):
        admin.htmx("#push-form button[name=action][value=test]")
        assert_ok(page, "#push-test-result")
    ping = receiver.wait(lambda d: d.json.get("type") == "ping")
    assert verify_signature(
        world.push_secret, ping.headers["x-sfacal-timestamp"], ping.body, ping.headers["x-sfacal-signature"]
    )
    with admin.step("push-back-to-tokens"):
        with page.expect_navigation():
            page.click("main a[href='/api-tokens/']")


# -- the employee: invitation, personal settings (P1–P4) ----------------------------------------


@step
def test_employee_signs_in_and_sets_up_their_sync(walk: Walk, world: World) -> None:
    taro = walk.screen("employee", phone=True)
    world.screens["taro"] = taro
    page = taro.page
    with taro.step("invitation-accepted"):
        accept_invitation(taro, world.links["taro"])
    with taro.step("invitation-used-twice", allow=[410]):
        page.goto(world.links["taro"])
        assert page.locator("main a[href='/accounts/signin/']").count() == 1
    with taro.step("personal-open"):
        taro.goto("/me/settings/")
        assert page.is_checked("input[name=sync][value='1']")
    with taro.step("personal-load-calendars"):
        load_calendars_and_pick(taro, "#personal-form", "営業")
    with taro.step("personal-check-the-link"):
        check_the_link(taro, "#personal-form")
    with taro.step("personal-exclude-and-save"):
        page.check("input[name=excluded_counted][value='情報提供']")
        taro.htmx("#personal-form button[name=action][value=save]")
        assert page.locator("#personal-form .notice.ok").count()
        assert page.is_checked("input[name=excluded_counted][value='情報提供']")
    with taro.step("company-settings-not-allowed", allow=[403]):
        taro.goto("/settings/", allow=[403])
        assert page.locator("main h1").count() == 1
    with taro.step("back-to-the-dashboard"):
        with page.expect_navigation():
            page.click("main a[href='/dashboard/']")


# -- schedules through the JUST.SFA webhook (J2, S1–S6, P3, T1) ----------------------------------


def company_id(stack: ServedStack, slug: str) -> int:
    return int(
        stack.query(
            f"from sfacal.directory.companies.models import Company\nresult = Company.objects.get(slug={slug!r}).pk"
        )
    )


def run_twoway(stack: ServedStack, cid: int) -> None:
    """Queue what the minute job queues for a two-way company; the served worker runs it."""
    stack.query(f"from sfacal.engine.tasks import run_twoway\nrun_twoway({cid})")


@step
def test_justsfa_schedules_land_move_and_disappear(walk: Walk, stack: ServedStack, world: World) -> None:
    setup = world.setup
    assert setup is not None and stack.justsfa is not None
    taro, hanako = world.mailboxes["taro"], world.mailboxes["hanako"]
    made = stack.justsfa.create_record(
        TENANT, setup.table_id, justsfa_record(setup, "赤木電機", "定期訪問", (10, 11), ["taro", "hanako"])
    )
    world.records["akagi"] = int(made["recordId"])
    stack.justsfa.create_record(
        TENANT, setup.table_id, justsfa_record(setup, "青木商事", "情報提供", (14, 15), ["taro", "hanako"])
    )
    wait_for(lambda: len(events_with(stack, taro, "赤木電機")) == 1, 30, what="taro's event")
    wait_for(lambda: len(events_with(stack, hanako, "青木商事")) == 1, 30, what="hanako's second event")
    (event,) = events_with(stack, taro, "赤木電機")
    assert event["subject"] == "赤木電機/定期訪問" and starts(event).hour == 10
    assert stack.m365 is not None
    assert events_with(stack, taro, "青木商事") == []  # P3: taro excludes 情報提供
    admin = world.screens["admin"]
    with admin.step("log-created-lines"):
        admin.goto("/log/")
        text = admin.page.inner_text("#log-rows")
        assert "赤木電機/定期訪問" in text and taro in text and "営業" in text

    moved = justsfa_record(setup, "赤木電機", "定期訪問", (13, 14), ["taro", "hanako"])
    stack.justsfa.update_record(TENANT, setup.table_id, world.records["akagi"], moved)
    wait_for(
        lambda: [starts(e).astimezone(JST).hour for e in events_with(stack, taro, "赤木電機")] == [13],
        30,
        what="taro's event moved to 13:00",
    )
    stack.justsfa.delete_record(TENANT, setup.table_id, world.records["akagi"])
    wait_for(lambda: not events_with(stack, taro, "赤木電機"), 30, what="taro's event removed")
    wait_for(lambda: not events_with(stack, hanako, "赤木電機"), 30, what="hanako's event removed")
    with admin.step("log-deleted-lines"):
        admin.goto("/log/?employee=taro")
        rows = [r.inner_text() for r in admin.page.locator("#log-rows tr").all()]
        for done in ("作成しました（連携）", "更新しました（連携）", "削除しました（SFAで削除）"):
            assert [r for r in rows if done in r and "営業" in r], (done, rows)


def test_log_lines_that_delete_name_the_schedule(world: World) -> None:
    """Issue 13 defect 5: 「削除しました（SFAで削除）」 names what was deleted."""
    admin = world.screens["admin"]
    with admin.step("log-delete-line-names-the-schedule"):
        admin.goto("/log/?employee=taro")
        rows = [r.inner_text() for r in admin.page.locator("#log-rows tr").all()]
        deleted = [r for r in rows if "削除しました" in r]
        assert deleted and all("赤木電機" in r for r in deleted), rows


@step
def test_a_calendar_edit_is_written_back_to_justsfa(stack: ServedStack, world: World) -> None:
    """T1: hanako (default calendar, read by Graph delta) moves a single-participant event in
    Outlook; the served worker writes the new time and subject back to the JUST.SFA record."""
    setup = world.setup
    assert setup is not None and stack.justsfa is not None and stack.m365 is not None
    hanako = world.mailboxes["hanako"]
    made = stack.justsfa.create_record(
        TENANT, setup.table_id, justsfa_record(setup, "黄木工業", "新規開拓", (9, 10), ["hanako"])
    )
    rid = int(made["recordId"])
    wait_for(lambda: events_with(stack, hanako, "黄木工業"), 30, what="hanako's event")
    cid = company_id(stack, "acme")
    run_twoway(stack, cid)  # the first read of the calendar: nothing edited yet
    wait_for(
        lambda: stack.query(
            "from sfacal.engine.models import DeltaState\n"
            f"result = DeltaState.objects.filter(company_id={cid}, employee__login_id='hanako')"
            ".exclude(delta_link='').exists()"
        ),
        30,
        what="hanako's calendar read once",
    )
    (event,) = events_with(stack, hanako, "黄木工業")
    day = DAY.isoformat()
    stack.m365.user_update_event(
        hanako,
        event["id"],
        {
            "subject": "黄木工業/新規開拓（延長）",
            "start": {"dateTime": f"{day}T11:00:00", "timeZone": "Tokyo Standard Time"},
            "end": {"dateTime": f"{day}T12:30:00", "timeZone": "Tokyo Standard Time"},
        },
    )
    run_twoway(stack, cid)

    justsfa = stack.justsfa

    def written_back() -> bool:
        record = justsfa.record(TENANT, setup.table_id, rid)["record"]
        period = record[setup.schedule_field][f"{setup.schedule_field}_period"]
        return dt.datetime.fromisoformat(period[0]) == dt.datetime.fromisoformat(at(11))

    wait_for(written_back, 60, what="the new time written back to JUST.SFA")
    record = stack.justsfa.record(TENANT, setup.table_id, rid)["record"]
    assert record[setup.title_field] == "黄木工業/新規開拓（延長）"


# -- schedules through the push API, its write-back, and "sync now" ------------------------------


def push_schedule(
    hours: tuple[int, int], who: list[str], customer: str = "緑商会", **extra: Any
) -> dict[str, Any]:
    return {
        "kind": "商談",
        "status": "予定",
        "purpose": "定期訪問",
        "customer_name": customer,
        "customer_address": "名古屋市中区",
        "content": "見積もりの説明",
        "participants": who,
        "start": at(*hours[:1]),
        "end": at(hours[1]),
        **extra,
    }


@step
def test_push_api_schedules_land_move_and_disappear(
    stack: ServedStack, world: World, http: httpx.Client
) -> None:
    jiro = world.mailboxes["jiro"]
    auth = {"Authorization": f"Bearer {world.token}"}
    assert http.put("/api/v1/schedules/P-0001", json=push_schedule((10, 11), ["jiro"])).status_code == 401
    made = http.put("/api/v1/schedules/P-0001", json=push_schedule((10, 11), ["jiro"]), headers=auth)
    assert made.status_code == 201, made.text
    wait_for(lambda: len(events_with(stack, jiro, "緑商会")) == 1, 30, what="jiro's event")
    (event,) = events_with(stack, jiro, "緑商会")
    assert starts(event).astimezone(JST).hour == 10
    read = http.get("/api/v1/schedules/P-0001", headers=auth)
    assert read.status_code == 200 and read.json()["outcome"] == "stored"
    status = wait_for(
        lambda: (
            (s := http.get("/api/v1/schedules/P-0001/status", headers=auth).json())["participants"][0][
                "state"
            ]
            == "synced"
            and s
        ),
        30,
        what="the push status synced",
    )
    assert status["participants"][0]["mailbox"] == jiro
    explained = http.get("/api/v1/schedules/P-0001/explain", headers=auth)
    assert explained.status_code == 200, explained.text
    (verdict,) = explained.json()["participants"]
    assert verdict["login_id"] == "jiro" and verdict["reason"] == "up_to_date" and verdict["writes"] == []
    assert [step["rule"] for step in verdict["steps"]][:5] == ["E1", "S1", "S3", "P3", "E4"]
    assert any(step["code"] == "mirror_written" for step in verdict["steps"])
    moved = http.put(
        "/api/v1/schedules/P-0001",
        json=push_schedule((15, 16), ["jiro"]),
        headers={**auth, "If-Match": read.headers["ETag"]},
    )
    assert moved.status_code == 200, moved.text
    wait_for(
        lambda: [starts(e).astimezone(JST).hour for e in events_with(stack, jiro, "緑商会")] == [15],
        30,
        what="jiro's event moved",
    )
    assert http.delete("/api/v1/schedules/P-0001", headers=auth).status_code == 204
    wait_for(lambda: not events_with(stack, jiro, "緑商会"), 30, what="jiro's event removed")

    # A batch of 30 (enough log lines for the log screen's pages).
    items = [
        {
            "op": "upsert",
            "source_id": f"B-{i:02d}",
            "schedule": push_schedule((8, 9), ["jiro"], f"一括{i:02d}"),
        }
        for i in range(30)
    ]
    batch = http.post("/api/v1/schedules:batch", json={"items": items}, headers=auth)
    assert batch.status_code == 200 and batch.json()["succeeded"] == 30, batch.text
    wait_for(lambda: len(events_with(stack, jiro, "一括")) == 30, 60, what="30 events of the batch")

    # Employees and masters through the API; the OpenAPI document and its page.
    listed = http.get("/api/v1/employees", headers=auth)
    assert listed.status_code == 200 and "jiro" in listed.text
    assert http.get("/api/v1/employees/jiro", headers=auth).json()["login_id"] == "jiro"
    shiro = http.put(
        "/api/v1/employees/shiro",
        json={"name": "高橋四郎", "state": "on", "user_id_mode": "login_at_domain"},
        headers=auth,
    )
    assert shiro.status_code in (200, 201), shiro.text
    for path in ("/api/v1/masters/purposes", "/api/v1/masters/business-names"):
        current = http.get(path, headers=auth)
        assert current.status_code == 200, current.text
        again = http.put(path, json=current.json(), headers=auth)
        assert again.status_code == 200, again.text
    assert http.get("/api/v1/openapi.json").json()["paths"]
    assert http.get("/api/v1/docs").status_code == 200
    assert http.get("/api/v1/").status_code < 500
    assert http.get("/healthz").status_code == 200
    # Operating it: ready (the embedded worker beats), and its figures from this machine.
    ready = http.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ok", ready.text
    figures = http.get("/metrics")
    assert figures.status_code == 200, figures.text
    assert 'sfacal_graph_requests_total{outcome="ok"}' in figures.text
    assert "sfacal_workers_live 1.0" in figures.text


@step
def test_a_pushed_schedule_edited_in_the_calendar_is_written_back(
    stack: ServedStack, world: World, http: httpx.Client, receiver: Receiver
) -> None:
    """T1 for push sources: jiro (named calendar 会議, read by tagged-event comparison) moves a
    pushed single-participant event; the served worker POSTs the edit, signed, to the receiver."""
    assert stack.m365 is not None
    jiro = world.mailboxes["jiro"]
    auth = {"Authorization": f"Bearer {world.token}"}
    made = http.put(
        "/api/v1/schedules/P-WB", json=push_schedule((16, 17), ["jiro"], "白石商店"), headers=auth
    )
    assert made.status_code == 201, made.text
    wait_for(lambda: events_with(stack, jiro, "白石商店"), 30, what="jiro's event")
    (event,) = events_with(stack, jiro, "白石商店")
    day = DAY.isoformat()
    stack.m365.user_update_event(
        jiro,
        event["id"],
        {
            "start": {"dateTime": f"{day}T17:00:00", "timeZone": "Tokyo Standard Time"},
            "end": {"dateTime": f"{day}T18:00:00", "timeZone": "Tokyo Standard Time"},
        },
    )
    run_twoway(stack, company_id(stack, "acme"))
    delivery = receiver.wait(lambda d: d.json.get("source_id") == "P-WB", timeout=60)
    assert verify_signature(
        world.push_secret,
        delivery.headers["x-sfacal-timestamp"],
        delivery.body,
        delivery.headers["x-sfacal-signature"],
    )


@step
def test_sync_now_once_a_missing_mailbox_exists(
    walk: Walk, stack: ServedStack, world: World, http: httpx.Client
) -> None:
    """A schedule for shiro fails (no mailbox yet): the dashboard and the log say so with the
    hint; once the mailbox exists, ``sfacal sync`` (sync now) mirrors it."""
    assert stack.m365 is not None
    auth = {"Authorization": f"Bearer {world.token}"}
    made = http.put(
        "/api/v1/schedules/P-SHIRO", json=push_schedule((11, 12), ["shiro"], "紫野産業"), headers=auth
    )
    assert made.status_code == 201, made.text
    wait_for(
        lambda: (
            http.get("/api/v1/schedules/P-SHIRO/status", headers=auth).json()["participants"][0]["state"]
            == "failed"
        ),
        30,
        what="shiro's sync failed",
    )
    admin = world.screens["admin"]
    page = admin.page
    with admin.step("dashboard-recent-failure"):
        admin.goto("/dashboard/")
        failure = page.locator("main .logtable tbody tr", has_text="shiro").first.inner_text()
        assert f"メールボックス shiro@{world.domain} が存在しません" in failure, failure
        assert "mailbox_not_found" in failure and "ユーザーIDが誤っている可能性があります" in failure
    with admin.step("dashboard-all-failures"):
        with page.expect_navigation():
            page.click("main a[href='/log/?result=failure']")
        assert "shiro" in page.inner_text("#log-rows")
    stack.m365.create_user(world.tenant_id, f"shiro@{world.domain}")
    summary = json.loads(stack.sfacal("sync", "--company", "acme", "--json"))
    assert summary["failed"] == 0, summary
    wait_for(lambda: events_with(stack, f"shiro@{world.domain}", "紫野産業"), 30, what="shiro's event")


def test_the_push_api_takes_a_long_title_as_the_webhook_does(
    stack: ServedStack, world: World, http: httpx.Client
) -> None:
    """Issue 13 defect 7: a 1,000-character title is accepted by the push API, as by the webhook."""
    auth = {"Authorization": f"Bearer {world.token}"}
    title = "長い件名の予定" * 143
    made = http.put(
        "/api/v1/schedules/P-LONG",
        json=push_schedule((18, 19), ["jiro"], "長文商事", title=title),
        headers=auth,
    )
    assert made.status_code == 201, made.text
    wait_for(
        lambda: events_with(stack, world.mailboxes["jiro"], "長文商事"), 30, what="the long-titled event"
    )


def test_a_mistyped_client_secret_does_not_replace_working_credentials(
    stack: ServedStack, world: World
) -> None:
    """Issue 13 defect 4: "save and test" with a mistyped secret keeps the working credentials."""
    admin = world.screens["admin"]
    page = admin.page
    stored = (
        "from sfacal.directory.companies.models import CompanySettings\n"
        "s = CompanySettings.objects.get(company__slug='acme')\n"
        "result = [s.auth_method, s.client_secret]"
    )
    try:
        with admin.step("settings-mistyped-secret"):
            admin.goto("/settings/")
            page.check("input[name=auth_method][value=secret]")
            page.fill("#id_client_secret", "mistyped-client-secret")
            admin.htmx("#settings-form button[name=action][value=test]")
            assert "bad" in classes(page, "#connection-test-result")
        assert stack.query(stored)[0] == "certificate"
    finally:  # the walk goes on with the certificate, whatever happened
        admin.goto("/settings/")
        page.check("input[name=auth_method][value=certificate]")
        admin.htmx("#settings-form button[name=action][value=save]")
        assert stack.query(stored)[0] == "certificate"


# -- the log screen (L1/L2), the dashboard (L3), signing out ---------------------------------------


@step
def test_log_screen(walk: Walk, world: World) -> None:
    admin = world.screens["admin"]
    page = admin.page
    with admin.step("log-open"):
        page.click("nav a[href='/log/']")
        page.wait_for_selector("#log-rows")
        assert page.locator("nav.pager").count() == 1  # more than one page of lines
    with admin.step("log-next-page"):
        with page.expect_navigation():
            page.click("nav.pager a:last-child")
        assert "page=2" in page.url
    with admin.step("log-previous-page"):
        with page.expect_navigation():
            page.click("nav.pager a")
    with admin.step("log-end-before-start"):
        page.fill("#id_date_from", DAY.isoformat())
        page.fill("#id_date_to", (DAY - dt.timedelta(days=7)).isoformat())
        with page.expect_navigation():
            page.click("main form button.primary")
        assert page.locator("main .errorlist").count()
    with admin.step("log-filter"):
        today = dt.datetime.now(JST).date()
        page.fill("#id_date_from", (today - dt.timedelta(days=1)).isoformat())
        page.fill("#id_date_to", (today + dt.timedelta(days=1)).isoformat())
        page.fill("#id_employee", "taro")
        page.select_option("#id_result", "success")
        page.select_option("#id_trigger", "webhook")
        with page.expect_navigation():
            page.click("main form button.primary")
        rows = [r.inner_text() for r in page.locator("#log-rows tr").all()]
        assert rows and all("taro" in r for r in rows), rows
    with admin.step("log-export-csv"):
        with page.expect_download() as info:
            page.click("main a[href^='/log/export.csv']")
        download = info.value
        walk.visits.add("GET", download.url)
        text = Path(download.path()).read_text(encoding="utf-8-sig")
        assert "赤木電機/定期訪問" in text and "jiro" not in text
    with admin.step("log-live-refresh"):
        page.check("main input[name=live]")
        with page.expect_navigation():
            page.click("main form button.primary")
        with page.expect_response(lambda r: "fragment=rows" in r.url, timeout=15_000) as refreshed:
            pass
        assert refreshed.value.status == 200
    taro = world.screens["taro"]
    with taro.step("own-log"):
        taro.goto("/log/")
        text = taro.page.inner_text("#log-rows")
        assert "赤木電機/定期訪問" in text and world.mailboxes["hanako"] not in text


@step
def test_mirrored_events_and_the_employee_csv(walk: Walk, world: World) -> None:
    """Defect 11: what was mirrored into an employee's calendar, for the administrator and for the
    employee; defect 10: the employees downloaded as CSV (Shift_JIS and UTF-8) and as a template."""
    admin = world.screens["admin"]
    page = admin.page
    with admin.step("mirrored-events-of-taro"):
        admin.goto("/employees/?q=taro")
        row = page.locator("table tbody tr").filter(has_text="taro").first
        with page.expect_navigation():
            row.locator("a[href$='/events/']").click()
        text = page.inner_text("main")
        assert world.mailboxes["taro"] in text and "営業" in text
        assert page.locator("table.mirrortable tbody tr").count() >= 1
    with admin.step("mirrored-events-filtered-by-state"):
        page.select_option("#id_state", index=1)
        with page.expect_navigation():
            page.click("main form button.primary")
    for encoding, what in (("cp932", "employees"), ("utf-8-sig", "employees"), ("utf-8-sig", "template")):
        with admin.step(f"employees-csv-{what}-{encoding}"):
            admin.goto("/employees/")
            page.select_option("#export-encoding", encoding)
            with page.expect_download() as info:
                page.click(f"form.export-form button[value={what}]")
            download = info.value
            walk.visits.add("GET", download.url)
            text = Path(download.path()).read_bytes().decode(encoding)
            assert "社員ログインID" in text.splitlines()[0]
            assert ("taro" in text) == (what == "employees")
    taro = world.screens["taro"]
    with taro.step("my-mirrored-events"):
        taro.goto("/me/settings/")
        with taro.page.expect_navigation():
            taro.page.click("main a[href='/me/events/']")
        assert world.mailboxes["taro"] in taro.page.inner_text("main")
        assert world.mailboxes["hanako"] not in taro.page.inner_text("main")


@step
def test_calendar_feed_turned_on_read_and_revoked(walk: Walk, world: World, http: httpx.Client) -> None:
    """The ICS feed: the employee turns it on and sees the URL once; a calendar app reads it (and
    polls with its ETag: 304); the administrator turns it off and the URL is gone."""
    taro = world.screens["taro"]
    page = taro.page
    with taro.step("calendar-feed-open"):
        taro.goto("/dashboard/")
        with page.expect_navigation():
            page.click("nav.mainnav a[href='/me/feed/']")
        assert page.locator("main button[name=action][value=issue]").count() == 1
    with taro.step("calendar-feed-turned-on"):
        with page.expect_navigation():
            page.click("main button[name=action][value=issue]")
        url = page.input_value("#feed-url")
        assert "/feeds/" in url and url.endswith(".ics")
    path = urlsplit(url).path
    auth = {"Authorization": f"Bearer {world.token}"}
    made = http.put(
        "/api/v1/schedules/P-FEED", json=push_schedule((13, 14), ["taro"], "暦商事"), headers=auth
    )
    assert made.status_code in (200, 201), made.text
    first = http.get(path)
    assert first.status_code == 200 and first.headers["content-type"].startswith("text/calendar")
    assert "BEGIN:VTIMEZONE" in first.text and "SUMMARY:暦商事/定期訪問" in first.text
    assert http.get(path, headers={"If-None-Match": first.headers["etag"]}).status_code == 304
    with taro.step("calendar-feed-url-not-shown-again"):
        taro.goto("/me/feed/")
        assert url not in page.content()
    admin = world.screens["admin"]
    with admin.step("calendar-feed-revoked-by-the-administrator"):
        admin.goto(f"/employees/{world.employee_ids['taro']}/")
        with admin.page.expect_navigation():
            admin.page.click("main form[action$='/feed/revoke/'] button")
        assert admin.page.locator(".notice.success, .notice.ok").count() >= 1
    assert http.get(path).status_code == 404


@step
def test_caldav_settings_and_an_employees_own_account(walk: Walk, world: World) -> None:
    """The CalDAV screen: saved with a password that is never shown again; "save and test" answers
    with a message and a hint (no CalDAV server is reachable at this address, so it is a failure
    the administrator can act on); an employee's own account saved and removed."""
    admin = world.screens["admin"]
    page = admin.page
    with admin.step("caldav-open"):
        admin.goto("/dashboard/")
        with page.expect_navigation():
            page.click("nav.mainnav a[href='/settings/caldav/']")
    with admin.step("caldav-saved"):
        page.fill("#id_base_url", "https://dav.invalid/")
        page.fill("#id_username", "sfacal-service")
        page.fill("#id_password", "caldav-Pa55word")
        page.fill("#id_home_pattern", "{mailbox}/")
        with page.expect_navigation():
            page.click("#caldav-form button[value=save]")
        assert page.locator(".notice.success, .notice.ok").count() >= 1
        assert "caldav-Pa55word" not in page.content()
    with admin.step("caldav-save-and-test"):
        with page.expect_navigation():
            page.click("#caldav-form button[value=test]")
        assert page.locator("#caldav-test-result.bad .hint").count() == 1
    with admin.step("caldav-own-account-saved"):
        admin.goto(f"/employees/{world.employee_ids['taro']}/")
        page.fill("#caldav-url", "https://dav.invalid/")
        page.fill("#caldav-user", "taro")
        page.fill("#caldav-password", "taro-Pa55")
        with page.expect_navigation():
            page.click("form.caldav-account button[value=save]")
        assert page.input_value("#caldav-url") == "https://dav.invalid/"
    with admin.step("caldav-own-account-removed"):
        with page.expect_navigation():
            page.click("form.caldav-account button[value=remove]")
        assert page.input_value("#caldav-url") == ""


@step
def test_the_explainer_and_the_audit_trail(walk: Walk, world: World) -> None:
    """Why a schedule is (or is not) in a calendar, for the administrator (every participant) and
    the employee (their own verdict only); the settings audit trail, filtered and as CSV."""
    admin = world.screens["admin"]
    page = admin.page
    with admin.step("explain-from-mirrored-events"):
        admin.goto(f"/employees/{world.employee_ids['taro']}/events/")
        with page.expect_navigation():
            page.locator("table.mirrortable a.explain-link").first.click()
        assert "/explain/schedule/" in page.url
        record = parse_qs(urlsplit(page.url).query)["record"][0]
        assert page.locator(".verdict[data-login='taro'] .explain-chain li").count() >= 2
        chain = page.inner_text(".verdict[data-login='taro']")
        assert "(E1)" in chain and "taro" in chain, chain
        assert page.locator("table.mirrortable tbody tr").count() >= 1
    with admin.step("explain-sync-now"):
        with page.expect_navigation():
            page.click("#explain-sync")
        assert "/explain/schedule/" in page.url
        assert page.locator(".notice").count() >= 1
    with admin.step("explain-search"):
        page.click("nav a[href='/explain/']")
        page.fill("#id_q", record)
        with page.expect_navigation():
            page.click("main form button.primary")
        assert page.locator("table.explaintable a.explain-link").count() >= 1
        with page.expect_navigation():
            page.locator("table.explaintable a.explain-link").first.click()
        assert page.locator(".verdict").count() >= 1
    with admin.step("explain-from-a-log-line"):
        admin.goto("/log/?employee=taro")
        with page.expect_navigation():
            page.locator("#log-rows a.explain-link").first.click()
        assert "/explain/schedule/" in page.url
    with admin.step("audit-trail"):
        page.click("nav a[href='/audit/']")
        assert page.locator("tr.auditrow").count() >= 1
    with admin.step("audit-trail-company-settings"):
        page.select_option("#id_what", "company")
        with page.expect_navigation():
            page.click("main form button.primary")
        text = page.inner_text("main table.audittable")
        assert "client_secret" in text and "変更あり" in text, text
        assert world.app is not None and world.app.secret not in page.content()
    with admin.step("audit-trail-filtered"):
        page.select_option("#id_what", "employee")
        page.fill("#id_who", "admin")
        with page.expect_navigation():
            page.click("main form button.primary")
        assert "client_secret" not in page.inner_text("main table.audittable")
        assert page.locator("tr.auditrow").count() >= 1
    with admin.step("audit-trail-csv"):
        with page.expect_download() as info:
            page.click("#audit-export")
        download = info.value
        walk.visits.add("GET", download.url)
        text = Path(download.path()).read_text(encoding="utf-8-sig")
        assert text.splitlines()[0].startswith("日時") and len(text.splitlines()) >= 2
    taro = world.screens["taro"]
    with taro.step("explain-own-schedule"):
        taro.goto(f"/explain/?q={quote(record)}")
        with taro.page.expect_navigation():
            taro.page.locator("table.explaintable a.explain-link").first.click()
        assert taro.page.locator(".verdict[data-login='taro']").count() == 1
        assert taro.page.locator(".verdict").count() == 1  # only their own verdict
    with taro.step("explain-another-schedule-is-not-found", allow=[404]):
        taro.goto("/explain/schedule/?source=push&record=no-such-record", allow=[404])


@step
def test_signing_out_and_pages_that_do_not_exist(walk: Walk, world: World) -> None:
    taro = world.screens["taro"]
    with taro.step("page-not-found", allow=[404]):
        taro.goto("/no-such-page/", allow=[404])
    with taro.step("signout"):
        taro.sign_out()
    with taro.step("signed-out-log-asks-to-sign-in"):
        taro.goto("/log/")
        assert path_of(taro.page) == "/accounts/signin/"
    admin = world.screens["admin"]
    with admin.step("dashboard"):
        admin.goto("/dashboard/")
    with admin.step("signout"):
        admin.sign_out()


@step
def test_a_refused_webhook_is_explained_in_the_log(walk: Walk, world: World, http: httpx.Client) -> None:
    """A delivery without the secret header is refused (401) and written to the sync log with the
    code ``unauthorized``; the log screen explains it (once it said 「予期しないエラーが発生しました」,
    a code the error taxonomy did not know). Last in the module because every later log page of
    the company would show the line."""
    assert http.post(urlsplit(world.webhook_url).path, json={}).status_code == 401
    admin = walk.screen("admin-refused-webhook")
    admin.sign_in("acme-admin", PASSWORD)
    with admin.step("log-refused-webhook"):
        admin.goto("/log/?result=failure")
        rows = admin.page.inner_text("#log-rows")
        assert world.header[0] in rows and "リクエストヘッダ" in rows
