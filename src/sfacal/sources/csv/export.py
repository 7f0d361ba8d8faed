"""Employees as a CSV file to edit in a spreadsheet and import again (E6).

* The columns are exactly those :data:`~sfacal.sources.csv.employees.EMPLOYEE_COLUMNS` reads, in
  that order, headed in Japanese (``社員ログインID`` …) or English (``login_id`` …); 連携 and
  ユーザーID設定 are written as values the importer accepts in the same language.
* Encodings: Shift_JIS (``cp932``, what Excel in Japan opens by default) or UTF-8 with a BOM
  (``utf-8-sig``, what Excel needs to recognise UTF-8); lines end with CRLF, as Excel writes them.
* Every cell is neutralised against formula injection (written through
  :func:`sfacal.core.spreadsheet.csv_writer`); the importer undoes it, so importing an untouched
  export changes nothing.
* A text Shift_JIS cannot hold is never replaced by ``?`` (importing that back would change the
  employee): :class:`UnencodableError` names the rows, and UTF-8 holds them all.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass

from sfacal.core.spreadsheet import csv_writer
from sfacal.sources.csv.employees import EMPLOYEE_COLUMNS

__all__ = [
    "ENCODINGS",
    "EmployeeRow",
    "UnencodableError",
    "employee_headers",
    "employees_csv",
]

ENCODINGS = ("cp932", "utf-8-sig")
"""Shift_JIS (Excel's default in Japan) and UTF-8 with a BOM."""

_STATE_VALUES = {
    "ja": {"on": "連携する", "off": "連携しない", "forbidden": "使用禁止"},
    "en": {"on": "on", "off": "off", "forbidden": "forbidden"},
}
_MODE_VALUES = {
    "ja": {"explicit": "個別に指定", "login_at_domain": "社員ログインID@ドメイン名"},
    "en": {"explicit": "explicit", "login_at_domain": "login_at_domain"},
}


@dataclass(frozen=True)
class EmployeeRow:
    """One employee as stored (``state`` and ``user_id_mode`` as their stored values)."""

    login_id: str
    name: str = ""
    email: str = ""
    state: str = "off"
    user_id_mode: str = "explicit"
    user_id: str = ""
    calendar_name: str = ""


class UnencodableError(ValueError):
    """Some rows hold characters the chosen encoding cannot write."""

    def __init__(self, encoding: str, login_ids: list[str]) -> None:
        super().__init__(f"{encoding} cannot hold the rows of {', '.join(login_ids)}")
        self.encoding = encoding
        self.login_ids = login_ids


def _lang(lang: str) -> str:
    return "en" if lang == "en" else "ja"


def employee_headers(lang: str = "ja") -> list[str]:
    """The header row: the importer's first Japanese name of each column, or its English field name."""
    if _lang(lang) == "en":
        return list(EMPLOYEE_COLUMNS.aliases)
    return [names[0] for names in EMPLOYEE_COLUMNS.aliases.values()]


def _cells(row: EmployeeRow, lang: str) -> list[str]:
    values = {
        "login_id": row.login_id,
        "name": row.name,
        "email": row.email,
        "state": _STATE_VALUES[lang].get(row.state, row.state),
        "user_id_mode": _MODE_VALUES[lang].get(row.user_id_mode, row.user_id_mode),
        "user_id": row.user_id,
        "calendar_name": row.calendar_name,
    }
    return [values[name] for name in EMPLOYEE_COLUMNS.aliases]


def employees_csv(rows: Iterable[EmployeeRow], *, lang: str = "ja", encoding: str = "cp932") -> bytes:
    """The CSV file of ``rows`` (none: an empty template with the header only).

    Raises :class:`UnencodableError` when ``encoding`` cannot hold some rows, and ``ValueError``
    for an encoding other than :data:`ENCODINGS`.
    """
    if encoding not in ENCODINGS:
        raise ValueError(f"unsupported encoding {encoding!r} (use one of {', '.join(ENCODINGS)})")
    lang = _lang(lang)
    codec = encoding.removesuffix("-sig")  # the BOM is written once, not per line
    buffer = io.StringIO()
    writer = csv_writer(buffer, lineterminator="\r\n")

    def line(cells: list[str]) -> bytes:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(cells)
        return buffer.getvalue().encode(codec)

    out = io.BytesIO()
    out.write(("\ufeff" if encoding == "utf-8-sig" else "").encode() + line(employee_headers(lang)))
    failed: list[str] = []
    for row in rows:
        try:
            out.write(line(_cells(row, lang)))
        except UnicodeEncodeError:
            failed.append(row.login_id)
    if failed:
        raise UnencodableError(encoding, failed)
    return out.getvalue()
