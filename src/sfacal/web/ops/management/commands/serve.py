"""``sfacal serve``: migrate, then the web server and the worker in one process.

Guarantees: the schema is created or upgraded first (a fresh data directory needs no other step);
``--help`` shows the default address and port; Ctrl+C or SIGTERM stops the server and the worker.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from sfacal.web.ops import runner
from sfacal.web.ops.runner import add_address_arguments
from sfacal.web.ops.schema import ensure_schema


class Command(BaseCommand):
    help = "Run the web server, the worker and the scheduler in one process (embedded default)."

    def add_arguments(self, parser: CommandParser) -> None:
        add_address_arguments(parser)
        parser.add_argument(
            "--workers", type=int, default=None, help="worker threads (default: SFACAL_WORKERS, else 4)"
        )
        parser.add_argument(
            "--demo",
            action="store_true",
            help="start the built-in Microsoft 365 and JUST.SFA emulators with a sample company",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        ensure_schema()
        demo = None
        if options["demo"]:
            from sfacal.demo import DemoRefusedError, start_demo

            try:
                demo = start_demo(web_url=f"http://{options['host']}:{options['port']}", stdout=self.stdout)
            except DemoRefusedError as exc:
                raise CommandError(str(exc)) from exc
        consumer = runner.start_worker(options["workers"])
        self.stdout.write(f"sfacal is serving on http://{options['host']}:{options['port']}/ (Ctrl+C stops)")
        try:
            runner.run_web(options["host"], options["port"])
        finally:
            runner.stop_worker(consumer)
            if demo is not None:
                demo.stop()
