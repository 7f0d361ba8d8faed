"""The engine process's memory allocator: at most :data:`ARENAS` malloc arenas.

Guarantees:

* glibc gives each thread that allocates its own malloc arena (up to eight per core); a pass's
  thread and the engine loop's thread then each keep the high-water mark of their own arena, and
  memory freed in one is never reused by the other. Two arenas keep a 200 x 100 back-fill's peak
  resident memory ~20 MB lower (measured: ``bench/backfill.py``, docs/performance.md) at no
  measurable CPU cost: Python's own allocator serves every small object from its pools anyway.
* :func:`limit_arenas` changes nothing when the operator set ``MALLOC_ARENA_MAX`` (their value
  wins), on a C library other than glibc, or when the call fails; it never raises.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os

__all__ = ["ARENAS", "M_ARENA_MAX", "limit_arenas"]

log = logging.getLogger(__name__)

ARENAS = 2
M_ARENA_MAX = -8  # mallopt parameter (glibc malloc.h)


def limit_arenas(arenas: int = ARENAS) -> bool:
    """Ask glibc for at most ``arenas`` malloc arenas; whether the limit was set here."""
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False
    try:
        name = ctypes.util.find_library("c")
        if not name:
            return False
        libc = ctypes.CDLL(name)
        mallopt = getattr(libc, "mallopt", None)
        if mallopt is None or not hasattr(libc, "gnu_get_libc_version"):
            return False
        return bool(mallopt(M_ARENA_MAX, arenas))
    except (OSError, AttributeError, ValueError):
        log.debug("malloc arenas left as they are", exc_info=True)
        return False
