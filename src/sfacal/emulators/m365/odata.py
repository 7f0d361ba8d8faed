"""The OData query options the emulator understands on event collections.

``$filter`` supports the extended-property lambda Graph documents for finding items
by a custom property::

    singleValueExtendedProperties/Any(ep: ep/id eq 'String {GUID} Name x' and ep/value eq 'v')

plus ``eq`` comparisons on a few string properties, joined with ``and``/``or``.
``$expand`` supports ``singleValueExtendedProperties($filter=id eq '…')``.

As in Graph, an extended property's value is compared ignoring case, the name in its id exactly
(https://learn.microsoft.com/en-us/graph/api/singlevaluelegacyextendedproperty-get); ``id eq``
matches an event by either of its ids (:mod:`.ids`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from .csdl import shipped_schema
from .errors import GraphError, bad_request

EXT_ID = re.compile(
    r"^(?P<type>[A-Za-z]+)\s+(?:\{(?P<guid>[0-9a-fA-F-]{36})\}\s+(?P<kind>Name|Id)\s+(?P<name>\S.*)|(?P<tag>0x[0-9a-fA-F]{1,4}))$"
)

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<lp>\()|(?P<rp>\))|(?P<colon>:)|(?P<comma>,)"
    r"|(?P<word>[A-Za-z_][A-Za-z0-9_./]*)|(?P<num>-?\d+(?:\.\d+)?))"
)

_FILTERABLE = {"subject", "transactionId", "iCalUId", "id", "showAs", "sensitivity", "importance"}


@lru_cache(maxsize=1024)  # a client sends the same few ids again and again
def normalise_ext_id(raw: str) -> str | None:
    """Canonical form of an extended property id (type case-folded, GUID lower-case), or None."""
    m = EXT_ID.match(raw.strip())
    if not m:
        return None
    ptype = m.group("type")
    if m.group("tag"):
        return f"{ptype.lower()} {m.group('tag').lower()}"
    return (
        f"{ptype.lower()} {{{m.group('guid').lower()}}} {m.group('kind').lower()} {m.group('name').strip()}"
    )


@lru_cache(maxsize=1024)
def display_ext_id(raw: str) -> str:
    """The id as Graph writes it back (type as given, GUID lower-case)."""
    m = EXT_ID.match(raw.strip())
    if not m:
        return raw
    if m.group("tag"):
        return f"{m.group('type')} {m.group('tag')}"
    return f"{m.group('type')} {{{m.group('guid').lower()}}} {m.group('kind')} {m.group('name').strip()}"


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise bad_request("Invalid filter clause")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


Predicate = Callable[[Mapping[str, Any], Mapping[str, str]], bool]
"""A compiled filter: (event properties, extended properties by normalised id) -> bool."""


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = _tokens(text)
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, kind: str, word: str | None = None) -> str:
        tok = self.peek()
        if tok is None or tok[0] != kind or (word is not None and tok[1].lower() != word):
            raise bad_request("Invalid filter clause")
        self.i += 1
        return tok[1]

    def at_word(self, word: str) -> bool:
        tok = self.peek()
        return tok is not None and tok[0] == "word" and tok[1].lower() == word

    def parse(self) -> Predicate:
        pred = self.expr()
        if self.peek() is not None:
            raise bad_request("Invalid filter clause")
        return pred

    def expr(self) -> Predicate:
        left = self.conj()
        while self.at_word("or"):
            self.i += 1
            right = self.conj()
            left = (lambda a, b: lambda p, x: a(p, x) or b(p, x))(left, right)
        return left

    def conj(self) -> Predicate:
        left = self.atom()
        while self.at_word("and"):
            self.i += 1
            right = self.atom()
            left = (lambda a, b: lambda p, x: a(p, x) and b(p, x))(left, right)
        return left

    def atom(self) -> Predicate:
        tok = self.peek()
        if tok is None:
            raise bad_request("Invalid filter clause")
        if tok[0] == "lp":
            self.i += 1
            inner = self.expr()
            self.take("rp")
            return inner
        if tok[0] != "word":
            raise bad_request("Invalid filter clause")
        name = tok[1]
        if name.lower() in ("singlevalueextendedproperties/any",):
            self.i += 1
            return self.ext_lambda()
        self.i += 1
        self.take("word", "eq")
        value = _unquote(self.take("str"))
        if name not in _FILTERABLE:
            raise bad_request(f"Could not find a property named '{name}' on type 'microsoft.graph.event'.")
        if name == "id":
            return lambda p, x: value in (p.get("id"), p.get("immutableId"))
        return lambda p, x: p.get(name) == value

    def ext_lambda(self) -> Predicate:
        self.take("lp")
        var = self.take("word")
        self.take("colon")
        wanted_id: str | None = None
        wanted_value: str | None = None
        while True:
            field = self.take("word")
            op = self.take("word")
            literal = _unquote(self.take("str"))
            if op.lower() != "eq" or "/" not in field or field.split("/", 1)[0] != var:
                raise bad_request("Invalid filter clause")
            attr = field.split("/", 1)[1]
            if attr == "id":
                wanted_id = normalise_ext_id(literal)
                if wanted_id is None:
                    raise bad_request("Invalid filter clause")
            elif attr == "value":
                wanted_value = literal
            else:
                raise bad_request("Invalid filter clause")
            if self.at_word("and"):
                self.i += 1
                continue
            break
        self.take("rp")
        if wanted_id is None:
            raise bad_request("Invalid filter clause")
        if wanted_value is None:
            return lambda p, x: wanted_id in x
        folded = wanted_value.casefold()
        return lambda p, x: wanted_id in x and x[wanted_id].casefold() == folded


def _unquote(literal: str) -> str:
    return literal[1:-1].replace("''", "'")


def parse_filter(text: str) -> Predicate:
    return _Parser(text).parse()


@dataclass
class ExpandExt:
    """``$expand=singleValueExtendedProperties(...)``: which ids to include (None = all)."""

    ids: set[str] | None


def parse_expand(text: str) -> ExpandExt | None:
    text = text.strip()
    if not text:
        return None
    m = re.match(r"^singleValueExtendedProperties(?:\((?P<opts>.*)\))?$", text, re.IGNORECASE | re.DOTALL)
    if not m:
        raise bad_request(
            f"Parsing OData Select and Expand failed: Could not find a property named '{text.split('(')[0]}' on type 'microsoft.graph.event'."
        )
    opts = (m.group("opts") or "").strip()
    if not opts:
        return ExpandExt(None)
    fm = re.match(r"^\$filter\s*=\s*(?P<f>.+)$", opts, re.DOTALL)
    if not fm:
        raise bad_request("Invalid $expand clause")
    ids: set[str] = set()
    for part in re.split(r"\s+or\s+", fm.group("f").strip(), flags=re.IGNORECASE):
        pm = re.match(r"^\(?\s*id\s+eq\s+'(?P<v>(?:[^']|'')*)'\s*\)?$", part.strip())
        if not pm:
            raise bad_request("Invalid filter clause")
        norm = normalise_ext_id(_unquote("'" + pm.group("v") + "'"))
        if norm is None:
            raise bad_request("Invalid filter clause")
        ids.add(norm)
    return ExpandExt(ids)


def parse_select(text: str) -> set[str] | None:
    if not text.strip():
        return None
    props = shipped_schema().properties("microsoft.graph.event")
    out: set[str] = set()
    for name in (s.strip() for s in text.split(",")):
        if not name:
            continue
        if name not in props:
            raise GraphError(
                400,
                "RequestBroker--ParseUri",
                f"Could not find a property named '{name}' on type 'microsoft.graph.event'.",
            )
        out.add(name)
    return out


def parse_int(value: str | None, name: str, lo: int, hi: int) -> int | None:
    if value is None:
        return None
    try:
        n = int(value)
    except ValueError as exc:
        raise bad_request(f"Invalid {name} value '{value}'.") from exc
    if n < lo or n > hi:
        raise bad_request(f"Invalid {name} value '{value}'.")
    return n


_ORDER_KEYS = {
    "start/datetime": "start",
    "end/datetime": "end",
    "createddatetime": "created",
    "lastmodifieddatetime": "modified",
    "subject": "subject",
}


def parse_orderby(text: str | None) -> tuple[str, bool] | None:
    if not text:
        return None
    parts = text.strip().split()
    key = _ORDER_KEYS.get(parts[0].lower())
    if key is None or len(parts) > 2 or (len(parts) == 2 and parts[1].lower() not in ("asc", "desc")):
        raise bad_request(
            f"Could not find a property named '{parts[0] if parts else ''}' on type 'microsoft.graph.event'."
        )
    return key, len(parts) == 2 and parts[1].lower() == "desc"
