"""Request bodies of the push API: their size limits and how they are read.

A single-item request may carry :data:`MAX_BODY_BYTES`, a batch :data:`MAX_BATCH_BODY_BYTES`;
above that the request is refused (413) before anything is parsed, and a body is read as UTF-8
JSON nested at most :data:`~sfacal.sources.jsonbody.MAX_DEPTH` levels.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest

from sfacal.sources.jsonbody import parse_json

__all__ = [
    "BATCH_URL_NAMES",
    "MAX_BATCH_BODY_BYTES",
    "MAX_BODY_BYTES",
    "BodyTooLarge",
    "body_limit",
    "read_json",
]

MAX_BODY_BYTES = 1024 * 1024
"""Largest body of a single-item request (413 above)."""
MAX_BATCH_BODY_BYTES = 4 * 1024 * 1024
"""Largest body of a batch request (413 above)."""

BATCH_URL_NAMES = frozenset({"batch_schedules", "batch_schedules_alias"})


class BodyTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.limit = limit


def body_limit(request: HttpRequest) -> int:
    match = getattr(request, "resolver_match", None)
    if match is not None and match.url_name in BATCH_URL_NAMES:
        return MAX_BATCH_BODY_BYTES
    return MAX_BODY_BYTES


def read_json(request: HttpRequest, limit: int) -> Any:
    """The JSON body of ``request``: :class:`BodyTooLarge` over ``limit``,
    :class:`~sfacal.sources.jsonbody.BodyNotJson` (a ``ValueError``) if not UTF-8 JSON nested at most
    :data:`~sfacal.sources.jsonbody.MAX_DEPTH` levels."""
    declared = request.META.get("CONTENT_LENGTH") or "0"
    try:
        if int(declared) > limit:
            raise BodyTooLarge(limit)
    except ValueError:
        pass
    try:
        raw = request.body
    except RequestDataTooBig as exc:
        raise BodyTooLarge(limit) from exc
    if len(raw) > limit:
        raise BodyTooLarge(limit)
    return parse_json(raw)
