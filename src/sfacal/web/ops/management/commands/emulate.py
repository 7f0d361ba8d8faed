"""``sfacal emulate m365|google|justsfa --port N``: run a built-in emulator in the foreground."""

from __future__ import annotations

import importlib
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from sfacal import config

EMULATORS = {
    "m365": "sfacal.emulators.m365.__main__",
    "justsfa": "sfacal.emulators.justsfa.__main__",
    "google": "sfacal.emulators.google.__main__",
}


class Command(BaseCommand):
    help = "Run the Microsoft 365 (m365), Google Calendar (google) or JUST.SFA (justsfa) emulator over TLS in the foreground."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", choices=sorted(EMULATORS))
        parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
        parser.add_argument("--port", type=int, required=True, help="port to listen on")
        parser.add_argument(
            "--data-dir",
            default=None,
            help="where the emulator's CA and certificate live (default: <SFACAL_DATA_DIR>/emulators)",
        )
        parser.add_argument("extra", nargs="*", help="further options of the emulator (after --)")

    def handle(self, *args: Any, **options: Any) -> None:
        data_dir = options["data_dir"] or str(config.data_dir() / "emulators")
        module = importlib.import_module(EMULATORS[options["name"]])
        module.main(
            [
                "--host",
                options["host"],
                "--port",
                str(options["port"]),
                "--data-dir",
                data_dir,
                *options["extra"],
            ]
        )
