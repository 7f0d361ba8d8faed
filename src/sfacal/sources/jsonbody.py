"""A request body as JSON, read the same way at every door (JUST.SFA webhook, push API).

Guarantees of :func:`parse_json`:

* it returns the decoded value or raises :class:`BodyNotJson` (a ``ValueError``) -- never a
  ``RecursionError``, ``UnicodeDecodeError`` or anything else -- whatever the bytes;
* arrays and objects nested deeper than :data:`MAX_DEPTH` are refused, so no code that walks the
  value (validation, ``repr`` in a message, logging) can run out of stack on a hostile body
  (``[[[[...`` a hundred thousand times deep);
* the reason is short and safe to answer and log (no part of the body is echoed beyond the
  decoder's own position message).
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["MAX_DEPTH", "BodyNotJson", "depth_exceeds", "parse_json"]

MAX_DEPTH = 64
"""The deepest nesting of arrays and objects a body may have (real bodies use fewer than 10)."""


class BodyNotJson(ValueError):
    """The body is not UTF-8 JSON, or is nested too deeply; ``reason`` says which (English)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def depth_exceeds(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether ``value`` nests lists and dicts more than ``limit`` levels deep (iterative: safe on
    any depth)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def parse_json(raw: bytes, *, encoding: str = "utf-8") -> Any:
    """``raw`` decoded (``encoding``) and parsed; :class:`BodyNotJson` for anything else."""
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        raise BodyNotJson(f"not {encoding} ({exc.reason} at byte {exc.start})") from exc
    try:
        value = json.loads(text)
    except RecursionError as exc:
        raise BodyNotJson(f"nested more than {MAX_DEPTH} levels deep") from exc
    except ValueError as exc:
        raise BodyNotJson(str(exc)) from exc
    if depth_exceeds(value):
        raise BodyNotJson(f"nested more than {MAX_DEPTH} levels deep")
    return value
