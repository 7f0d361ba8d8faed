"""``sfacal worker``: a queue consumer process (run several for scale-out).

Guarantee: refuses in one line, naming ``sfacal migrate``, while the schema is behind.
"""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from sfacal.web.ops.schema import require_schema


class Command(BaseCommand):
    help = "Run a worker process that executes queued sync work and periodic jobs."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--workers",
            type=int,
            default=None,
            help="threads in this process (default: SFACAL_WORKERS, else 4)",
        )
        parser.add_argument(
            "--no-periodic", action="store_true", help="do not run periodic jobs in this process"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        require_schema()
        extra = ["--worker-type", "thread"]
        if options["workers"] is not None:
            extra += ["--workers", str(options["workers"])]
        if options["no_periodic"]:
            extra.append("--no-periodic")
        call_command("run_huey", *extra)
