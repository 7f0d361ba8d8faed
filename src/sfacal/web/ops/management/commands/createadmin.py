"""``sfacal createadmin``: a super-administrator, or a company administrator.

Guarantees:

- Works on a fresh data directory: the database schema is created first if needed (silently, as
  ``sfacal serve`` does).
- The password comes from ``--password``, ``SFACAL_ADMIN_PASSWORD``, ``--password-stdin`` (one line of
  standard input, for scripts) or a prompt (twice); it passes Django's password validators.
- Prompts, messages and the validators' reasons are in one language, the run's
  (:mod:`sfacal.web.ops.language`). The password is never printed.
"""

from __future__ import annotations

import getpass
import os
import sys
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils.translation import gettext as _

from sfacal.directory.companies.models import Company, Membership, Role
from sfacal.directory.companies.provisioning import ensure_company
from sfacal.web.ops.schema import ensure_schema


def read_password(options: dict[str, Any]) -> str:
    if options["password_stdin"]:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise CommandError(_("No password on standard input."))
        return password
    password = options["password"] or os.environ.get("SFACAL_ADMIN_PASSWORD")
    if password:
        return str(password)
    if not sys.stdin.isatty():
        raise CommandError(
            _(
                "No password given: set SFACAL_ADMIN_PASSWORD, use --password-stdin, or run the command "
                "in a terminal to be asked for one."
            )
        )
    password = getpass.getpass(_("Password: "))
    if password != getpass.getpass(_("Password (again): ")):
        raise CommandError(_("The two passwords differ."))
    return password


class Command(BaseCommand):
    help = (
        "Create (or reset the password of) an administrator. Without --company: a super-administrator "
        "who manages companies. With --company CODE: that company's administrator (the company is "
        "created if needed). The password comes from --password, SFACAL_ADMIN_PASSWORD, "
        "--password-stdin or a prompt. Creates the database schema first on a fresh installation."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username", help="the sign-in name")
        parser.add_argument("--email", default="", help="mail address (optional)")
        parser.add_argument(
            "--password",
            default=None,
            help="the password (visible to other users of this machine: prefer SFACAL_ADMIN_PASSWORD or --password-stdin)",
        )
        parser.add_argument(
            "--password-stdin",
            action="store_true",
            help="read the password from the first line of standard input",
        )
        parser.add_argument(
            "--company", default=None, help="company code (slug): make that company's administrator"
        )
        parser.add_argument(
            "--company-name", default=None, help="the company's name when it is created (default: its code)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        password = read_password(options)
        ensure_schema()
        user_model = get_user_model()
        with transaction.atomic():
            user, created = user_model.objects.get_or_create(
                username=options["username"], defaults={"email": options["email"]}
            )
            try:
                validate_password(password, user)
            except ValidationError as exc:
                raise CommandError(
                    _("Password rejected: %(reasons)s") % {"reasons": " ".join(exc.messages)}
                ) from exc
            user.set_password(password)
            company: Company | None = None
            role: str
            if options["company"]:
                company = ensure_company(options["company"], options["company_name"] or options["company"])
                role = Role.COMPANY_ADMIN
                user.is_staff = False
                user.is_superuser = False
            else:
                role = Role.SUPER_ADMIN
                user.is_staff = True
                user.is_superuser = True
            user.save()
            Membership.objects.update_or_create(user=user, defaults={"company": company, "role": role})
        values = {"role": Role(role).label, "user": user.username, "company": company.slug if company else ""}
        if company is None:
            text = _("%(role)s %(user)s created.") if created else _("%(role)s %(user)s updated.")
        else:
            text = (
                _("%(role)s %(user)s of company %(company)s created.")
                if created
                else _("%(role)s %(user)s of company %(company)s updated.")
            )
        self.stdout.write(self.style.SUCCESS(text % values))
