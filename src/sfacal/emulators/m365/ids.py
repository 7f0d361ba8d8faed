"""Outlook item ids as Graph hands them out: two kinds per event, and what a malformed id is.

Guarantees (each has a test in ``tests/emulators/m365/test_ids.py``):

* Every event has an **immutable id** (what ``Prefer: IdType="ImmutableId"`` returns) that never
  changes while the event stays in its mailbox, and a **REST id** (the default) that changes when
  the event moves to another calendar -- and, with the emulator-only knob
  ``rest_ids_change_on_update``, on every change, so a client that keeps REST ids is caught.
* Both kinds are base64url strings of a binary structure, as Exchange's are, and they differ in
  their header (REST ids read ``AAMkA…``, immutable ones ``AAkALg…``): a client that mixes the
  kinds up sees different strings. Calendars have one id, of the REST shape (Microsoft: container
  ids do not support immutable ids, but were constant already).
* Requests accept either kind of a live event. :func:`well_formed` tells a string that cannot be an
  Exchange id at all (Graph answers 400 ``ErrorInvalidIdMalformed`` "Id is malformed.") from one
  that is an id but names nothing (404 ``ErrorItemNotFound``).

Microsoft: https://learn.microsoft.com/en-us/graph/outlook-immutable-id
"""

from __future__ import annotations

import base64
import binascii
import itertools
import os
import random
import re

__all__ = ["new_immutable_id", "new_rest_id", "wants_immutable_ids", "well_formed"]

# Item ids must be unique and look like Graph's, not be unguessable: drawn from a generator seeded
# once from the OS (a pass creates tens of thousands; one system call each added up).
_random = random.Random(os.urandom(32))
_counter = itertools.count(1)

# 0x00 0x03 0x24 0x00, then the mailbox GUID in ASCII, as a REST id ("AAMkA…") carries it.
_REST_HEADER = b"\x00\x03\x24\x00"
_REST_SEPARATOR = b"\x00\x46\x00\x00"
# restImmutableEntryId: 0x00 0x09 0x00 0x2e, four zero bytes, the MAPI store provider GUID.
_IMMUTABLE_HEADER = b"\x00\x09\x00\x2e\x00\x00\x00\x00" + bytes.fromhex("1d840311aa6611cd9bc800aa002fc45a")
_MAILBOX_TEXT = 36  # a GUID as text
_MIN_BYTES = len(_IMMUTABLE_HEADER) + 16
_ID_CHARS = re.compile(r"[A-Za-z0-9_\-+/]+={0,2}")


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii")


def _key() -> bytes:
    return _random.randbytes(18) + next(_counter).to_bytes(8, "big")


def new_rest_id(mailbox: str = "") -> str:
    """A REST-shaped id (events' default id, calendars' only id) in the mailbox ``mailbox`` (a GUID)."""
    text = (mailbox or "00000000-0000-0000-0000-000000000000").encode("ascii", "replace")
    text = text[:_MAILBOX_TEXT].ljust(_MAILBOX_TEXT, b"0")
    return _encode(_REST_HEADER + text + _REST_SEPARATOR + _key())


def new_immutable_id() -> str:
    """An immutable event id (``restImmutableEntryId``, as Graph returns it on request)."""
    return _encode(_IMMUTABLE_HEADER + b"\x0d\x00" + _key())


def well_formed(text: str) -> bool:
    """Whether ``text`` can be an Exchange item or folder id (else Graph: ErrorInvalidIdMalformed).

    Graph's ids are base64 (URL-safe, ``=``-padded, some clients turn ``-_`` into ``+/``) of a
    structure with a known header; anything else -- a truncated id, a GUID, a made-up string -- is
    malformed, whatever item it was meant to name.
    """
    if not _ID_CHARS.fullmatch(text):
        return False
    body = text.rstrip("=").replace("+", "-").replace("/", "_")
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError):
        return False
    if len(raw) < _MIN_BYTES:
        return False
    return raw.startswith(_REST_HEADER) or raw.startswith(_IMMUTABLE_HEADER)


def wants_immutable_ids(prefer_value: str | None) -> bool:
    """Whether a ``Prefer`` header's ``IdType`` asks for immutable ids (the value, unquoted)."""
    return (prefer_value or "").strip().lower() == "immutableid"
