"""The administrator's and the employee's walk through every screen, in Japanese and English.

Each step is a function so that the steps needing the Microsoft 365 and JUST.SFA emulators
(save and test against the emulated tenant, JUST.SFA test, a schedule arriving in the log and
the emulated calendar) slot in between the existing ones.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12
from cryptography.x509.oid import NameOID
from django.contrib.auth import get_user_model

from sfacal.directory.companies.models import CompanySettings, Membership, Role
from sfacal.directory.companies.provisioning import ensure_company
from sfacal.directory.employees.models import Employee, SyncState
from sfacal.engine.models import InboxEntry, InboxState, LogResult, SyncLogEntry, Trigger
from sfacal.engine.passes import process_inbox
from tests.integration.conftest import new_tenant, wire_company

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "walk-the-screens-2025"
PFX_PASSWORD = "pfx-Passw0rd"


def _pfx(tmp_path: Path) -> tuple[Path, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sfacal e2e")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    path = tmp_path / "sfacal-app.pfx"
    path.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"sfacal", key, cert, None, BestAvailableEncryption(PFX_PASSWORD.encode())
        )
    )
    return path, cert.fingerprint(hashes.SHA1()).hex().upper()


@pytest.fixture
def world(db: Any) -> dict[str, Any]:
    company = ensure_company("acme", "ACME 株式会社")
    users = get_user_model().objects
    admin = users.create_user("admin", password=PASSWORD)
    Membership.objects.create(user=admin, company=company, role=Role.COMPANY_ADMIN)
    taro = users.create_user("taro", password=PASSWORD)
    Membership.objects.create(user=taro, company=company, role=Role.EMPLOYEE)
    employee = Employee.objects.create(company=company, login_id="taro", name="山田太郎", account=taro)
    SyncLogEntry.objects.create(
        company=company,
        employee=employee,
        login_id="taro",
        mailbox="taro@acme.onmicrosoft.com",
        trigger=Trigger.WEBHOOK,
        operation="create",
        result=LogResult.FAILURE,
        error_code="mailbox_not_found",
        message="ErrorNonExistentMailbox",
    )
    return {"company": company, "employee": employee}


def shot(page: Any, folder: Path, name: str, lang: str) -> None:
    # caret="initial": hiding the caret (Playwright's default) leaves style="" on every input, and
    # htmx's settle step copies that attribute onto a form swapped in later, which the strict
    # Content-Security-Policy then reports as an inline style.
    page.screenshot(path=str(folder / f"{name}.{lang}.png"), full_page=True, caret="initial")


def sign_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/signin/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(re.compile(r".*/dashboard/$"))


def switch_language(page: Any, lang: str) -> None:
    page.select_option("#lang-select", lang)
    page.wait_for_load_state("load")
    page.wait_for_selector(f'html[lang="{lang}"]')


def step_company_settings(page: Any, base: str, pfx: Path, thumb: str, texts: dict[str, str]) -> None:
    page.goto(f"{base}/settings/")
    page.check("input[name=sync_enabled][value='1']")
    page.fill("#id_client_id", "1b1e6fd1-a18b-4e73-b37c-2d0125d25845")
    page.check("input[name=auth_method][value=certificate]")
    assert page.is_visible("[data-dropzone]")
    assert not page.is_visible("#id_client_secret")  # progressive disclosure by auth method
    page.set_input_files("#id_certificate_file", str(pfx))
    assert page.inner_text("[data-dropzone-name]") == pfx.name
    page.fill("#id_certificate_password", PFX_PASSWORD)
    page.fill("#id_certificate_thumbprint", thumb)
    page.fill("#id_domain", "acme.onmicrosoft.com")
    page.fill(
        "#id_token_endpoint",
        "https://login.microsoftonline.com/62fab46a-338f-4105-b62d-5a79298270e8/oauth2/v2.0/token",
    )
    page.click("button[name=action][value=save]")
    page.wait_for_selector("#settings-form .notice.ok")  # swapped in by htmx, no reload
    assert texts["saved"] in page.inner_text("#settings-form .notice.ok")
    assert PFX_PASSWORD not in page.content()


def step_wrong_password(page: Any, base: str, pfx: Path, texts: dict[str, str]) -> None:
    page.goto(f"{base}/settings/")
    page.set_input_files("#id_certificate_file", str(pfx))
    page.fill("#id_certificate_password", "not-the-password")
    page.click("button[name=action][value=save]")
    page.wait_for_selector("#settings-form .errorlist")
    assert texts["password_error"] in page.inner_text("#settings-form")


def step_save_and_test(page: Any, base: str) -> None:
    page.goto(f"{base}/settings/")
    page.click("button[name=action][value=test]")
    page.wait_for_selector("#connection-test-result")


def step_masters(page: Any, base: str, texts: dict[str, str]) -> None:
    page.goto(f"{base}/masters/")
    page.fill("#id_b-name", "展示会準備")
    page.click("#business-names button.primary")
    page.wait_for_selector("text=展示会準備")
    assert page.locator("#business-names input[value='展示会準備']").count() == 1


def step_employees(page: Any, base: str, texts: dict[str, str]) -> None:
    page.goto(f"{base}/employees/")
    page.fill("#q", "taro")
    page.click("form[role=search] button")
    page.click("text=taro")
    page.check("input[name=state][value=on]")
    page.check("input[name=user_id_mode][value=explicit]")
    page.fill("#id_user_id", "taro@acme.onmicrosoft.com")
    page.fill("#id_calendar_name", "営業")
    page.click("button[name=action][value=check]")
    page.wait_for_selector("#mailbox-check-result")
    # No Microsoft 365 app in this walk: the calendar cannot be checked, so it is not saved unless
    # the administrator says so explicitly (E3/P4).
    page.wait_for_selector("input[name=skip_calendar_check]")
    page.check("input[name=user_id_mode][value=login_at_domain]")
    assert not page.is_visible("#id_user_id")
    page.check("input[name=user_id_mode][value=explicit]")
    page.check("input[name=skip_calendar_check]")
    page.click("button[name=action][value=save]")
    page.wait_for_selector("#employee-form .notice.ok")


def step_logs(page: Any, base: str, texts: dict[str, str]) -> None:
    page.goto(f"{base}/log/?result=failure")
    assert texts["hint"] in page.inner_text("#log-rows")
    page.check("input[name=live]")
    page.click("form button.primary")
    page.wait_for_selector("#log-rows[hx-trigger]")


def step_personal(page: Any, base: str, texts: dict[str, str]) -> None:
    page.goto(f"{base}/me/settings/")
    page.check("input[name=sync][value='1']")
    page.check("input[name=user_id_mode][value=explicit]")
    page.fill("#id_user_id", "taro@acme.onmicrosoft.com")
    page.check("input[name=excluded_business][value='会議']")
    page.check("input[name=excluded_uncounted][value='未選択']")
    page.click("#personal-form button[name=action][value=save]")
    page.wait_for_selector("#personal-form .notice.ok")
    assert texts["p4"] in page.inner_text("#personal-form")


def assert_fits_phone(page: Any, messages: list[str]) -> None:
    """L1 on a phone: the log rows are cards that fit the width (no sideways scrolling), each
    message is shown on screen, whole, and so is every tab of the navigation."""
    width = page.evaluate("() => window.innerWidth")
    scroll = page.evaluate("() => document.documentElement.scrollWidth")
    assert scroll <= width, f"the page scrolls sideways: {scroll}px wide in a {width}px window"
    for link in page.locator(".mainnav a").all():  # every tab (the current one too) fully in sight
        box = link.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, (
            link.inner_text(),
            box,
        )
    assert not page.is_visible(".logtable thead")  # the column heads give way to labels
    for text in messages:
        shown = page.locator("#log-rows .log-message", has_text=text).first
        assert shown.is_visible(), text
        box = shown.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, (text, box)


TEXTS = {
    "ja": {
        "saved": "設定を保存しました。",
        "password_error": "パスワード: このパスワードでは .pfx ファイルを開けません",
        "hint": "ユーザーIDが誤っている可能性があります",
        "p4": "前月始めからのスケジュール情報を同期します",
        "no_mailbox": "メールボックス taro@acme.onmicrosoft.com が存在しません",
    },
    "en": {
        "saved": "The settings were saved.",
        "password_error": "Password: This password does not open the .pfx file",
        "hint": "The user ID is probably wrong",
        "p4": "from the first day of the previous month are synced",
        "no_mailbox": "The mailbox taro@acme.onmicrosoft.com does not exist",
    },
}


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_admin_and_employee_walk(live_server, world, new_page, screenshot_dir, tmp_path, lang):
    base = live_server.url
    texts = TEXTS[lang]
    pfx, thumb = _pfx(tmp_path)

    admin = new_page(lang="ja")
    sign_in(admin, base, "admin")
    if lang != "ja":
        switch_language(admin, lang)
    shot(admin, screenshot_dir, "01-dashboard", lang)

    step_company_settings(admin, base, pfx, thumb, texts)
    shot(admin, screenshot_dir, "02-company-settings", lang)
    settings = CompanySettings.objects.get(company=world["company"])
    assert settings.certificate_thumbprint == thumb and settings.certificate_expires_at is not None

    step_wrong_password(admin, base, pfx, texts)
    shot(admin, screenshot_dir, "03-company-settings-error", lang)
    step_save_and_test(admin, base)
    shot(admin, screenshot_dir, "04-save-and-test", lang)

    step_masters(admin, base, texts)
    shot(admin, screenshot_dir, "05-masters", lang)

    step_employees(admin, base, texts)
    shot(admin, screenshot_dir, "06-employee-edit", lang)
    admin.goto(f"{base}/employees/")
    shot(admin, screenshot_dir, "07-employees", lang)
    world["employee"].refresh_from_db()
    assert world["employee"].state == SyncState.ON and world["employee"].calendar_name == "営業"

    admin.goto(f"{base}/justsfa/")
    shot(admin, screenshot_dir, "08-justsfa", lang)
    admin.goto(f"{base}/justsfa/users/")
    shot(admin, screenshot_dir, "09-user-mapping", lang)
    admin.goto(f"{base}/api-tokens/")
    shot(admin, screenshot_dir, "10-api-tokens", lang)

    step_logs(admin, base, texts)
    shot(admin, screenshot_dir, "11-log", lang)

    employee = new_page(lang=lang, phone=True)
    sign_in(employee, base, "taro")
    if lang != "ja":
        switch_language(employee, lang)
    step_personal(employee, base, texts)
    shot(employee, screenshot_dir, "12-personal-settings-phone", lang)
    world["employee"].refresh_from_db()
    assert "会議" in world["employee"].excluded_business_names
    employee.goto(f"{base}/settings/")
    assert employee.locator("h1").count() == 1  # the 403 page
    employee.goto(f"{base}/log/")
    assert_fits_phone(employee, [texts["no_mailbox"]])
    shot(employee, screenshot_dir, "13-own-log-phone", lang)

    # The strict Content-Security-Policy holds: no inline script or style was needed.
    csp = [e for e in admin.console_errors + employee.console_errors if "Content Security Policy" in e]
    assert csp == []


# -- with the Microsoft 365 emulator --------------------------------------------------------------


def _cert_pem(pfx: Path) -> str:
    from cryptography.hazmat.primitives.serialization import Encoding

    _key, cert, _extra = pkcs12.load_key_and_certificates(pfx.read_bytes(), PFX_PASSWORD.encode())
    assert cert is not None
    return cert.public_bytes(Encoding.PEM).decode()


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_c7_e5_save_and_test_against_the_m365_emulator(
    live_server, world, new_page, screenshot_dir, tmp_path, m365, lang
):
    """C7 success with a certificate, then the thumbprint hint; E5 calendars read from the mailbox."""
    base = live_server.url
    pfx, thumb = _pfx(tmp_path)
    domain = "acme-e2e.onmicrosoft.com"
    tenant = m365.control.create_tenant(domain)
    app = m365.control.create_app(tenant.id, secret=False, certificate_pem=_cert_pem(pfx))
    m365.control.create_user(tenant.id, f"taro@{domain}", calendars=["営業"])

    page = new_page(lang="ja")
    sign_in(page, base, "admin")
    if lang != "ja":
        switch_language(page, lang)
    page.goto(f"{base}/settings/")
    page.check("input[name=sync_enabled][value='1']")
    page.fill("#id_client_id", app.client_id)
    page.check("input[name=auth_method][value=certificate]")
    page.set_input_files("#id_certificate_file", str(pfx))
    page.fill("#id_certificate_password", PFX_PASSWORD)
    page.fill("#id_certificate_thumbprint", thumb)
    page.fill("#id_domain", domain)
    page.fill("#id_token_endpoint", m365.token_url(domain))
    page.click("details summary")
    page.fill("#id_graph_base_url", m365.graph_url)
    page.click("button[name=action][value=test]")
    page.wait_for_selector("#connection-test-result")
    assert "notice ok" in page.get_attribute("#connection-test-result", "class")
    shot(page, screenshot_dir, "20-save-and-test-ok", lang)

    # Another certificate that Azure does not know: the signature is refused, with its hint.
    (tmp_path / "other").mkdir()
    other, other_thumb = _pfx(tmp_path / "other")
    page.set_input_files("#id_certificate_file", str(other))
    page.fill("#id_certificate_password", PFX_PASSWORD)
    page.fill("#id_certificate_thumbprint", other_thumb)
    page.click("button[name=action][value=test]")
    page.wait_for_selector("#connection-test-result.bad")
    text = page.inner_text("#connection-test-result")
    assert "AADSTS700027" in text
    shot(page, screenshot_dir, "21-save-and-test-wrong-certificate", lang)

    # A thumbprint that does not belong to the .pfx is stopped before any network call.
    page.fill("#id_certificate_thumbprint", thumb)
    page.click("button[name=action][value=test]")
    page.wait_for_selector("#settings-form .errorlist")
    assert {"ja": "拇印: ", "en": "Thumbprint: "}[lang] in page.inner_text("#settings-form")

    # Back to the registered certificate, then the employee's calendars come from the mailbox.
    page.set_input_files("#id_certificate_file", str(pfx))
    page.fill("#id_certificate_password", PFX_PASSWORD)
    page.fill("#id_certificate_thumbprint", thumb)
    page.click("button[name=action][value=save]")
    page.wait_for_selector("#settings-form .notice.ok")
    page.goto(f"{base}/employees/{world['employee'].pk}/")
    page.check("input[name=state][value=on]")
    page.check("input[name=user_id_mode][value=login_at_domain]")
    page.click("text=" + {"ja": "カレンダーを読み込む", "en": "Load calendars"}[lang])
    page.wait_for_selector("#calendar-picker .checklist, #calendar-picker .notice")
    page.click("#calendar-picker button[data-fill-value='営業']")
    assert page.input_value("#id_calendar_name") == "営業"
    page.click("button[name=action][value=check]")
    page.wait_for_selector("#mailbox-check-result")
    assert "notice ok" in page.get_attribute("#mailbox-check-result", "class")
    shot(page, screenshot_dir, "22-employee-check-ok", lang)
    page.fill("#id_calendar_name", "存在しない予定表")
    page.click("button[name=action][value=check]")
    page.wait_for_selector("#mailbox-check-result.bad")
    assert "存在しない予定表" in page.inner_text("#mailbox-check-result")


# -- with the JUST.SFA and Microsoft 365 emulators ------------------------------------------------

JUSTSFA_TENANT = "acme"
WRONG_PANEL = "panel_doesnotexist0001"
JUSTSFA_TEXTS = {
    "ja": {
        "test_ok": "JUST.SFA に接続できました",
        "panel_message": f"識別名「{WRONG_PANEL}」（パネル識別名 / panel identifier）が見つかりません",
        "panel_hint": "パネル識別名 / panel identifier の識別名を確認してください",
        "saved": "設定を保存しました。",
        "create": "予定の作成",
        "created": "作成しました（連携）",
        "excluded": "対象外の設定に該当するため連携しません",
    },
    "en": {
        "test_ok": "Connected to JUST.SFA",
        "panel_message": f'does not know the identifier "{WRONG_PANEL}" (パネル識別名 / panel identifier)',
        "panel_hint": "Check the パネル識別名 / panel identifier identifier.",
        "saved": "Your settings were saved.",
        "create": "Create event",
        "created": "Created (sync)",
        "excluded": "Not synced: excluded by the exclusion rules",
    },
}


def indicator_hidden(page: Any, selector: str) -> bool:
    """The htmx busy indicator is out of sight: not visible to Playwright (visibility), opacity 0."""
    return not page.is_visible(selector) and page.eval_on_selector(
        selector, "e => getComputedStyle(e).opacity"
    ) in ("0", 0)


def log_rows(page: Any) -> list[str]:
    return [row.inner_text() for row in page.locator("#log-rows tr").all()]


def run_engine_until_quiescent(company_id: int, timeout: float = 30.0) -> None:
    """What the worker's ``process_company`` task runs: the company's inbox pass, until no entry waits."""
    deadline = time.monotonic() + timeout
    while True:
        process_inbox(company_id)
        waiting = InboxEntry.objects.filter(company_id=company_id, state=InboxState.PENDING).count()
        if waiting == 0:
            return
        assert time.monotonic() < deadline, f"{waiting} inbox entries still pending"
        time.sleep(0.2)


def step_justsfa_connection(page: Any, base: str, setup: Any, base_url: str, texts: dict[str, str]) -> None:
    """J1: every identifier typed in as the administrator copies them from JUST.SFA, then "save and test"."""
    page.goto(f"{base}/justsfa/")
    assert indicator_hidden(page, "#justsfa-busy")
    page.check("#id_enabled")
    page.fill("#id_tenant", JUSTSFA_TENANT)
    page.fill("#id_api_key", setup.api_key)
    for name, value in (
        ("table", setup.table_id),
        ("panel", setup.panel_id),
        ("schedule_field", setup.schedule_field),
        ("title_field", setup.title_field),
        ("location_field", setup.location_field),
        ("content_field", setup.content_field),
        ("filter", setup.filter_id),
    ):
        page.fill(f"#id_{name}", value)
    page.click("#justsfa-form details:has(#id_status_field) > summary")
    for name, value in (
        ("status_field", setup.status_field),
        ("kind_field", setup.kind_field),
        ("purpose_field", setup.purpose_field),
        ("business_field", setup.business_field),
        ("customer_field", setup.customer_field),
        ("address_field", setup.address_field),
        ("key_field", setup.key_field),
    ):
        page.fill(f"#id_{name}", value)
    page.click("#justsfa-form details:has(#id_base_url) > summary")
    page.fill("#id_base_url", base_url)  # the emulator stands in for https://acme.justsfa.com
    page.click("#justsfa-form button[name=action][value=test]")
    page.wait_for_selector("#justsfa-test-result")
    result = page.locator("#justsfa-test-result")
    assert "ok" in (result.get_attribute("class") or "").split(), result.inner_text()
    assert texts["test_ok"] in result.inner_text()
    assert setup.api_key not in page.content()  # the key is never shown again
    assert indicator_hidden(page, "#justsfa-busy")


def step_justsfa_wrong_panel(page: Any, texts: dict[str, str]) -> None:
    """J1/L2: one wrong identifier: the result names that field, with its hint."""
    page.fill("#id_panel", WRONG_PANEL)
    page.click("#justsfa-form button[name=action][value=test]")
    page.wait_for_selector("#justsfa-test-result.bad")
    text = page.inner_text("#justsfa-test-result")
    assert texts["panel_message"] in text and texts["panel_hint"] in text, text
    assert "source_identifier_invalid" in text


def step_mapping(page: Any, base: str, rows: list[tuple[str, str, str]]) -> None:
    """J3: one row per JUST.SFA user, typed in and tested against the mailbox."""
    for i, (name, user_id, mail) in enumerate(rows):
        page.goto(f"{base}/justsfa/users/" + ("?add=1" if i else ""))
        page.fill("#id_name-new", name)
        page.fill("#id_external_user_id-new", user_id)
        page.fill("#id_mail_address-new", mail)
        row = page.locator("form.maprow:has(#id_name-new)")
        assert row.locator("input[name=enabled]").is_checked()
        row.locator("button[name=action][value=test]").click()
        done = page.locator(f"form.maprow:has(input[name=external_user_id][value='{user_id}']) .notice")
        done.wait_for()
        assert "ok" in (done.get_attribute("class") or "").split(), done.inner_text()
    page.goto(f"{base}/justsfa/users/")
    assert page.locator("#mapping-rows form.maprow").count() == len(rows)


def step_personal_justsfa(page: Any, base: str, texts: dict[str, str]) -> None:
    """P2/P3: the employee picks the target calendar from the mailbox and excludes a purpose."""
    page.goto(f"{base}/me/settings/")
    assert indicator_hidden(page, "#personal-busy")
    assert page.is_checked("input[name=sync][value='1']")  # turned on by the user mapping
    page.click("#personal-form button[hx-target='#calendar-picker']")
    page.wait_for_selector("#calendar-picker .checklist")
    page.click("#calendar-picker button[data-fill-value='営業']")
    assert page.input_value("#id_calendar_name") == "営業"
    page.check("input[name=excluded_counted][value='情報提供']")
    page.click("#personal-form button[name=action][value=save]")
    page.wait_for_selector("#personal-form .notice.ok")
    assert texts["saved"] in page.inner_text("#personal-form .notice.ok")
    # At rest (right after the swap as much as later) the busy text is not shown.
    assert indicator_hidden(page, "#personal-busy")
    assert page.is_checked("input[name=excluded_counted][value='情報提供']")


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_j1_j3_p3_l1_justsfa_walk_schedule_lands_in_calendar(
    live_server, world, new_page, screenshot_dir, m365, justsfa, lang
):
    """J1 save and test (and a wrong panel named with its hint), J2 webhook, J3 user mapping, P2/P3
    an employee's calendar and exclusion, then two schedules from the JUST.SFA emulator: the allowed
    one is in the log (L1) and in the chosen calendar, the excluded one is not."""
    base = live_server.url
    texts = JUSTSFA_TEXTS[lang]
    company = world["company"]

    # Microsoft 365 already valid (the certificate walk through the screen is C7's test above).
    tenant = new_tenant(m365)
    wire_company(company.slug, tenant)
    taro_info = m365.control.create_user(tenant.tenant_id, f"taro@{tenant.domain}", calendars=["営業"])
    taro_box, hanako_box = taro_info.upn, tenant.mailbox("hanako")
    setup = justsfa.control.setup_schedule(
        JUSTSFA_TENANT,
        users=[{"userId": "taro", "name": "山田太郎"}, {"userId": "hanako", "name": "佐藤花子"}],
    )

    # -- the administrator: JUST.SFA connection, webhook, user mapping -------------------------
    admin = new_page(lang=lang)
    sign_in(admin, base, "admin")
    if lang != "ja":
        switch_language(admin, lang)
    step_justsfa_connection(admin, base, setup, justsfa.tenant_url(JUSTSFA_TENANT), texts)
    shot(admin, screenshot_dir, "30-justsfa-save-and-test-ok", lang)
    step_justsfa_wrong_panel(admin, texts)
    shot(admin, screenshot_dir, "31-justsfa-wrong-panel", lang)
    admin.fill("#id_panel", setup.panel_id)  # put right again
    admin.click("#justsfa-form button[name=action][value=test]")
    admin.wait_for_selector("#justsfa-test-result.ok")

    # J2: the webhook address shown on the screen goes into JUST.SFA's Webhook settings.
    hook_url = admin.input_value("#webhook-url")
    assert re.fullmatch(rf"{re.escape(base)}/hooks/justsfa/[A-Za-z0-9_-]{{16,64}}/?", hook_url), hook_url
    hook = justsfa.control.add_webhook(JUSTSFA_TENANT, setup.table_id, hook_url, title="sfacal")
    justsfa.control.test_webhook(JUSTSFA_TENANT, setup.table_id, hook["webhookId"])
    (test_send,) = justsfa.control.wait_deliveries(1, tenant=JUSTSFA_TENANT)
    assert test_send["state"] == "delivered", test_send

    step_mapping(
        admin,
        base,
        [("山田太郎", "taro", taro_box), ("佐藤花子", "hanako", hanako_box)],
    )
    shot(admin, screenshot_dir, "32-justsfa-user-mapping", lang)
    taro = Employee.objects.get(pk=world["employee"].pk)
    hanako = Employee.objects.get(company=company, login_id="hanako")
    assert (taro.state, taro.user_id, hanako.state) == (SyncState.ON, taro_box, SyncState.ON)

    # -- the employee (on a phone): target calendar and an exclusion ---------------------------
    phone = new_page(lang=lang, phone=True)
    sign_in(phone, base, "taro")
    if lang != "ja":
        switch_language(phone, lang)
    step_personal_justsfa(phone, base, texts)
    shot(phone, screenshot_dir, "33-justsfa-personal-settings-phone", lang)
    taro.refresh_from_db()
    assert taro.calendar_name == "営業" and "情報提供" in taro.excluded_purposes

    # -- a salesperson registers two schedules in JUST.SFA; the webhooks reach the live server -
    day = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).astimezone(dt.timezone(dt.timedelta(hours=9)))
    ymd = day.date().isoformat()

    def schedule(customer: str, address: str, purpose: str, hour: int) -> dict[str, Any]:
        return {
            setup.schedule_field: setup.schedule_value(
                f"{ymd}T{hour:02d}:00+09:00", f"{ymd}T{hour + 1:02d}:00+09:00", ["taro", "hanako"]
            ),
            setup.status_field: "予定",
            setup.kind_field: "商談",
            setup.purpose_field: purpose,
            setup.customer_field: customer,
            setup.address_field: address,
            setup.content_field: f"{customer}: {purpose}",
        }

    justsfa.control.create_record(
        JUSTSFA_TENANT, setup.table_id, schedule("赤木電機", "東京都千代田区", "定期訪問", 10)
    )
    justsfa.control.create_record(
        JUSTSFA_TENANT, setup.table_id, schedule("青木商事", "大阪府大阪市北区", "情報提供", 14)
    )
    deliveries = justsfa.control.wait_deliveries(3, tenant=JUSTSFA_TENANT)
    assert [d["state"] for d in deliveries] == ["delivered"] * 3, deliveries
    assert sorted(d["type"] for d in deliveries) == ["ADD_RECORD", "ADD_RECORD", "TEST"]
    run_engine_until_quiescent(company.pk)

    # -- the emulated calendars: exactly the allowed event in taro's 営業, both for hanako --------
    events = tenant.events(taro_box)
    assert [e["subject"] for e in events] == ["赤木電機/定期訪問"], events
    (event,) = events
    assert event["calendarId"] == taro_info.calendars["営業"] != taro_info.default_calendar_id
    assert event["location"]["displayName"] == "東京都千代田区"
    assert "赤木電機: 定期訪問" in event["body"]["content"]
    assert sorted(e["subject"] for e in tenant.events(hanako_box)) == [
        "赤木電機/定期訪問",
        "青木商事/情報提供",
    ]

    # -- the log: the administrator's, then the employee's own ------------------------------------
    admin.goto(f"{base}/log/")
    rows = log_rows(admin)
    create, created = texts["create"], texts["created"]
    made = [r for r in rows if "赤木電機/定期訪問" in r and create in r and created in r and taro_box in r]
    assert len(made) == 1 and "営業" in made[0], rows
    assert not [r for r in rows if "青木商事/情報提供" in r and create in r and taro_box in r], rows
    assert [r for r in rows if "青木商事/情報提供" in r and create in r and hanako_box in r], rows
    # P3: taro's excluded schedule is a skip line that says why, in the reader's language.
    skipped = [r for r in rows if "青木商事" in r and texts["excluded"] in r and "山田太郎" in r]
    assert len(skipped) == 1, rows
    assert not [r for r in rows if re.search(r"^(sync|excluded)$", r, re.M)], rows  # no raw reason codes
    shot(admin, screenshot_dir, "34-justsfa-log", lang)

    phone.goto(f"{base}/log/")
    own = log_rows(phone)
    assert [r for r in own if "赤木電機/定期訪問" in r and created in r], own
    assert [r for r in own if "青木商事" in r and texts["excluded"] in r], own
    assert not [r for r in own if hanako_box in r]  # U1: only their own lines
    assert_fits_phone(phone, [created, texts["excluded"]])
    shot(phone, screenshot_dir, "35-justsfa-own-log-phone", lang)

    csp = [e for e in admin.console_errors + phone.console_errors if "Content Security Policy" in e]
    assert csp == []
