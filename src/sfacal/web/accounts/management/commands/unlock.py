"""``sfacal unlock``: lift a sign-in pause (:mod:`sfacal.web.accounts.throttle`).

Guarantees:

- ``sfacal unlock NAME...`` forgets every counted failure of those user names (from any address),
  ``--address IP`` those of a client address; the pause ends at once. A name need not exist (unknown
  names are paused like known ones).
- Without names or addresses (or with ``--list``) it lists what is paused now: names, addresses, the
  failures counted and when the pause ends at the latest; it changes nothing.
- Refuses in one line, naming ``sfacal migrate``, while the schema is behind.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from sfacal.web.accounts import throttle
from sfacal.web.ops.schema import require_schema


class Command(BaseCommand):
    help = (
        "Lift a sign-in pause of user names or client addresses after too many failed sign-ins; "
        "without arguments, list what is paused now."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("names", nargs="*", metavar="NAME", help="user names to unlock")
        parser.add_argument(
            "--address",
            action="append",
            default=[],
            metavar="IP",
            help="a client address to unlock (repeatable)",
        )
        parser.add_argument("--list", action="store_true", help="only list what is paused now")

    def handle(self, *args: Any, **options: Any) -> None:
        require_schema()
        names: list[str] = options["names"]
        addresses: list[str] = options["address"]
        if options["list"] or not (names or addresses):
            self._list()
            return
        removed = throttle.lift(names=names, addresses=addresses)
        self.stdout.write(
            ngettext(
                "Unlocked: %(what)s (%(count)d failure record forgotten).",
                "Unlocked: %(what)s (%(count)d failure records forgotten).",
                removed,
            )
            % {"what": ", ".join([*names, *addresses]), "count": removed}
        )

    def _list(self) -> None:
        pauses = throttle.paused()
        if not pauses:
            self.stdout.write(_("No sign-in is paused."))
            return
        for pause in pauses:
            label = _("user name") if pause.kind == "name" else _("address")
            self.stdout.write(
                _("%(label)s %(value)s: %(failures)d failed sign-ins, paused until %(until)s at the latest")
                % {
                    "label": label,
                    "value": pause.value,
                    "failures": pause.failures,
                    "until": timezone.localtime(pause.until).strftime("%Y-%m-%d %H:%M"),
                }
            )
