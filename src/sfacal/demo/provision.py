"""The demo company in the database: settings, sign-in accounts, JUST.SFA connection, user mappings.

Idempotent: every start finds the rows of the previous one (same data directory) and updates them;
nothing is duplicated. Because the emulators start empty each time, the demo company's sync state
(inbox, stored schedules, mirror rows, leases) is cleared at start; its log is kept.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q

from sfacal.directory.companies.certs import read_pfx
from sfacal.directory.companies.models import AuthMethod, Company, CompanySettings, Membership, Role
from sfacal.directory.companies.provisioning import ensure_company
from sfacal.directory.connections.models import SourceConnection, SourceKind, UserMapping
from sfacal.engine.models import InboxEntry, MailboxLease, MirrorEvent, StoredSchedule
from sfacal.sources.justsfa.mapping import sync_mapping_to_employee

from .people import (
    ADMIN_PASSWORD,
    ADMIN_USERNAME,
    COMPANY_NAME,
    COMPANY_SLUG,
    EMPLOYEE_PASSWORD,
    M365_CLIENT_ID,
    M365_DOMAIN,
    PEOPLE,
    WEBHOOK_HEADER,
)
from .world import World

__all__ = ["DemoRefusedError", "Secrets", "check_database", "prepare_company", "wire_company"]


class DemoRefusedError(RuntimeError):
    """The database holds real companies: the demo does not mix its sample data into them."""


@dataclass(frozen=True)
class Secrets:
    """Values the emulators must be told at every start (kept on the connection row)."""

    api_key: str
    webhook_secret: str


def check_database() -> None:
    """Refuse to run the demo on a database that holds any company but the demo's."""
    others = list(Company.objects.exclude(slug=COMPANY_SLUG).values_list("slug", flat=True)[:5])
    if others:
        raise DemoRefusedError(
            "the demo refuses to start: this database already holds other companies "
            f"({', '.join(others)}). Run the demo with its own data directory, e.g. "
            "SFACAL_DATA_DIR=./demo-data sfacal serve --demo"
        )


@transaction.atomic
def prepare_company() -> tuple[Company, Secrets]:
    """The demo company (created once) with its sync state cleared; the connection's secrets."""
    check_database()
    company = ensure_company(COMPANY_SLUG, COMPANY_NAME)
    InboxEntry.objects.filter(company=company).delete()
    StoredSchedule.objects.filter(company=company).delete()
    MirrorEvent.objects.filter(company=company).delete()
    for prefix in (f"company:{company.pk}", f"queued:{company.pk}"):  # and those of each inbox part
        MailboxLease.objects.filter(Q(key=prefix) | Q(key__startswith=prefix + ":")).delete()
    MailboxLease.objects.filter(key__startswith=f"mbx:{company.pk}:").delete()
    connection, _ = SourceConnection.objects.get_or_create(
        company=company, kind=SourceKind.JUSTSFA, name="default"
    )
    if not connection.api_key:
        connection.api_key = "demo-" + secrets.token_urlsafe(24)
    if not connection.webhook_header_value:
        connection.webhook_header_name = WEBHOOK_HEADER
        connection.webhook_header_value = secrets.token_urlsafe(24)
    connection.save()
    return company, Secrets(connection.api_key, connection.webhook_header_value)


def _account(username: str, password: str, company: Company, role: str, *, email: str = "") -> object:
    user_model = get_user_model()
    user, _ = user_model.objects.get_or_create(username=username, defaults={"email": email})
    user.set_password(password)
    user.is_staff = False
    user.is_superuser = False
    user.save()
    Membership.objects.update_or_create(user=user, defaults={"company": company, "role": role})
    return user


@transaction.atomic
def wire_company(company: Company, world: World) -> SourceConnection:
    """Point the company at the running emulators; accounts, masters, mappings. Returns the
    JUST.SFA connection (its webhook token names the URL the emulator delivers to)."""
    cert = world.certificate
    info = read_pfx(cert.pfx, cert.password)
    cs = CompanySettings.objects.get(company=company)
    cs.sync_enabled = True
    cs.write_to_calendar = True
    cs.personal_settings_allowed = True
    cs.client_id = M365_CLIENT_ID
    cs.auth_method = AuthMethod.CERTIFICATE
    cs.certificate_pfx = cert.pfx
    cs.certificate_password = cert.password
    cs.certificate_thumbprint = info.thumbprint_base64  # the first manual's 拇印 form
    cs.certificate_expires_at = info.not_after
    cs.domain = M365_DOMAIN
    cs.token_endpoint = world.token_endpoint
    cs.graph_base_url = world.m365.graph_url
    cs.batch_interval_minutes = 5
    cs.save()

    _account(ADMIN_USERNAME, ADMIN_PASSWORD, company, Role.COMPANY_ADMIN)

    s = world.setup
    connection = SourceConnection.objects.get(company=company, kind=SourceKind.JUSTSFA, name="default")
    connection.enabled = True
    connection.config = {
        "tenant": s.tenant,
        "base_url": world.justsfa_base_url,
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
    connection.poll_state = {}
    connection.save()

    for person in PEOPLE:
        mapping, created = UserMapping.objects.get_or_create(
            company=company,
            source=connection,
            external_user_id=person.login_id,
            defaults={"name": person.name, "mail_address": person.mailbox, "enabled": True},
        )
        if not created:
            mapping.name, mapping.mail_address, mapping.enabled = person.name, person.mailbox, True
            mapping.save()
        employee = sync_mapping_to_employee(mapping)
        user = _account(person.login_id, EMPLOYEE_PASSWORD, company, Role.EMPLOYEE, email=person.mailbox)
        employee.account = user  # type: ignore[assignment]
        employee.calendar_name = person.calendar
        employee.save(update_fields=["account", "calendar_name", "updated_at"])
    return connection
