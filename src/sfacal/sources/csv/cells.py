"""Spreadsheet-safe cells of the CSV tools: the formula-injection rule, as the importers use it.

The rule lives in :mod:`sfacal.core.spreadsheet` (every CSV the product writes goes through its
writer); this module names it for the CSV importers: :func:`restore` removes exactly the apostrophe
:func:`neutralize` added on export, so ``restore(neutralize(text)) == text`` for every text.
"""

from __future__ import annotations

from sfacal.core.spreadsheet import FORMULA_START, neutralize, restore

__all__ = ["FORMULA_START", "neutralize", "restore"]
