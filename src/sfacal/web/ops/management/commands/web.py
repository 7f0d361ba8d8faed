"""``sfacal web``: only the web server (workers run elsewhere).

Guarantees: refuses in one line, naming ``sfacal migrate``, while the schema is behind (in a
scale-out the schema is upgraded once, deliberately); ``--help`` shows the default address and port.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from sfacal.web.ops import runner
from sfacal.web.ops.runner import add_address_arguments
from sfacal.web.ops.schema import require_schema


class Command(BaseCommand):
    help = "Run only the web server (use with separate `sfacal worker` processes)."

    def add_arguments(self, parser: CommandParser) -> None:
        add_address_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        require_schema()
        self.stdout.write(f"sfacal web on http://{options['host']}:{options['port']}/")
        runner.run_web(options["host"], options["port"])
