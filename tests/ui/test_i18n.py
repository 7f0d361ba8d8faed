"""Every screen string is translated, and the compiled catalogs match their sources."""

from __future__ import annotations

import ast
import gettext
import re
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from sfacal.core.errors import ERROR_TYPES
from sfacal.core.policy import Reason
from sfacal.core.schedule import AllDaySpan, Schedule, SourceRef, TimedSpan
from sfacal.core.settings import OUTSIDE_MASTER, UNSELECTED
from sfacal.directory.companies.models import BusinessName, Purpose, Role
from sfacal.directory.companies.provisioning import ensure_company
from sfacal.directory.connections.models import ApiToken, SourceConnection, SourceKind, UserMapping
from sfacal.directory.employees.models import Employee
from sfacal.engine.models import LogResult, MirrorEvent, StoredSchedule, SyncLogEntry, Trigger
from sfacal.web.accounts.invitations import create_account, invitation_path
from sfacal.web.logs.presenters import OPERATIONS
from tests.engine.fakecal import FakeCalendar, installed
from tests.ui.conftest import make_user, signed_in
from tests.ui.test_permissions import ADMIN_ONLY

LOCALE = Path(__file__).resolve().parents[2] / "src" / "sfacal" / "web" / "locale"


def read_po(path: Path) -> dict[str, list[str]]:
    """msgid (or msgid + NUL + msgid_plural) -> its msgstr forms, for a catalog without wrapped lines."""
    entries: dict[str, list[str]] = {}
    msgid = plural = None
    forms: list[str] = []

    def flush() -> None:
        if msgid:
            entries[msgid + ("\x00" + plural if plural else "")] = list(forms)

    def literal(text: str) -> str:
        return ast.literal_eval(text)

    last: str | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("msgid "):
            flush()
            msgid, plural, forms, last = literal(line[6:]), None, [], "msgid"
        elif line.startswith("msgid_plural "):
            plural, last = literal(line[13:]), "plural"
        elif line.startswith("msgstr["):
            forms.append(literal(line.split(" ", 1)[1]))
            last = "msgstr"
        elif line.startswith("msgstr "):
            forms.append(literal(line[7:]))
            last = "msgstr"
        elif line.startswith('"') and last == "msgstr":
            forms[-1] += literal(line)
        elif line.startswith('"') and last == "msgid" and msgid is not None:
            msgid += literal(line)
    flush()
    return entries


def test_every_japanese_msgid_is_translated():
    entries = read_po(LOCALE / "ja" / "LC_MESSAGES" / "django.po")
    assert len(entries) > 300
    missing = [k for k, forms in entries.items() if not forms or not all(forms)]
    assert missing == []


def test_fuzzy_entries_are_not_left_behind():
    for lang in ("ja", "en"):
        assert "#, fuzzy" not in (LOCALE / lang / "LC_MESSAGES" / "django.po").read_text(encoding="utf-8")


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_compiled_catalog_matches_po(lang):
    entries = read_po(LOCALE / lang / "LC_MESSAGES" / "django.po")
    with (LOCALE / lang / "LC_MESSAGES" / "django.mo").open("rb") as handle:
        catalog = gettext.GNUTranslations(handle)._catalog  # type: ignore[attr-defined]
    for key, forms in entries.items():
        if not any(forms):
            continue
        if "\x00" in key:
            msgid = key.split("\x00")[0]
            for i, form in enumerate(forms):
                assert catalog.get((msgid, i)) == form, key
        else:
            assert catalog.get(key) == forms[0], key
    translated = {k for k, f in entries.items() if any(f)}
    compiled = {k for k in catalog if k != "" and isinstance(k, str)}
    assert compiled <= {k.split("\x00")[0] for k in translated}


def test_placeholders_survive_translation():
    entries = read_po(LOCALE / "ja" / "LC_MESSAGES" / "django.po")
    pattern = re.compile(r"%\(\w+\)[sd]")
    for key, forms in entries.items():
        wanted = sorted(pattern.findall(key.split("\x00")[0]))
        for form in forms:
            assert sorted(pattern.findall(form)) == wanted, key


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="gettext tools not installed")
def test_catalog_has_every_string_of_the_code(tmp_path):
    """Extracting the strings again finds nothing that the committed catalog lacks."""
    src = LOCALE.parents[1]
    files = [
        p for p in (src / "web").rglob("*") if p.suffix in (".py", ".html") and "migrations" not in p.parts
    ]
    files += [src / "engine" / "models.py"]
    files += [p for p in (src / "directory").rglob("*.py") if "migrations" not in p.parts]
    py = [str(p) for p in files if p.suffix == ".py"]
    html = [p for p in files if p.suffix == ".html"]
    # Templates are turned into gettext calls the way Django's makemessages does.
    from django.utils.translation import template as tmpl

    converted = []
    for i, path in enumerate(html):
        out = tmp_path / f"t{i}.py"
        out.write_text(tmpl.templatize(path.read_text(encoding="utf-8"), origin=str(path)), encoding="utf-8")
        converted.append(str(out))
    pot = tmp_path / "all.pot"
    base = [
        "xgettext",
        "--from-code=UTF-8",
        "-o",
        str(pot),
        "--no-wrap",
        "--keyword=gettext_noop",
        "--keyword=gettext_lazy",
        "--keyword=ngettext_lazy:1,2",
        "--keyword=pgettext:1c,2",
        "--keyword=npgettext:1c,2,3",
        "--keyword=pgettext_lazy:1c,2",
        "-L",
        "Python",
    ]
    subprocess.run([*base, *py, *converted], check=True, capture_output=True)
    wanted = {k.split("\x00")[0] for k in read_po(pot)}
    have = {k.split("\x00")[0] for k in read_po(LOCALE / "ja" / "LC_MESSAGES" / "django.po")}
    assert sorted(wanted - have) == []


# -- English pages show no Japanese ----------------------------------------------------------------
# Every screen of the three roles is rendered in English with user data that is ASCII only (company,
# employees, masters, connections, schedules, log lines), so any Japanese character on the page is a
# system word that was not translated. Two things are Japanese on purpose: the language selector
# names Japanese in Japanese (日本語), and the JUST.SFA screen suggests JUST.SFA's own standard status
# values (予定 / 実績, what that Japanese product sends) as placeholders. The exclusion checkboxes
# carry the stored pseudo-entries (未選択, マスタ設定値以外) as their values; their labels are translated.

JAPANESE = re.compile(
    "[\u3000-\u303f\u3040-\u309f\u30a0-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff01-\uffef]"
)
ON_PURPOSE = (
    re.compile(r'<option value="ja"[^>]*>[^<]*</option>'),
    re.compile(r'placeholder="(予定|実績)"'),
    re.compile(r'<input type="checkbox" name="excluded_\w+" value="(未選択|マスタ設定値以外)"'),
)


def japanese_in(text: str) -> list[str]:
    """Each line of ``text`` with Japanese characters (besides :data:`ON_PURPOSE`), trimmed."""
    for pattern in ON_PURPOSE:
        text = pattern.sub("", text)
    return sorted({line.strip() for line in text.splitlines() if JAPANESE.search(line)})


def english_world() -> dict[str, object]:
    """A company whose every user-entered value is ASCII, with something on every screen."""

    now = timezone.now()
    company = ensure_company("acme", "ACME Corp")
    Purpose.objects.filter(company=company).delete()
    BusinessName.objects.filter(company=company).delete()
    Purpose.objects.create(company=company, name="Regular visit", counted_as_visit=True, position=0)
    Purpose.objects.create(company=company, name="Phone call", counted_as_visit=False, position=1)
    BusinessName.objects.create(company=company, name="Paperwork", position=0)
    settings = company.sync_settings
    for name, value in {
        "sync_enabled": True,
        "write_to_calendar": True,
        "domain": "acme.example.com",
        "client_id": "11111111-2222-3333-4444-555555555555",
        "auth_method": "secret",
        "client_secret": "not-a-real-secret",
        "client_secret_expires_at": now + timedelta(days=10),
        "token_endpoint": "https://login.example.com/acme/oauth2/v2.0/token",
        "last_test_at": now,
        "last_test_ok": False,
        "last_test_code": "secret_invalid",
    }.items():
        setattr(settings, name, value)
    settings.save()

    root = make_user(None, "root", Role.SUPER_ADMIN)
    admin = make_user(company, "admin", Role.COMPANY_ADMIN)
    taro = Employee.objects.create(
        company=company,
        login_id="taro",
        name="Taro Yamada",
        email="taro@acme.example.com",
        account=make_user(company, "taro", Role.EMPLOYEE),
        state="on",
        user_id_mode="login_at_domain",
        calendar_name="Sales",
        sync_start=now - timedelta(days=30),
        excluded_purposes=[UNSELECTED, OUTSIDE_MASTER, "Phone call"],
        excluded_business_names=[UNSELECTED, OUTSIDE_MASTER],
        last_result="failed",
        last_error_code="calendar_not_found",
        last_synced_at=now,
    )
    hanako = Employee.objects.create(company=company, login_id="hanako", name="Hanako Sato", state="off")
    hanako.account = create_account(company, "hanako", "hanako@acme.example.com")
    hanako.save()
    Employee.objects.create(company=company, login_id="jiro", name="Jiro Suzuki", state="forbidden")

    justsfa = SourceConnection.objects.create(
        company=company,
        kind=SourceKind.JUSTSFA,
        name="default",
        config={"tenant": "acme", "plan_values": ["Plan", "Tentative"], "actual_values": ["Done"]},
        last_test_at=now,
        last_test_ok=False,
        last_test_code="source_auth_failed",
    )
    UserMapping.objects.create(
        company=company,
        source=justsfa,
        name="Taro Yamada",
        external_user_id="u-1",
        mail_address="taro@acme.example.com",
        employee=taro,
        last_test_ok=False,
        last_test_code="mailbox_not_found",
    )
    SourceConnection.objects.create(
        company=company,
        kind=SourceKind.PUSH,
        name="default",
        callback_url="https://sfa.example.com/callback",
        last_test_at=now,
        last_test_ok=False,
        last_test_code="callback_unauthorized",
    )
    ApiToken.objects.create(company=company, name="SFA production", prefix="sfa_abcd", token_hash="0" * 64)

    def line(trigger: str, operation: str, result: str, **fields: object) -> SyncLogEntry:
        return SyncLogEntry(
            company=company,
            login_id="taro",
            employee=taro,
            mailbox="taro@acme.example.com",
            calendar_name="Sales",
            trigger=trigger,
            operation=operation,
            result=result,
            **fields,
        )

    lines = [
        line(
            Trigger.WEBHOOK,
            "create",
            LogResult.FAILURE,
            error_code=code,
            subject="ACME Inc/Regular visit",
            record_id="r1",
            source="justsfa",
        )
        for code in ERROR_TYPES
    ]
    for reason in Reason:  # every planner reason, the exclusions with each pseudo-entry
        params = {"purpose": UNSELECTED} if reason is Reason.EXCLUDED else {}
        lines.append(
            line(Trigger.BATCH, "skip", LogResult.SKIPPED, message=reason.value, error_params=params)
        )
    lines.append(
        line(
            Trigger.BATCH,
            "skip",
            LogResult.SKIPPED,
            message="excluded",
            error_params={"business_name": OUTSIDE_MASTER},
        )
    )
    lines += [line(Trigger.PUSH, operation, LogResult.SUCCESS, message="sync") for operation in OPERATIONS]
    lines += [line(trigger, "update", LogResult.WARNING, error_code="throttled") for trigger in Trigger]
    SyncLogEntry.objects.bulk_create(lines)

    def stored(record: str, **fields: object) -> None:
        schedule = Schedule(
            ref=SourceRef("acme", "push", record),
            kind="meeting",
            status="plan",
            updated_at=now,
            customer_name="ACME Inc",
            purpose="Regular visit",
            participants=("taro",),
            **fields,
        )
        StoredSchedule.objects.create(
            company=company,
            source="push",
            record_id=record,
            payload=schedule.to_dict(),
            content_hash=record,
            starts_at=now,
        )

    stored("r1", span=TimedSpan(now, now + timedelta(hours=1)))
    stored("r2", span=AllDaySpan(now.date(), now.date() + timedelta(days=2)))
    for i, state in enumerate(("pending_create", "synced", "failed", "removed", "lost")):
        MirrorEvent.objects.create(
            company=company,
            source="push",
            record_id=f"r{i % 2 + 1}",
            employee=taro,
            login_id="taro",
            mailbox=f"taro{i}@acme.example.com",
            calendar_name="Sales",
            transaction_id=f"tx{i}",
            state=state,
            last_error_code="throttled" if state == "failed" else "",
        )
    return {"root": root, "admin": admin, "taro": taro, "hanako": hanako, "company": company}


@pytest.mark.django_db
def test_english_pages_show_no_japanese_outside_user_data(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    world = english_world()
    taro, hanako = world["taro"], world["hanako"]
    assert isinstance(taro, Employee) and isinstance(hanako, Employee)
    found: dict[str, list[str]] = {}
    visited: list[str] = []

    def check(
        c: Client,
        method: str,
        url: str,
        data: dict[str, object] | None = None,
        status: tuple[int, ...] = (200,),
        **extra: object,
    ) -> str:
        """Request a page (following redirects) and note the Japanese lines it has."""
        send = c.post if method == "POST" else c.get
        response = send(url, data or {}, follow=True, **extra)
        label = f"#{len(visited)} {method} {url} {data or ''}"
        assert response.status_code in status, label
        if response.streaming:
            text = b"".join(response.streaming_content).decode("utf-8-sig")
        else:
            text = response.content.decode("utf-8-sig")
        visited.append(label)
        if japanese_in(text):
            found[label] = japanese_in(text)
        return text

    anonymous = Client(HTTP_ACCEPT_LANGUAGE="en")
    anonymous.cookies["django_language"] = "en"
    root, admin = signed_in(world["root"], "en"), signed_in(world["admin"], "en")
    employee = signed_in(taro.account, "en")
    # Sign-in, invitations, not found
    check(anonymous, "GET", reverse("login"))
    check(anonymous, "POST", reverse("login"), {"username": "admin", "password": "wrong"}, status=(401,))
    invitation = invitation_path(hanako.account)
    check(anonymous, "GET", invitation)
    check(anonymous, "POST", invitation, {"new_password1": "a", "new_password2": "b"})
    bad = (
        invitation.rstrip("/").rsplit("/", 1)[0]
        + "/x-"
        + default_token_generator.make_token(hanako.account)
        + "/"
    )
    check(anonymous, "GET", bad, status=(410,))
    check(anonymous, "GET", "/no-such-page/", status=(404,))
    # Super-administrator
    check(root, "GET", reverse("companies"))
    check(root, "GET", reverse("company_new"))
    check(root, "POST", reverse("company_new"), {"slug": "bad slug!", "timezone": "Nowhere/City"})
    # Company administrator
    with installed(FakeCalendar(default_calendar="Calendar")) as fake:
        fake.add_mailbox("taro@acme.example.com", "Other")
        for name in (*ADMIN_ONLY, "dashboard", "push_connection", "logs"):
            check(admin, "GET", reverse(name))
        check(admin, "GET", reverse("employees"), {"q": "taro", "state": "on"})
        check(
            admin, "POST", reverse("company_settings"), {"batch_interval_minutes": "0", "graph_base_url": "x"}
        )
        check(admin, "POST", reverse("masters"), {"kind": "purpose", "p-name": ""})
        check(admin, "POST", reverse("masters"), {"kind": "business", "b-name": "Paperwork"})
        check(
            admin,
            "POST",
            reverse("employee_new"),
            {"login_id": "", "state": "on", "user_id_mode": "explicit"},
        )
        check(admin, "GET", reverse("employee_edit", args=[taro.pk]))
        check(
            admin,
            "POST",
            reverse("employee_edit", args=[taro.pk]),
            {
                "login_id": "taro",
                "name": "Taro Yamada",
                "state": "on",
                "user_id_mode": "login_at_domain",
                "calendar_name": "Sales",
                "action": "check",
            },
        )
        check(admin, "POST", reverse("employee_invite", args=[hanako.pk]))
        check(
            admin,
            "GET",
            reverse("employee_calendars"),
            {"user_id_mode": "login_at_domain", "login_id": "taro"},
        )
        check(
            admin,
            "GET",
            reverse("employee_calendars"),
            {"user_id_mode": "explicit", "user_id": "nobody@x.example"},
        )
        check(admin, "POST", reverse("employee_bulk"), {"ids": [taro.pk]})
        upload = "login_id,name,email,state,user_id_mode,calendar\nnew1,New One,x,maybe,sometimes,\nnew1,Dup,,on,,\n"
        check(
            admin,
            "POST",
            reverse("employee_import"),
            {"file": SimpleUploadedFile("e.csv", upload.encode(), "text/csv")},
        )
        check(
            admin,
            "POST",
            reverse("employee_import"),
            {"file": SimpleUploadedFile("e.csv", b"login_id,colour\na,b\n", "text/csv")},
        )
        check(
            admin,
            "POST",
            reverse("employee_import"),
            {"file": SimpleUploadedFile("e.csv", b"name\nA\n", "text/csv")},
        )
        check(admin, "GET", reverse("employee_export"), {"what": "employees", "encoding": "utf-8-sig"})
        check(admin, "GET", reverse("employee_export"), {"what": "template", "encoding": "cp932"})
        check(admin, "GET", reverse("employee_events", args=[taro.pk]))
        check(admin, "GET", reverse("employee_events", args=[taro.pk]), {"state": "lost"})
        check(
            admin,
            "GET",
            reverse("employee_events", args=[taro.pk]),
            {"date_from": "2030-01-02", "date_to": "2030-01-01"},
        )
        check(admin, "POST", reverse("justsfa"), {"action": "save", "tenant": ""})
        check(admin, "POST", reverse("webhook_regenerate"))
        check(
            admin,
            "POST",
            reverse("mapping_new"),
            {"name": "X", "external_user_id": "u-1", "mail_address": "nope"},
            HTTP_HX_REQUEST="true",
        )
        mapping = UserMapping.objects.get(external_user_id="u-1")
        check(
            admin,
            "POST",
            reverse("mapping_row", args=[mapping.pk]),
            {"name": "", "external_user_id": "u-1", "mail_address": "nope", "action": "save"},
            HTTP_HX_REQUEST="true",
        )
        check(admin, "POST", reverse("api_tokens"), {"name": "Second SFA"})
        check(admin, "POST", reverse("api_tokens"), {"name": ""})
        check(admin, "POST", reverse("api_token_revoke", args=[ApiToken.objects.get(name="Second SFA").pk]))
        check(admin, "POST", reverse("push_connection"), {"callback_url": "not a url", "action": "save"})
        check(admin, "POST", reverse("push_connection"), {"callback_url": "", "action": "test"})
        page = 1
        while True:
            text = check(admin, "GET", reverse("logs"), {"page": page})
            if 'rel="next"' not in text and f"page={page + 1}" not in text:
                break
            page += 1
        assert page >= 2  # every line was shown
        check(admin, "GET", reverse("logs"), {"result": "failure", "fragment": "rows"})
        check(admin, "GET", reverse("logs"), {"date_from": "2030-01-02", "date_to": "2030-01-01"})
        check(admin, "GET", reverse("log_export"))
        check(admin, "GET", reverse("my_events"), status=(404,))
        # Employee
        for name in ("dashboard", "personal_settings", "my_events", "logs"):
            check(employee, "GET", reverse(name))
        check(employee, "GET", reverse("personal_calendars"), {"user_id_mode": "login_at_domain"})
        check(
            employee,
            "POST",
            reverse("personal_settings"),
            {"sync": "1", "user_id_mode": "explicit", "user_id": "", "action": "save"},
        )
        check(
            employee,
            "POST",
            reverse("personal_settings"),
            {"sync": "1", "user_id_mode": "login_at_domain", "calendar_name": "Sales", "action": "check"},
        )
        check(employee, "GET", reverse("company_settings"), status=(403,))
    assert len(visited) > 50
    assert found == {}


@pytest.mark.django_db
def test_p3_pseudo_entries_are_shown_in_the_readers_language_and_stored_unchanged(employee, company):
    page = {
        lang: signed_in(employee.account, lang).get(reverse("personal_settings")).content.decode()
        for lang in ("ja", "en")
    }
    for value in (UNSELECTED, OUTSIDE_MASTER):
        assert f'value="{value}"' in page["en"] and f'value="{value}"' in page["ja"]
    assert "*None chosen*" in page["en"] and "*Not in the master*" in page["en"]
    assert "*未選択*" in page["ja"] and "*マスタ設定値以外*" in page["ja"]
    assert "*未選択*" not in page["en"]
    english = signed_in(employee.account, "en")
    english.post(
        reverse("personal_settings"),
        {
            "sync": "1",
            "user_id_mode": "login_at_domain",
            "excluded_uncounted": [UNSELECTED],
            "action": "save",
        },
    )
    employee.refresh_from_db()
    assert employee.excluded_purposes == [UNSELECTED]  # the stored value does not depend on the language
    SyncLogEntry.objects.create(
        company=company,
        employee=employee,
        login_id=employee.login_id,
        trigger=Trigger.BATCH,
        operation="skip",
        result=LogResult.SKIPPED,
        message="excluded",
        error_params={"purpose": UNSELECTED},
    )
    assert "(purpose *None chosen*)" in english.get(reverse("logs")).content.decode()
    japanese = signed_in(employee.account, "ja").get(reverse("logs")).content.decode()
    assert "（商談目的: *未選択*）" in japanese
