"""Text as the SFAs send it and as the calendar takes it (S5): one way of cleaning for every door.

* :func:`incoming_text` is what each source does with a free-text field it receives (JUST.SFA
  webhook and records API, push API, CSV): at most :data:`MAX_TEXT` characters -- an
  :class:`~sfacal.core.errors.InputError` naming the field above that -- then :func:`clean_text`.
  So a long or dirty title is never a reason to lose a schedule, and every door stores the same
  text for the same input.
* :func:`clean_text` normalises newlines to ``\\n`` and drops what a calendar (or a database) cannot
  hold: control characters other than ``\\n``/``\\t`` (NUL included), lone surrogates and the
  non-characters U+FFFE/U+FFFF; trailing whitespace goes. :func:`clean_line` makes one line of it.
* :func:`check_storable` is what each source does with an identifier it receives (a record ID, a
  login ID): kept as it is -- an identifier is never changed -- but refused with an
  :class:`~sfacal.core.errors.InputError` naming the field when no database can store it (a NUL
  character or a lone surrogate), so every door refuses the same identifiers.
* :func:`truncate_utf16` cuts to a limit in UTF-16 code units (Exchange's unit) at a character
  boundary that never splits a surrogate pair, an emoji sequence or a combining sequence, and marks
  the cut with ``…``.

All are pure and idempotent: cleaning cleaned text changes nothing.
"""

from __future__ import annotations

import re
import unicodedata

from sfacal.core.errors import InputError

__all__ = [
    "ELLIPSIS",
    "MAX_TEXT",
    "check_storable",
    "clean_line",
    "clean_text",
    "incoming_text",
    "truncate_utf16",
    "utf16_units",
]

MAX_TEXT = 20_000
"""The most characters a source may send in one text field (title, content, customer ...)."""
ELLIPSIS = "…"


def incoming_text(value: str, field_name: str) -> str:
    """A text field as a source received it, ready to store: :class:`InputError` naming
    ``field_name`` when it is longer than :data:`MAX_TEXT` characters, else :func:`clean_text`."""
    if len(value) > MAX_TEXT:
        raise InputError(
            field_name,
            f"longer than {MAX_TEXT:,} characters ({len(value):,})",
            reason_ja=f"{MAX_TEXT:,}文字以内にしてください（{len(value):,}文字）",
        )
    return clean_text(value)


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def check_storable(value: str, field_name: str) -> str:
    """``value`` unchanged, or :class:`InputError` naming ``field_name`` when it holds a NUL
    character or a lone surrogate (neither can be stored, nor sent on as UTF-8)."""
    if _UNSTORABLE.search(value) is not None:
        raise InputError(
            field_name,
            "contains a NUL character or a lone surrogate (not valid text)",
            reason_ja="使用できない文字（NUL 文字または単独のサロゲート）が含まれています",
        )
    return value


_NEWLINES = re.compile(r"\r\n|\r|\u2028|\u2029|\x85|\x0b|\x0c")
_LINE_WS = re.compile(r"[\s]+")
_ZWJ = "\u200d"
# What clean_text drops once newlines are normalised: the other control characters (Unicode
# category Cc: U+0000-U+001F and U+007F-U+009F, except \t and \n), lone surrogates (Cs) and the
# non-characters U+FFFE/U+FFFF.
_DROP = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


# Any character clean_text would change (not counting trailing whitespace): most text has none,
# and one search is cheaper than the substitutions.
_NOT_CLEAN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]")
# What clean_line would change besides that: whitespace other than a single space.
_NOT_ONE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]|[^\\S ]|  ")


def clean_text(value: str) -> str:
    """Normalise newlines to ``\\n``; drop control characters (except ``\\n``/``\\t``), lone
    surrogates and non-characters; strip trailing whitespace at the end."""
    if _NOT_CLEAN.search(value) is None:
        return value.rstrip()
    return _DROP.sub("", _NEWLINES.sub("\n", value)).rstrip()


def clean_line(value: str) -> str:
    """:func:`clean_text`, then every run of whitespace (newlines, tabs) becomes one space."""
    if _NOT_ONE_LINE.search(value) is None:
        return value.strip()
    return _LINE_WS.sub(" ", clean_text(value)).strip()


def utf16_units(text: str) -> int:
    """The length of ``text`` in UTF-16 code units (what Graph's limits count)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _utf16_len(ch: str) -> int:
    return 2 if ord(ch) > 0xFFFF else 1


def _extends(ch: str) -> bool:
    """Whether ``ch`` belongs to the character before it (must not start a cut-off tail)."""
    cp = ord(ch)
    return (
        unicodedata.category(ch) in ("Mn", "Me", "Mc")
        or ch == _ZWJ
        or 0xFE00 <= cp <= 0xFE0F  # variation selectors
        or 0xE0100 <= cp <= 0xE01EF
        or 0x1F3FB <= cp <= 0x1F3FF  # emoji skin tones
        or 0xE0020 <= cp <= 0xE007F  # emoji tag sequences
        or 0x3099 <= cp <= 0x309A  # kana voicing marks
    )


def _is_regional_indicator(ch: str) -> bool:
    return 0x1F1E6 <= ord(ch) <= 0x1F1FF


def _safe_cut(text: str, cut: int) -> int:
    """Move ``cut`` back so ``text[:cut]`` ends at a character (grapheme) boundary."""
    while 0 < cut < len(text):
        nxt, prev = text[cut], text[cut - 1]
        if _extends(nxt) or prev == _ZWJ:
            cut -= 1
            continue
        if _is_regional_indicator(nxt) and _is_regional_indicator(prev):
            run = 0  # count the regional indicators before the cut: a flag is an even pair
            while cut - run - 1 >= 0 and _is_regional_indicator(text[cut - run - 1]):
                run += 1
            if run % 2 == 1:
                cut -= 1
                continue
        break
    return cut


def truncate_utf16(text: str, limit: int, marker: str = ELLIPSIS) -> str:
    """``text`` if it fits in ``limit`` UTF-16 code units, else cut at a safe boundary + ``marker``."""
    if len(text) * 2 <= limit or utf16_units(text) <= limit:
        return text
    budget = limit - utf16_units(marker)
    used = 0
    cut = 0
    for cut, ch in enumerate(text):  # noqa: B007 - cut is used after the loop
        if used + _utf16_len(ch) > budget:
            break
        used += _utf16_len(ch)
    cut = _safe_cut(text, cut)
    return text[:cut].rstrip() + marker
