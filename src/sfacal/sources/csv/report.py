"""The result of a CSV import (or its preview): counts, and every problem by line and column.

An import that stopped midway (the database refused a write, the operator pressed Ctrl-C) says so:
:attr:`ImportReport.stopped` names the first line not imported and why; every line from there on is
``not_imported``. The lines before it are imported for good (each chunk is its own transaction),
and importing the same file again finishes the job: what is already imported reports as unchanged.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

from django.db import DatabaseError

Lang = Literal["ja", "en"]

logger = logging.getLogger("sfacal.sources.csv")


@dataclass(frozen=True)
class RowError:
    """A problem with one cell (or one row): ``line`` is the file's line number (the header is
    line 1), ``column`` the header as written in the file."""

    line: int
    column: str | None
    reason_ja: str
    reason_en: str
    value: str = ""

    def message(self, lang: str = "ja") -> str:
        reason = self.reason_en if lang == "en" else self.reason_ja
        shown = f" [{self.value[:40]}]" if self.value else ""
        if lang == "en":
            where = f"line {self.line}" + (f", column '{self.column}'" if self.column else "")
            return f"{where}: {reason}{shown}"
        where = f"{self.line}行目" + (f"「{self.column}」" if self.column else "")
        return f"{where}: {reason}{shown}"


class FileError(Exception):
    """The file as a whole cannot be imported (encoding, header). Nothing was written."""

    def __init__(self, reason_ja: str, reason_en: str) -> None:
        super().__init__(reason_en)
        self.reason_ja = reason_ja
        self.reason_en = reason_en

    def message(self, lang: str = "ja") -> str:
        return self.reason_en if lang == "en" else self.reason_ja


class UnclosedQuoteError(FileError):
    """A quoted field is never closed: read as CSV, it would swallow every row after it, so the
    file is refused as a whole. ``line`` is where the quote opened (the header is line 1)."""

    def __init__(self, line: int) -> None:
        super().__init__(
            f'{line} 行目で開いた引用符（"）が閉じられていません。ファイルを修正してください。何も取り込んでいません。',
            f'The quote (") opened on line {line} is never closed. Correct the file; nothing was imported.',
        )
        self.line = line


@dataclass(frozen=True)
class Stopped:
    """Where and why an import stopped: ``line`` is the first line not imported."""

    line: int
    reason_ja: str
    reason_en: str

    @classmethod
    def at(cls, line: int, cause: BaseException) -> Stopped:
        """Stopped at ``line`` because of ``cause`` (said so that an operator knows what to do)."""
        if isinstance(cause, KeyboardInterrupt):
            return cls(line, "中断されました", "interrupted")
        if isinstance(cause, DatabaseError):
            detail = str(cause)[:200]
            return cls(
                line,
                f"データベースに書き込めませんでした: {detail}",
                f"the database refused the write: {detail}",
            )
        detail = f"{type(cause).__name__}: {str(cause)[:200]}"
        return cls(line, f"予期しないエラー（{detail}）", f"unexpected error ({detail})")

    def message(self, lang: str = "ja") -> str:
        if lang == "en":
            return (
                f"The import stopped at line {self.line} ({self.reason_en}): the lines before it are "
                "imported, it and the lines after it are not. Import the same file again to finish "
                "(lines already imported report as unchanged)."
            )
        return (
            f"{self.line}行目で取り込みが中断しました（{self.reason_ja}）。それより前の行は取り込み済みで、"
            "この行以降は取り込まれていません。同じファイルをもう一度取り込むと続きが反映されます"
            "（取り込み済みの行は「変更なし」になります）。"
        )


def log_interruption(stopped: Stopped, exc: BaseException) -> None:
    """One line for an import that stopped (with the traceback when the cause is a bug)."""
    cause = getattr(exc, "cause", exc)
    if isinstance(cause, DatabaseError | KeyboardInterrupt):
        logger.warning("CSV import stopped at line %d: %s", stopped.line, stopped.reason_en)
    else:
        logger.error("CSV import stopped at line %d", stopped.line, exc_info=cause)


@dataclass(frozen=True)
class RowChange:
    line: int
    key: str  # login ID or schedule ID
    action: (
        str  # created / updated / unchanged / accepted / duplicate / stale / deleted / invalid / not_imported
    )


@dataclass
class ImportReport:
    kind: Literal["employees", "schedules"]
    encoding: str = ""
    dry_run: bool = False
    total: int = 0
    columns: list[str] = field(default_factory=list)
    file_error: FileError | None = None
    errors: list[RowError] = field(default_factory=list)
    warnings: list[RowError] = field(default_factory=list)
    changes: list[RowChange] = field(default_factory=list)
    stopped: Stopped | None = None

    @property
    def counts(self) -> dict[str, int]:
        return dict(Counter(change.action for change in self.changes))

    @property
    def error_lines(self) -> list[int]:
        return sorted({error.line for error in self.errors})

    @property
    def ok(self) -> bool:
        return self.file_error is None and not self.errors and self.stopped is None

    @property
    def imported(self) -> int:
        """Rows that passed (written, or would be in a dry run)."""
        return sum(1 for c in self.changes if c.action not in ("invalid", "not_imported"))

    def summary(self, lang: str = "ja") -> str:
        if self.file_error is not None:
            return self.file_error.message(lang)
        counts = self.counts
        order = (
            "valid",
            "created",
            "updated",
            "unchanged",
            "accepted",
            "duplicate",
            "stale",
            "deleted",
            "not_imported",
        )
        names_ja = {
            "valid": "正常",
            "created": "新規",
            "updated": "更新",
            "unchanged": "変更なし",
            "accepted": "受付",
            "duplicate": "変更なし",
            "stale": "古いため無視",
            "deleted": "削除",
            "not_imported": "未取り込み",
        }
        parts = [
            f"{names_ja[key] if lang != 'en' else key} {counts[key]}" for key in order if counts.get(key)
        ]
        bad = len(self.error_lines)
        if lang == "en":
            head = "Dry run (nothing written): " if self.dry_run else ""
            return f"{head}{self.total} rows, {self.imported} ok ({', '.join(parts) or 'none'}), {bad} with errors"
        head = "確認のみ（書き込みなし）: " if self.dry_run else ""
        return (
            f"{head}{self.total} 行中 {self.imported} 行 OK（{'、'.join(parts) or 'なし'}）、エラー {bad} 行"
        )

    def format(self, lang: str = "ja", max_lines: int = 200) -> str:
        """The summary, then one line per error and warning (at most ``max_lines`` of each)."""
        lines = [self.summary(lang)]
        if self.stopped is not None:
            lines.append(self.stopped.message(lang))
        for title_ja, title_en, items in (
            ("エラー", "Errors", self.errors),
            ("警告", "Warnings", self.warnings),
        ):
            if not items:
                continue
            lines.append(f"{title_en if lang == 'en' else title_ja}:")
            lines += ["  " + item.message(lang) for item in items[:max_lines]]
            if len(items) > max_lines:
                more = len(items) - max_lines
                lines.append(f"  … {more} more" if lang == "en" else f"  … ほか {more} 件")
        return "\n".join(lines)
