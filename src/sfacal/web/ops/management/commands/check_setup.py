"""``sfacal check``: is this installation able to run? Clear messages, non-zero exit on a problem."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from sfacal import config


def _data_dir() -> str:
    path = config.data_dir()
    probe = path / ".write-test"
    probe.write_text("ok")
    probe.unlink()
    return f"data directory {path} is writable"


def _database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    executor = MigrationExecutor(connection)
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if pending:
        raise RuntimeError(f"{len(pending)} database migrations are not applied: run `sfacal migrate`")
    return f"database ({connection.vendor}) reachable, schema up to date"


def _queue() -> str:
    from huey.contrib.djhuey import HUEY

    HUEY.pending_count()
    return f"work queue ({type(HUEY).__name__}) reachable"


def _secret_key() -> str:
    from sfacal.web import crypto

    token = crypto.encrypt_text("check")
    if crypto.decrypt_text(token) != "check":
        raise RuntimeError("the secret key does not round-trip")
    source = "SFACAL_SECRET_KEY" if os.environ.get("SFACAL_SECRET_KEY") else "data directory key file"
    return f"secret encryption key loaded from {source}"


def _stored_secrets() -> str:
    from sfacal.web.companies.models import CompanySettings
    from sfacal.web.crypto import SecretDecryptionError

    count = 0
    for row in CompanySettings.objects.all().iterator():
        try:
            _ = (row.client_secret, row.certificate_pfx, row.certificate_password)
        except SecretDecryptionError as exc:
            raise RuntimeError(f"company {row.company_id}: {exc}") from exc
        count += 1
    return f"stored secrets of {count} companies decrypt with the current key"


CHECKS: list[tuple[str, Callable[[], str]]] = [
    ("data", _data_dir),
    ("database", _database),
    ("queue", _queue),
    ("secret key", _secret_key),
    ("stored secrets", _stored_secrets),
]


class Command(BaseCommand):
    help = "Check the configuration: data directory, database, queue, encryption key."

    def handle(self, *args: Any, **options: Any) -> None:
        failures = 0
        for name, check in CHECKS:
            try:
                message = check()
            except Exception as exc:
                failures += 1
                self.stdout.write(self.style.ERROR(f"✗ {name}: {exc}"))
            else:
                self.stdout.write(self.style.SUCCESS(f"✓ {message}"))
        if settings.DEBUG:
            self.stdout.write(self.style.WARNING("! SFACAL_DEBUG is on: do not use it in production"))
        if failures:
            raise CommandError(f"{failures} check(s) failed")
