"""Parts of a company's inbox: how one company's work is spread over many worker processes.

Every inbox entry carries a **slot** (``0 <= slot < SLOTS``) fixed when it is written: a stable
hash of the record's first participant's login ID (the employee whose mailbox the record mostly
writes), or of the record key when it names nobody (a deletion whose stored state names nobody).
All the records of one employee therefore share a slot.

A company's inbox is worked in :func:`part_count` **parts**: part ``p`` of ``n`` is the slot range
``[p * SLOTS // n, (p + 1) * SLOTS // n)``. Each part has its own pass lease (:func:`part_key`), so
``n`` passes of one company run at the same time in as many worker processes (on as many machines),
each on a disjoint set of employees. The mailbox leases (:mod:`sfacal.engine.leases`) still decide
who writes a mailbox: a record with participants in two parts (a meeting) waits, as "busy", for the
mailbox another part holds, and is tried again a moment later -- never written by two workers at
once.

Guarantees:

* the slot of an entry depends only on the record's first participant (or its key), never on the
  number of parts, so changing :func:`part_count` strands nothing: every slot lies in exactly one
  part for every ``n`` (:func:`part_of`, :func:`slot_range`);
* with one part (SQLite, the embedded default) the pass lease is the company's ``company:<id>``
  lease, and a pass takes every due entry, exactly as before parts existed.

``SFACAL_ENGINE_PARTS`` sets the number of parts (1 to 256); without it a PostgreSQL deployment
uses :data:`DEFAULT_PARTS` and SQLite uses 1 (one file takes one writer at a time: parts would only
wait for each other).
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Iterable

from django.db import connection

from sfacal.engine.leases import company_key

__all__ = [
    "DEFAULT_PARTS",
    "SLOTS",
    "part_count",
    "part_key",
    "part_of",
    "slot_of",
    "slot_range",
]

SLOTS = 4096
DEFAULT_PARTS = 16
MAX_PARTS = 256


def slot_of(participants: Iterable[str], source: str = "", record_id: str = "") -> int:
    """The slot of a record: its first participant's, else its key's."""
    for login in participants:
        text = login.strip().lower()
        if text:
            return zlib.crc32(b"p:" + text.encode("utf-8")) % SLOTS
    return zlib.crc32(f"r:{source}:{record_id}".encode()) % SLOTS


def part_count() -> int:
    """How many parts a company's inbox is worked in (see the module docstring)."""
    raw = os.environ.get("SFACAL_ENGINE_PARTS", "").strip()
    if raw:
        try:
            return max(1, min(MAX_PARTS, int(raw)))
        except ValueError:
            pass
    return 1 if connection.vendor == "sqlite" else DEFAULT_PARTS


def slot_range(part: int, parts: int) -> tuple[int, int]:
    """The slots of part ``part`` of ``parts``: ``[low, high)``."""
    return part * SLOTS // parts, (part + 1) * SLOTS // parts


def part_of(slot: int, parts: int) -> int:
    """The part of ``parts`` that holds ``slot``."""
    part = slot * parts // SLOTS
    low, _ = slot_range(part, parts)
    while low > slot:  # integer rounding: step back to the range that holds the slot
        part -= 1
        low, _ = slot_range(part, parts)
    while slot_range(part, parts)[1] <= slot:
        part += 1
    return part


def part_key(company_id: int, part: int, parts: int) -> str:
    """The lease of one part's inbox pass (the company's lease when there is one part)."""
    if parts <= 1:
        return company_key(company_id)
    return f"{company_key(company_id)}:{part}/{parts}"
