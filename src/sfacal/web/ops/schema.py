"""Is the database schema up to date? For the commands that need it.

Guarantees:

- :func:`pending_migrations` counts the migrations not yet applied; it reads the migration table only
  and works on an empty database (every migration is then pending).
- :func:`ensure_schema` applies pending migrations without output: what ``sfacal serve`` and
  ``sfacal createadmin`` do, so that a fresh installation needs no separate step.
- :func:`require_schema` refuses, with one line that names the command to run (``sfacal migrate``),
  when the schema is behind: what the commands do that an operator runs against a deployed database
  (``web``, ``worker``, ``import``, ``sync``, ``rotate-key``), where migrating is a deliberate step.
- A database that cannot be reached is a one-line :class:`CommandError` too, never a traceback.
"""

from __future__ import annotations

from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.utils.translation import gettext as _
from django.utils.translation import ngettext


def pending_migrations() -> int:
    try:
        executor = MigrationExecutor(connection)
        return len(executor.migration_plan(executor.loader.graph.leaf_nodes()))
    except DatabaseError as exc:
        raise CommandError(unreachable(exc)) from exc


def unreachable(exc: BaseException) -> str:
    return _("Cannot use the database (%(vendor)s): %(error)s") % {
        "vendor": connection.vendor,
        "error": str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__,
    }


def require_schema() -> None:
    pending = pending_migrations()
    if pending:
        raise CommandError(
            ngettext(
                "The database schema is not up to date (%(count)d migration pending): run `sfacal migrate` first.",
                "The database schema is not up to date (%(count)d migrations pending): run `sfacal migrate` first.",
                pending,
            )
            % {"count": pending}
        )


def ensure_schema() -> None:
    if pending_migrations():
        try:
            call_command("migrate", interactive=False, verbosity=0)
        except DatabaseError as exc:
            raise CommandError(unreachable(exc)) from exc
