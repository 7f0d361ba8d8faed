"""``sfacal createadmin``: a super-administrator, or a company administrator."""

from __future__ import annotations

import getpass
import os
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from sfacal.web.companies.models import Company, Membership, Role
from sfacal.web.companies.provisioning import ensure_company


class Command(BaseCommand):
    help = (
        "Create (or reset the password of) an administrator. Without --company: a super-administrator "
        "who manages companies. With --company CODE: that company's administrator (the company is "
        "created if needed). The password comes from --password, SFACAL_ADMIN_PASSWORD, or a prompt."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--email", default="")
        parser.add_argument("--password", default=None)
        parser.add_argument("--company", default=None, help="company code (slug)")
        parser.add_argument("--company-name", default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        password = options["password"] or os.environ.get("SFACAL_ADMIN_PASSWORD")
        if not password:
            password = getpass.getpass("Password: ")
            if password != getpass.getpass("Password (again): "):
                raise CommandError("The two passwords differ.")
        user_model = get_user_model()
        with transaction.atomic():
            user, created = user_model.objects.get_or_create(
                username=options["username"], defaults={"email": options["email"]}
            )
            try:
                validate_password(password, user)
            except ValidationError as exc:
                raise CommandError("Password rejected: " + " ".join(exc.messages)) from exc
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
        verb = "created" if created else "updated"
        where = f" of company {company.slug}" if company else ""
        self.stdout.write(self.style.SUCCESS(f"{Role(role).label} {user.username}{where} {verb}."))
