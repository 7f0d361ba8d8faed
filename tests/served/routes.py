"""Django's URL patterns, listed and matched back from visited paths.

Guarantees:

* :func:`url_patterns` lists every pattern of the root URLconf, includes followed recursively,
  as its full route (``employees/<int:pk>/invite/``). Nothing is left out: the product serves
  no admin site, and static files are served beside the URLconf, not by a pattern in it.
* :func:`route_of` gives the full route of the pattern that serves a path (``None`` for a path
  no pattern serves), the same string :func:`url_patterns` lists.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.exceptions import Resolver404


def _walk(patterns: Sequence[Any], prefix: str) -> Iterator[str]:
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            yield route


def url_patterns() -> set[str]:
    return set(_walk(get_resolver().url_patterns, ""))


def route_of(path: str) -> str | None:
    try:
        return str(resolve(path).route)
    except Resolver404:
        return None
