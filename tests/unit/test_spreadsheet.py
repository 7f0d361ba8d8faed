"""sfacal.core.spreadsheet: the product's CSV writer neutralises every cell (OWASP CSV injection)."""

from __future__ import annotations

import csv
import io

from sfacal.core.spreadsheet import csv_writer, neutralize, restore


class _Echo:
    def write(self, value: str) -> str:
        return value


def test_every_cell_is_neutralised_and_none_is_empty():
    out = io.StringIO()
    writer = csv_writer(out, lineterminator="\n")
    writer.writerows([["=1+1", None, -3, "a,=b"], ["@x", "\tx", "ok", "'+y"]])
    assert list(csv.reader(io.StringIO(out.getvalue()))) == [
        ["'=1+1", "", "'-3", "a,=b"],
        ["'@x", "'\tx", "ok", "''+y"],
    ]


def test_a_streaming_echo_gets_each_line_back():
    writer = csv_writer(_Echo())
    assert writer.writerow(["+cmd", "x"]) == "'+cmd,x\r\n"


def test_restore_reverses_only_the_added_apostrophe():
    for text in ("=x", "'=x", "'quoted", "", "x-1"):
        assert restore(neutralize(text)) == text
