"""Reading a CSV file as Japanese spreadsheets write it.

* Encoding: UTF-8 with or without BOM, else Shift_JIS (CP932, Excel's "CSV"), or UTF-16 with a
  BOM (Excel's "Unicode text", tab separated); or as given.
* Delimiter: comma, or tab when the header has tabs and no commas.
* Header: each column named in Japanese or English (:data:`Columns`); case, spaces, underscores
  and full-width forms do not matter. An unknown column is an error naming it (the Japanese
  message lists the columns by their Japanese and English names, the English one by English names).
* Quotes: a quoted field may hold commas and line breaks (a memo of several lines). A quoted field
  that is never closed would swallow every row after it (Python's csv module reads it to the end of
  the file without a word), so such a file is refused as a whole with the line where the quote
  opened (:class:`~sfacal.sources.csv.report.UnclosedQuoteError`): nothing is imported.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from sfacal.sources.csv.report import FileError, UnclosedQuoteError

MAX_FIELD = 100_000
EXTRA_CELLS = "__extra_cells__"
"""Set in a record when the row has more (non-empty) cells than the header has columns."""


def decode(data: bytes, encoding: str | None = None) -> tuple[str, str]:
    """The text of ``data`` and the encoding used; :class:`FileError` when it cannot be read."""
    if encoding:
        try:
            codecs.lookup(encoding)
        except LookupError as exc:
            raise FileError(f"不明な文字コードです: {encoding}", f"unknown encoding {encoding!r}") from exc
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError as exc:
            raise FileError(
                f"ファイルを {encoding} として読めません（{exc.start} バイト目）。",
                f"the file is not valid {encoding} (at byte {exc.start})",
            ) from exc
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            pass
    for candidate in ("utf-8-sig", "cp932"):
        try:
            text = data.decode(candidate)
        except UnicodeDecodeError:
            continue
        if candidate == "utf-8-sig":
            return text, "utf-8-sig" if data.startswith(codecs.BOM_UTF8) else "utf-8"
        return text, candidate
    raise FileError(
        "文字コードを判別できません。UTF-8 または Shift_JIS（CP932）で保存してください。",
        "cannot tell the encoding: save the file as UTF-8 or Shift_JIS (CP932)",
    )


def normalize_header(text: str) -> str:
    """``" Login ID "`` / ``"login_id"`` / ``"ＬＯＧＩＮ＿ＩＤ"`` -> ``"loginid"``."""
    folded = unicodedata.normalize("NFKC", text).strip().lower()
    return "".join(ch for ch in folded if ch not in " _-\u3000・")


_QUOTE = '"'
_LINE_BREAK = re.compile(r"\r\n?|\n")


def unclosed_quote(text: str, delimiter: str) -> int | None:
    """The offset of a quote that opens a field and is never closed, read as the csv module reads
    ``text`` (a quote opens a field only at its start; ``""`` inside is a quote; after the closing
    quote the field runs on to the next delimiter or line break); ``None`` when there is none."""
    pos = 0
    while (start := text.find(_QUOTE, pos)) >= 0:
        if start and text[start - 1] not in (delimiter, "\n", "\r"):
            pos = start + 1  # inside an unquoted field: an ordinary character
            continue
        end = start + 1
        while True:
            close = text.find(_QUOTE, end)
            if close < 0:
                return start
            if text.startswith(_QUOTE, close + 1):
                end = close + 2  # "" is a quote inside the field
                continue
            pos = close + 1
            break
    return None


def line_of(text: str, offset: int) -> int:
    """The line number (from 1) of ``offset`` in ``text``; CRLF, CR and LF each end a line."""
    return len(_LINE_BREAK.findall(text, 0, offset)) + 1


@dataclass(frozen=True)
class Columns:
    """Canonical field -> accepted header names (Japanese and English)."""

    aliases: Mapping[str, tuple[str, ...]]
    required: tuple[str, ...]

    def lookup(self) -> dict[str, str]:
        table: dict[str, str] = {}
        for canonical, names in self.aliases.items():
            for name in (canonical, *names):
                table[normalize_header(name)] = canonical
        return table

    def display(self, canonical: str) -> str:
        names = self.aliases.get(canonical, ())
        return f"{names[0]}/{canonical}" if names else canonical


@dataclass
class Table:
    encoding: str
    headers: list[str]  # as written in the file
    fields: list[str | None]  # canonical field per position (None: an empty, ignored column)
    rows: list[tuple[int, list[str]]]  # (line number of the row's first line, cells)

    def column_of(self, canonical: str) -> str | None:
        for header, name in zip(self.headers, self.fields, strict=True):
            if name == canonical:
                return header
        return None

    def records(self) -> Iterator[tuple[int, dict[str, str]]]:
        for line, cells in self.rows:
            record: dict[str, str] = {}
            for name, cell in zip(self.fields, cells, strict=False):
                if name is not None:
                    record[name] = cell.strip()
            extra = [cell for cell in cells[len(self.fields) :] if cell.strip()]
            if extra:
                record[EXTRA_CELLS] = str(len(cells))
            yield line, record


def read_table(data: bytes, columns: Columns, *, encoding: str | None = None) -> Table:
    """Decode, parse and map the header of a CSV file (see the module docstring)."""
    text, used = decode(data, encoding)
    if text.startswith("\ufeff"):
        text = text[1:]
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
    opened = unclosed_quote(text, delimiter)
    if opened is not None:
        raise UnclosedQuoteError(line_of(text, opened))
    csv.field_size_limit(MAX_FIELD)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise FileError("ファイルが空です。", "the file is empty") from None
    except csv.Error as exc:
        raise FileError(f"見出し行を読めません: {exc}", f"cannot read the header row: {exc}") from exc
    lookup = columns.lookup()
    fields: list[str | None] = []
    unknown: list[str] = []
    seen: dict[str, str] = {}
    for name in header:
        if not name.strip():
            fields.append(None)
            continue
        canonical = lookup.get(normalize_header(name))
        if canonical is None:
            unknown.append(name.strip())
            fields.append(None)
            continue
        if canonical in seen:
            raise FileError(
                f"列「{seen[canonical]}」と「{name.strip()}」は同じ項目です。どちらか一方にしてください。",
                f"columns '{seen[canonical]}' and '{name.strip()}' are the same field; keep one",
            )
        seen[canonical] = name.strip()
        fields.append(canonical)
    if unknown:
        known_ja = "、".join(columns.display(c) for c in columns.aliases)
        raise FileError(
            f"不明な列があります: {'、'.join(unknown)}（使える列: {known_ja}）",
            f"unknown column(s): {', '.join(unknown)} (known: {', '.join(columns.aliases)})",
        )
    missing = [c for c in columns.required if c not in seen]
    if missing:
        raise FileError(
            f"必須の列がありません: {'、'.join(columns.display(c) for c in missing)}",
            f"required column(s) missing: {', '.join(missing)}",
        )
    rows: list[tuple[int, list[str]]] = []
    line = reader.line_num + 1
    try:
        for cells in reader:
            start = line
            line = reader.line_num + 1
            if not any(cell.strip() for cell in cells):
                continue  # blank lines (Excel adds them) are not rows
            rows.append((start, cells))
    except csv.Error as exc:
        raise FileError(
            f"{line}行目付近を CSV として読めません: {exc}", f"cannot parse the CSV near line {line}: {exc}"
        ) from exc
    return Table(used, [h.strip() for h in header], fields, rows)
