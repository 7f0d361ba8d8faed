"""A representative part of the served walk in English, by a second company whose data is ASCII.

The super-administrator switches the language with the menu; the company administrator sets up
Microsoft 365 (client secret), masters, the JUST.SFA connection and user mapping, an employee
and a CSV import, a push token and the write-back settings; the employee sets up their sync and
sees a schedule from JUST.SFA arrive in their calendar and their log. Every page is checked for
Japanese outside user data (see :mod:`tests.served.walker`); the Japanese system words that
issue 13 defect 8 was about are asserted by a test of their own.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from sfacal.core.settings import DEFAULT_BUSINESS_NAMES, DEFAULT_PURPOSES
from sfacal.emulators.justsfa import ScheduleSetup
from sfacal.emulators.m365 import AppInfo
from tests.integration.stack import wait_for
from tests.served.conftest import PASSWORD, SUPER_ADMIN
from tests.served.harness import ServedStack
from tests.served.steps import (
    JST,
    accept_invitation,
    assert_ok,
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
from tests.served.walker import DEFECT_8_WORDS, Screen, Walk

pytestmark = [pytest.mark.browser, pytest.mark.slow]
step = pytest.mark.walk_step

TENANT = "globex"
COMPANY = "Globex Inc."
# The masters every new company starts with are the company's data (in Japanese, as JUST.SFA's).
MASTERS = [*DEFAULT_PURPOSES, *DEFAULT_BUSINESS_NAMES]


@dataclass
class World:
    domain: str = "globex-served.onmicrosoft.com"
    app: AppInfo | None = None
    setup: ScheduleSetup | None = None
    mailboxes: dict[str, str] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)
    screens: dict[str, Screen] = field(default_factory=dict)


@pytest.fixture(scope="module")
def world(stack: ServedStack) -> World:
    """Outside sfacal: the Microsoft 365 tenant (an app with a client secret, two mailboxes) and
    the JUST.SFA tenant, all named in ASCII."""
    assert stack.m365 is not None and stack.justsfa is not None
    w = World()
    tenant = stack.m365.create_tenant(w.domain)
    w.app = stack.m365.create_app(tenant.id, secret=True)
    for login, calendars in (("alice", ["Sales"]), ("bob", [])):
        w.mailboxes[login] = stack.m365.create_user(tenant.id, f"{login}@{w.domain}", calendars=calendars).upn
    w.setup = stack.justsfa.setup_schedule(
        TENANT, users=[{"userId": "alice", "name": "Alice Baker"}, {"userId": "bob", "name": "Bob Carter"}]
    )
    return w


@step
def test_super_admin_switches_to_english_and_creates_a_company(walk: Walk, world: World) -> None:
    # A Japanese browser: the language menu switches the site to English.
    root = walk.screen("superadmin", "en", locale="ja-JP", user_data=["ACME 株式会社"])
    page = root.page
    root.goto("/accounts/signin/?next=/companies/")
    with root.step("switch-language"):
        with page.expect_navigation():
            page.select_option("#lang-select", "en")
        page.wait_for_selector('html[lang="en"]')
    with root.step("signin"):
        page.fill("#id_username", SUPER_ADMIN)
        page.fill("#id_password", PASSWORD)
        with page.expect_navigation():
            page.click("main button[type=submit].primary")
        assert path_of(page) == "/companies/"
    with root.step("new-company"):
        with page.expect_navigation():
            page.click("main a[href='/companies/new/']")
        page.fill("#id_slug", "globex")
        page.fill("#id_name", COMPANY)
        page.fill("#id_admin_username", "globex-admin")
        page.fill("#id_admin_email", "admin@globex.example")
        with page.expect_navigation():
            page.click("main button[type=submit].primary")
        world.links["admin"] = page.input_value("#invitation-link")
        assert "was created" in page.inner_text("main .notice.ok")
    with root.step("companies"):
        with page.expect_navigation():
            page.click("nav a[href='/companies/']")
        assert COMPANY in page.inner_text("main table")
    with root.step("signout"):
        root.sign_out()


@step
def test_company_admin_sets_the_company_up(
    walk: Walk, stack: ServedStack, world: World, tmp_path: Path
) -> None:
    assert world.app is not None and world.setup is not None and stack.justsfa is not None
    admin = walk.screen("admin", "en", user_data=MASTERS)
    world.screens["admin"] = admin
    page = admin.page
    with admin.step("invitation-accepted"):
        accept_invitation(admin, world.links["admin"])
    with admin.step("settings-save-and-test"):
        page.click("nav a[href='/settings/']")
        fill_microsoft_365(page, stack, world.app.client_id, world.domain, world.app.secret)
        # The secret was made to last 20 more days: the dashboard warns (L3).
        page.fill("#id_client_secret_expires_on", (dt.date.today() + dt.timedelta(days=20)).isoformat())
        admin.htmx("#settings-form button[name=action][value=test]")
        text = page.inner_text("#connection-test-result")
        assert "ok" in classes(page, "#connection-test-result") and "Connection succeeded." in text, text
    with admin.step("masters-add"):
        page.click("nav a[href='/masters/']")
        page.fill("#id_p-name", "Regular visit")
        with page.expect_navigation():
            page.click("#purposes form[action='/masters/'] button.primary")
        assert "was added" in page.inner_text("main .notice")
    with admin.step("justsfa-save-and-test"):
        page.click("nav a[href='/justsfa/']")
        fill_justsfa(page, world.setup, TENANT, f"{stack.justsfa_url}/_tenant/{TENANT}")
        admin.htmx("#justsfa-form button[name=action][value=test]")
        text = page.inner_text("#justsfa-test-result")
        assert "ok" in classes(page, "#justsfa-test-result") and "Connected to JUST.SFA" in text, text
        webhook_url = page.input_value("#webhook-url")
    stack.justsfa.add_webhook(TENANT, world.setup.table_id, webhook_url, title="sfacal")
    walk.visits.add("POST", webhook_url)
    with admin.step("mapping-test"):
        with page.expect_navigation():
            page.click("main a[href='/justsfa/users/']")
        page.fill("#id_name-new", "Alice Baker")
        page.fill("#id_external_user_id-new", "alice")
        page.fill("#id_mail_address-new", world.mailboxes["alice"])
        admin.htmx("form.maprow:has(#id_name-new) button[name=action][value=test]")
        assert "Connection succeeded." in page.inner_text("form.maprow .notice.ok")
    with admin.step("employee-new-load-calendars-and-check"):
        admin.goto("/employees/new/")
        page.fill("#id_login_id", "bob")
        page.fill("#id_name", "Bob Carter")
        page.check("input[name=state][value=on]")
        page.check("input[name=user_id_mode][value=login_at_domain]")
        admin.htmx("#employee-form button[hx-target='#calendar-picker']")
        assert f"Calendars of bob@{world.domain}" in page.inner_text("#calendar-picker")
        check_the_link(admin, "#employee-form")
    upload = tmp_path / "people.csv"
    upload.write_bytes(
        csv_bytes([["login_id", "name", "email"], ["carol", "Carol Diaz", "carol@globex.example"]], "utf-8")
    )
    with admin.step("import-preview"):
        admin.goto("/employees/import/")
        page.set_input_files("#id_file", str(upload))
        with page.expect_navigation():
            page.click("main form[enctype] button.primary")
        assert page.locator("main table tbody tr .badge.ok").count() == 1
    with admin.step("import-confirm"):
        with page.expect_navigation():
            page.click("main button[name=action][value=confirm]")
        assert "Import finished: 1 created" in page.inner_text("main .notice")
    with admin.step("employee-alice-invite"):
        admin.goto("/employees/?q=alice")
        with page.expect_navigation():
            page.click("main tbody a:text-is('alice')")
        with page.expect_navigation():
            page.click("main form[action$='/invite/'] button")
        world.links["alice"] = page.input_value("#invitation-link")
    with admin.step("tokens-create"):
        page.click("nav a[href='/api-tokens/']")
        page.fill("#id_name", "Sales Force Assistant")
        with page.expect_navigation():
            page.click("main form.panel button.primary")
        assert page.input_value("#new-token").startswith("sfa_")
    with admin.step("push-test-without-a-callback"):
        with page.expect_navigation():
            page.click("main a[href='/push/']")
        admin.htmx("#push-form button[name=action][value=test]")
        assert_ok(page, "#push-test-result")
    with admin.step("dashboard-expiry-warning"):
        page.click("nav a[href='/dashboard/']")
        warning = page.inner_text("main .notice.warn")
        assert "client secret" in warning.lower() and "days left" in warning, warning
    with admin.step("dashboard-open-the-basic-settings"):
        with page.expect_navigation():
            page.click("main .notice.warn a[href='/settings/']")
        assert page.locator("#settings-form .notice.warn").count() == 1


@step
def test_employee_sets_up_their_sync_and_a_schedule_arrives(
    walk: Walk, stack: ServedStack, world: World
) -> None:
    assert world.setup is not None and stack.justsfa is not None
    alice = walk.screen("employee", "en", phone=True, user_data=MASTERS)
    world.screens["alice"] = alice
    page = alice.page
    with alice.step("invitation-accepted"):
        accept_invitation(alice, world.links["alice"])
    with alice.step("personal-load-calendars-check-and-save"):
        alice.goto("/me/settings/")
        load_calendars_and_pick(alice, "#personal-form", "Sales")
        check_the_link(alice, "#personal-form")
        alice.htmx("#personal-form button[name=action][value=save]")
        assert "Your settings were saved." in page.inner_text("#personal-form .notice.ok")

    # The purpose list of JUST.SFA's standard table is Japanese: this record has a title instead.
    record = justsfa_record(world.setup, "Initech", "", (10, 11), ["alice"])
    del record[world.setup.purpose_field]
    record[world.setup.title_field] = "Quarterly review"
    stack.justsfa.create_record(TENANT, world.setup.table_id, record)
    mailbox = world.mailboxes["alice"]
    wait_for(lambda: events_with(stack, mailbox, "Quarterly review"), 30, what="alice's event")
    (event,) = events_with(stack, mailbox, "Quarterly review")
    subject = str(event["subject"])
    assert "Quarterly review" in subject and subject.isascii() and starts(event).astimezone(JST).hour == 10
    with alice.step("own-log"):
        alice.goto("/log/")
        text = page.inner_text("#log-rows")
        assert subject in text and "Created (sync)" in text, text


def test_english_pages_show_no_japanese_system_words(world: World) -> None:
    """Issue 13 defect 8: 「マスタ設定値以外」 and 「未選択」 on English pages (the masters screen
    and the exclusions of the personal settings)."""
    shown = {}
    for screen, path in ((world.screens["admin"], "/masters/"), (world.screens["alice"], "/me/settings/")):
        screen.goto(path)
        shown[path] = [w for w in DEFECT_8_WORDS if w in screen.page.inner_text("body")]
    assert not any(shown.values()), shown


@step
def test_signing_out(world: World) -> None:
    for name in ("alice", "admin"):
        screen = world.screens[name]
        with screen.step("signout"):
            screen.goto("/dashboard/")
            screen.sign_out()
