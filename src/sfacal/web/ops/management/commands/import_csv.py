"""``sfacal import schedules|employees FILE``: import a CSV file (see ``docs/csv-import.md``).

Guarantees: refuses in one line, naming ``sfacal migrate``, while the schema is behind; the report
and every message are in one language (``--lang``; default: the run's language from the command line,
the site's default language from code); exit status 1 if any row failed, or if the import stopped
midway (the report then says at which line; the lines before it are imported).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import get_language, override
from django.utils.translation import gettext as _

from sfacal.core.errors import normalize_lang
from sfacal.directory.companies.models import Company
from sfacal.sources.csv import ImportReport, import_employees, import_schedules
from sfacal.web.ops.schema import require_schema

PROGRESS_MIN_ROWS = 500


class _Progress:
    """A tqdm bar on stderr for large files, only when stderr is a terminal."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar: Any = None
        self.last = 0

    def total(self, rows: int) -> None:
        if self.enabled and rows >= PROGRESS_MIN_ROWS:
            from tqdm import tqdm

            self.bar = tqdm(total=rows, file=sys.stderr, unit="rows", leave=False)

    def update(self, done: int) -> None:
        if self.bar is not None:
            self.bar.update(done - self.last)
            self.last = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def resolve_company(code: str | None) -> Company:
    if code:
        company = Company.objects.filter(slug=code).first()
        if company is None:
            raise CommandError(_("No company with code %(code)s.") % {"code": code})
        return company
    companies = list(Company.objects.order_by("slug")[:2])
    if not companies:
        raise CommandError(_("There is no company yet."))
    if len(companies) > 1:
        codes = ", ".join(Company.objects.order_by("slug").values_list("slug", flat=True)[:20])
        raise CommandError(
            _("Several companies exist: choose one with --company CODE (%(codes)s).") % {"codes": codes}
        )
    return companies[0]


class Command(BaseCommand):
    help = (
        "Import employees (E6) or schedules from a CSV file (UTF-8 or Shift_JIS). Bad rows are "
        "reported by line and column and never stop the good ones. Exit status 1 if any row failed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("what", choices=["schedules", "employees"], help="what the file holds")
        parser.add_argument("file", help="the CSV file (- for standard input)")
        parser.add_argument("--company", default=None, help="company code (required with several companies)")
        parser.add_argument("--dry-run", action="store_true", help="report what would change; write nothing")
        parser.add_argument("--encoding", default=None, help="utf-8, utf-8-sig, cp932 ... (default: detect)")
        parser.add_argument(
            "--lang",
            choices=["ja", "en"],
            default=None,
            help="language of the report (default: the locale's)",
        )
        parser.add_argument(
            "--source", default="push", help="schedules: the source the records belong to (default: push)"
        )
        parser.add_argument("--max-errors", type=int, default=200, help="error lines to print (default 200)")

    def handle(self, *args: Any, **options: Any) -> None:
        # From the command line: the run's language (the locale's); from code (call_command): the
        # site's default, whatever a previous request left active.
        default = (
            get_language() if getattr(self, "_called_from_command_line", False) else settings.LANGUAGE_CODE
        )
        lang = options["lang"] or normalize_lang(default)
        with override(lang):
            self.run_import(lang, options)

    def run_import(self, lang: str, options: dict[str, Any]) -> None:
        path = options["file"]
        try:
            data = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
        except OSError as exc:
            raise CommandError(
                _("Cannot read %(path)s: %(error)s") % {"path": path, "error": exc.strerror}
            ) from exc
        require_schema()
        company = resolve_company(options["company"])
        progress = _Progress(enabled=sys.stderr.isatty())
        report: ImportReport
        try:
            if options["what"] == "employees":
                report = import_employees(
                    company,
                    data,
                    encoding=options["encoding"],
                    dry_run=options["dry_run"],
                    progress=progress.update,
                    on_total=progress.total,
                )
            else:
                report = import_schedules(
                    company,
                    data,
                    encoding=options["encoding"],
                    dry_run=options["dry_run"],
                    source=options["source"],
                    progress=progress.update,
                    on_total=progress.total,
                )
        finally:
            progress.close()
        if report.file_error is not None:
            raise CommandError(report.file_error.message(lang))
        self.stdout.write(report.format(lang, max_lines=options["max_errors"]))
        if report.stopped is not None:
            raise CommandError(report.stopped.message(lang), returncode=1)
        if report.errors:
            raise CommandError(
                _("Rows with errors: %(count)d") % {"count": len(report.error_lines)}, returncode=1
            )
