"""``sfacal sync --company X [--employee Y]``: re-plan a company's (or one employee's) stored
schedules now and print a summary (S10, "sync now").

Guarantees: refuses in one line, naming ``sfacal migrate``, while the schema is behind; messages in the
run's language; the summary itself is ``key=value`` (or ``--json``) for scripts.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from sfacal.directory.companies.models import Company
from sfacal.directory.employees.models import Employee
from sfacal.engine.passes import process_inbox
from sfacal.engine.sync import sync_now
from sfacal.web.ops.schema import require_schema


class Command(BaseCommand):
    help = "Sync a company's stored schedules (or one employee's) now and print a summary."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--company", required=True, help="company code (slug)")
        parser.add_argument("--employee", help="login ID of one employee")
        parser.add_argument("--json", action="store_true", help="print the summary as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        require_schema()
        company = Company.objects.filter(slug=options["company"]).first()
        if company is None:
            raise CommandError(_("No company with code %(code)s.") % {"code": options["company"]})
        employee = None
        if options.get("employee"):
            employee = Employee.objects.filter(company=company, login_id=options["employee"]).first()
            if employee is None:
                raise CommandError(
                    _("No employee with login ID %(login_id)s in company %(company)s.")
                    % {"login_id": options["employee"], "company": company.slug}
                )
        inbox = process_inbox(company.pk) if employee is None else None
        summary = sync_now(company, employee)
        if options["json"]:
            data = summary.as_dict()
            if inbox is not None:
                data["inbox"] = inbox.as_dict()
            self.stdout.write(json.dumps(data, ensure_ascii=False))
            return
        if inbox is not None and inbox.records:
            self.stdout.write(f"inbox: {inbox.as_dict()}")
        self.stdout.write(str(summary))
        if summary.failed:
            self.stdout.write(_("The failures are in the log, each with what to do: see the Log screen."))
