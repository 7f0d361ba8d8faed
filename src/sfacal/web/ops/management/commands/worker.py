"""``sfacal worker``: a queue consumer process (run several for scale-out)."""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Run a worker process that executes queued sync work and periodic jobs."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--workers", type=int, default=4, help="threads in this process")
        parser.add_argument(
            "--no-periodic", action="store_true", help="do not run periodic jobs in this process"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        extra = ["--workers", str(options["workers"]), "--worker-type", "thread"]
        if options["no_periodic"]:
            extra.append("--no-periodic")
        call_command("run_huey", *extra)
