"""The grammar of the push API's values, written once.

Every pattern here is published in the OpenAPI document (``pattern``) *and* is what the API checks,
so the document and the validation cannot disagree. The patterns are written so that ECMA-262 (the
dialect of JSON Schema) and Python read them alike: explicit classes instead of ``\\d`` and ``\\s``
(white space is exactly what Python's ``str.strip`` removes, :data:`WHITE_SPACE`), anchored with
``^`` and a final ``$``, which :func:`matches` reads as the end of the text (``\\Z``), as ECMA does:

* :data:`DATE`: ``YYYY-MM-DD``, a real day (leap years included) of a year 1900-2200;
* :data:`DATE_TIME`: a date, ``T``, ``HH:MM`` with optional seconds and up to six decimals, and a
  UTC offset (``Z`` or ``+HH:MM``): RFC 3339 within the years above (``updated_at``);
* :data:`DATE_OR_DATE_TIME`: a date, or a date and time whose offset may be left out (``start`` and
  ``end``; without an offset the time is read in the schedule's time zone);
* :data:`IDENTIFIER`: a path segment that names a record or an employee -- at least one character
  other than white space, no NUL, no ``/``, and not ``.`` or ``..`` (which URLs resolve away);
* :data:`NO_NUL`: text without a NUL character (identifiers and settings);
* :data:`TRIMMED`: a master name -- no white space at either end, no NUL;
* :data:`EMAIL_OR_EMPTY`: an ASCII mail address (dot-atom ``@`` a domain with a letter TLD), or
  nothing; every such address also passes Django's ``EmailValidator`` (property-tested);
* :data:`IF_MATCH`: ``*`` or a list of entity tags (``"…"``, ``W/"…"``), as RFC 9110 writes them.

Lone surrogates cannot be expressed in a pattern; text fields refuse them (identifiers) or remove
them (free text) as the OpenAPI descriptions say.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = [
    "DATE",
    "DATE_OR_DATE_TIME",
    "DATE_TIME",
    "EMAIL_OR_EMPTY",
    "IDENTIFIER",
    "IF_MATCH",
    "NO_NUL",
    "TRIMMED",
    "matches",
    "pattern_schema",
]

WHITE_SPACE = (
    "\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000"
)
"""The characters ``str.isspace`` calls white space, as a regular-expression class body."""

_YEAR = r"(?:19[0-9][0-9]|20[0-9][0-9]|21[0-9][0-9]|2200)"
_LEAP_YEAR = r"(?:19(?:0[48]|[2468][048]|[13579][26])|20(?:0[048]|[2468][048]|[13579][26])|21(?:0[48]|[2468][048]|[13579][26]))"
_MONTH_DAY = (
    r"(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)"
)
_DATE = rf"(?:{_YEAR}-{_MONTH_DAY}|{_LEAP_YEAR}-02-29)"
_TIME = r"(?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\.[0-9]{1,6})?)?"
_OFFSET = r"(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"

DATE = rf"^{_DATE}$"
DATE_TIME = rf"^{_DATE}T{_TIME}{_OFFSET}$"
DATE_OR_DATE_TIME = rf"^{_DATE}(?:T{_TIME}{_OFFSET}?)?$"
IDENTIFIER = rf"^(?!\.\.?$)[^\x00/]*[^\x00/{WHITE_SPACE}][^\x00/]*$"
NO_NUL = r"^[^\x00]*$"
TRIMMED = rf"^[^\x00{WHITE_SPACE}](?:[^\x00]*[^\x00{WHITE_SPACE}])?$"
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
EMAIL_OR_EMPTY = (
    rf"^(?:{_ATOM}(?:\.{_ATOM})*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{{0,61}}[A-Za-z0-9])?\.)+[A-Za-z]{{2,63}})?$"
)
_ETAG = r'(?:W/)?"[!#-~]*"'
IF_MATCH = rf"^(?:\*|{_ETAG}(?:[ \t]*,[ \t]*{_ETAG})*)$"

_COMPILED: dict[str, re.Pattern[str]] = {}


def matches(pattern: str, value: str) -> bool:
    """Whether ``value`` matches ``pattern`` as a JSON Schema ``pattern`` does: a search, ``$`` at
    the very end of the text (in Python it would also match before a final newline)."""
    compiled = _COMPILED.get(pattern)
    if compiled is None:
        assert pattern.endswith("$"), pattern
        compiled = _COMPILED[pattern] = re.compile(pattern.replace("$)", r"\Z)")[:-1] + r"\Z")
    return compiled.search(value) is not None


def pattern_schema(pattern: str, **extra: Any) -> dict[str, Any]:
    """The JSON Schema of a string that matches ``pattern`` (with ``extra`` keywords)."""
    return {"type": "string", "pattern": pattern, **extra}
