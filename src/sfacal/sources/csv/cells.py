"""Spreadsheet-safe cells: CSV formula injection, neutralised on export and undone on import.

* A spreadsheet reads a cell whose text starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
  return as a formula. :func:`neutralize` puts an apostrophe in front of such a text, and also in
  front of a text that already starts with apostrophes followed by one of those characters.
* :func:`restore` removes exactly the apostrophe :func:`neutralize` added, so
  ``restore(neutralize(text)) == text`` for every text, and a text :func:`neutralize` leaves alone
  is left alone by :func:`restore` too (a real leading apostrophe survives the round trip).
"""

from __future__ import annotations

__all__ = ["FORMULA_START", "neutralize", "restore"]

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
