"""Spreadsheet-safe CSV: the one way the product writes a CSV file, and the CSV formula-injection rule.

Guarantees (each has a test):

* **No cell is read as a formula.** A spreadsheet evaluates a cell whose text starts with ``=``,
  ``+``, ``-``, ``@``, a tab or a carriage return (OWASP, "CSV Injection"): a schedule title from
  any SFA, a name or a log message could become a formula in the administrator's Excel.
  :func:`neutralize` puts an apostrophe in front of such a text, and also in front of a text that
  already starts with apostrophes followed by one of those characters.
* **The prefix is reversible.** :func:`restore` removes exactly the apostrophe :func:`neutralize`
  added, so ``restore(neutralize(text)) == text`` for every text, and a text :func:`neutralize`
  leaves alone is left alone by :func:`restore` too (a real leading apostrophe survives the round
  trip). Importers of files the product exported (the employees' CSV) undo the prefix with it.
* **Every CSV the product writes goes through** :func:`csv_writer`: its ``writerow`` neutralises
  every cell (headers included; ``None`` is an empty cell, anything else its ``str``). A test reads
  the source tree and fails on any other ``csv.writer`` / ``csv.DictWriter``.

Pure standard library: usable from every layer (the screens' exports, the sources' CSV tools).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any, Protocol

__all__ = ["FORMULA_START", "SpreadsheetWriter", "csv_writer", "neutralize", "restore"]

FORMULA_START = frozenset("=+-@\t\r")
"""First characters that make a spreadsheet evaluate a cell."""

_PREFIX = "'"


def _looks_like_formula(text: str) -> bool:
    """Starts with a formula character, possibly behind apostrophes."""
    bare = text.lstrip(_PREFIX)
    return bool(bare) and bare[0] in FORMULA_START


def neutralize(text: str) -> str:
    """``text`` as a cell no spreadsheet evaluates (see the module docstring)."""
    return _PREFIX + text if _looks_like_formula(text) else text


def restore(text: str) -> str:
    """The text :func:`neutralize` was given for ``text``."""
    if text.startswith(_PREFIX) and _looks_like_formula(text):
        return text[1:]
    return text


class _Sink(Protocol):
    def write(self, text: str, /) -> Any: ...


def _cell(value: object) -> str:
    return neutralize("" if value is None else str(value))


class SpreadsheetWriter:
    """A :func:`csv.writer` whose rows are neutralised cell by cell (make one with :func:`csv_writer`)."""

    def __init__(self, sink: _Sink, **fmtparams: Any) -> None:
        self._writer = csv.writer(sink, **fmtparams)

    def writerow(self, row: Iterable[object]) -> Any:
        """Write one row; returns what the sink's ``write`` returned (a streaming echo's line)."""
        return self._writer.writerow([_cell(value) for value in row])

    def writerows(self, rows: Iterable[Iterable[object]]) -> None:
        for row in rows:
            self.writerow(row)


def csv_writer(sink: _Sink, **fmtparams: Any) -> SpreadsheetWriter:
    """The CSV writer of the product: :func:`csv.writer` options, every cell neutralised."""
    return SpreadsheetWriter(sink, **fmtparams)
