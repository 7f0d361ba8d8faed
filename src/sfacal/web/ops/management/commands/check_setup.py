"""``sfacal check``: is this installation able to run? ``--connections``: can every company sync?

Guarantees:

- Machine checks: the data directory is writable, its files are private to the service's user
  (directories 0700, files 0600: one ✗ line per looser path, with the ``chmod`` that fixes it), the
  database is reachable and its schema up to date, the work queue is reachable, the encryption key
  round-trips, and every stored secret decrypts with it. Each prints one line, ✓ or ✗ with what to do.
- Checks that read the companies' rows are skipped, with the reason, while the schema is behind
  (one ✗ line says to run ``sfacal migrate``; no "no such table" error).
- ``--connections`` then tests every company's Microsoft 365 app and SFA connections
  (:mod:`sfacal.web.ops.connection_report`).
- Exit status 1 when anything failed. Output in the run's language (:mod:`sfacal.web.ops.language`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from sfacal import config
from sfacal.web.ops import connection_report, file_modes, schema

MAX_LOOSE_LINES = 5


class SkippedError(Exception):
    """A check that cannot run until an earlier one passes."""


class ProblemsError(Exception):
    """A check that found several problems, one line each."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("; ".join(lines))
        self.lines = lines


def _data_dir() -> str:
    path = config.data_dir()
    probe = path / ".write-test"
    probe.write_text("ok")
    probe.unlink()
    return _("data directory %(path)s is writable") % {"path": path}


def _file_modes() -> str:
    path = config.data_dir()
    database = settings.DATABASES["default"]
    database_file = Path(str(database["NAME"])) if str(database["ENGINE"]).endswith("sqlite3") else None
    loose = file_modes.loose_paths(path, database_file)
    if not loose:
        return _("files of the data directory are private to this user (0700/0600)")
    lines = [
        (
            _("%(path)s is open to other users (mode %(mode)s): run `%(fix)s`")
            if item.is_dir
            else _("%(path)s is readable by other users (mode %(mode)s): run `%(fix)s`")
        )
        % {"path": item.path, "mode": f"{item.mode:04o}", "fix": item.fix}
        for item in loose[:MAX_LOOSE_LINES]
    ]
    if len(loose) > MAX_LOOSE_LINES:
        lines.append(
            _("%(count)d more paths like these: run `chmod -R go-rwx %(path)s`")
            % {"count": len(loose) - MAX_LOOSE_LINES, "path": path}
        )
    raise ProblemsError(lines)


def _database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    pending = schema.pending_migrations()
    if pending:
        raise RuntimeError(
            ngettext(
                "%(count)d database migration is not applied: run `sfacal migrate`",
                "%(count)d database migrations are not applied: run `sfacal migrate`",
                pending,
            )
            % {"count": pending}
        )
    return _("database (%(vendor)s) reachable, schema up to date") % {"vendor": connection.vendor}


def _queue() -> str:
    from huey.contrib.djhuey import HUEY

    HUEY.pending_count()
    return _("work queue (%(kind)s) reachable") % {"kind": type(HUEY).__name__}


def _secret_key() -> str:
    from sfacal.directory import crypto

    token = crypto.encrypt_text("check")
    if crypto.decrypt_text(token) != "check":
        raise RuntimeError(_("the secret key does not round-trip"))
    if os.environ.get("SFACAL_SECRET_KEY"):
        return _("secret encryption key loaded from SFACAL_SECRET_KEY")
    return _("secret encryption key loaded from the data directory's key file")


def _stored_secrets() -> str:
    from sfacal.directory.companies.models import CompanySettings
    from sfacal.directory.crypto import SecretDecryptionError

    if schema.pending_migrations():
        raise SkippedError
    count = 0
    for row in CompanySettings.objects.all().iterator():
        try:
            _unused = (row.client_secret, row.certificate_pfx, row.certificate_password)
        except SecretDecryptionError as exc:
            raise RuntimeError(
                _("company %(company)s: %(error)s") % {"company": row.company_id, "error": exc}
            ) from exc
        count += 1
    return ngettext(
        "stored secrets of %(count)d company decrypt with the current key",
        "stored secrets of %(count)d companies decrypt with the current key",
        count,
    ) % {"count": count}


def _names() -> dict[str, str]:
    return {
        "data": _("data directory"),
        "file modes": _("file permissions"),
        "database": _("database"),
        "queue": _("work queue"),
        "secret key": _("secret key"),
        "stored secrets": _("stored secrets"),
    }


CHECKS: list[tuple[str, Callable[[], str]]] = [
    ("data", _data_dir),
    ("file modes", _file_modes),
    ("database", _database),
    ("queue", _queue),
    ("secret key", _secret_key),
    ("stored secrets", _stored_secrets),
]


class Command(BaseCommand):
    help = (
        "Check this installation: data directory, database and its schema, work queue, encryption key. "
        "With --connections, also test every company's Microsoft 365 app and SFA connections, as the "
        "screens' test buttons do. Exit status 1 if anything failed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--connections",
            action="store_true",
            help="also test every company's Microsoft 365 app, JUST.SFA connections and push write-back",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        failures = 0
        names = _names()
        for key, check in CHECKS:
            try:
                message = check()
            except SkippedError:
                self.stdout.write(f"- {names[key]}: " + _("not checked until the schema is up to date"))
            except ProblemsError as problems:
                failures += 1
                for line in problems.lines:
                    self.stdout.write(self.style.ERROR(f"✗ {names[key]}: {line}"))
            except Exception as exc:
                failures += 1
                self.stdout.write(self.style.ERROR(f"✗ {names[key]}: {exc}"))
            else:
                self.stdout.write(self.style.SUCCESS(f"✓ {message}"))
        if settings.DEBUG:
            self.stdout.write(self.style.WARNING("! " + _("SFACAL_DEBUG is on: do not use it in production")))
        if options["connections"]:
            if schema.pending_migrations():
                self.stdout.write("- " + _("connections: not checked until the schema is up to date"))
            else:
                self.stdout.write("")
                failures += connection_report.report(self.stdout.write)
        if failures:
            raise CommandError(
                ngettext("%(count)d check failed", "%(count)d checks failed", failures) % {"count": failures}
            )
