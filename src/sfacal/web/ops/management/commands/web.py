"""``sfacal web``: only the web server (workers run elsewhere)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from sfacal.web.ops import runner


class Command(BaseCommand):
    help = "Run only the web server (use with separate `sfacal worker` processes)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"sfacal web on http://{options['host']}:{options['port']}/")
        runner.run_web(options["host"], options["port"])
