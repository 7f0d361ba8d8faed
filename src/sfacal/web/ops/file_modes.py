"""Are the service's files private to its user? (``sfacal check``)

Guarantees:

- :func:`loose_paths` lists the data directory, every directory and regular file under it (except
  ``static/``, the public style sheets and scripts) and the SQLite database with its ``-wal`` and
  ``-shm`` files when the database lives elsewhere, whose mode lets the group or other users in
  (any of the bits 0077). Symbolic links are not followed.
- Each :class:`LoosePath` says how to fix it in one command: ``chmod 700`` for a directory,
  ``chmod 600`` for a file.
"""

from __future__ import annotations

import os
import shlex
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

OPEN_TO_OTHERS = 0o077
SKIPPED = frozenset({"static"})


@dataclass(frozen=True)
class LoosePath:
    path: Path
    mode: int  # permission bits only
    is_dir: bool

    @property
    def wanted(self) -> str:
        return "700" if self.is_dir else "600"

    @property
    def fix(self) -> str:
        return f"chmod {self.wanted} {shlex.quote(str(self.path))}"


def _walk(root: Path) -> Iterator[Path]:
    yield root
    for current, dirs, files in os.walk(root):
        if Path(current) == root:
            dirs[:] = [d for d in dirs if d not in SKIPPED]
        dirs.sort()
        for name in dirs:
            yield Path(current) / name
        for name in sorted(files):
            yield Path(current) / name


def _loose(path: Path) -> LoosePath | None:
    try:
        info = path.lstat()
    except FileNotFoundError:  # a WAL file checkpointed away meanwhile
        return None
    if not (stat.S_ISDIR(info.st_mode) or stat.S_ISREG(info.st_mode)):
        return None
    mode = stat.S_IMODE(info.st_mode)
    if mode & OPEN_TO_OTHERS:
        return LoosePath(path, mode, stat.S_ISDIR(info.st_mode))
    return None


def loose_paths(data_dir: Path, database_file: Path | None = None) -> list[LoosePath]:
    """What other users may read (or enter) among the service's files; see the module's guarantees."""
    candidates: list[Path] = list(_walk(data_dir))
    if database_file is not None and data_dir not in database_file.parents:
        candidates += [database_file.with_name(database_file.name + s) for s in ("", "-wal", "-shm")]
    return [found for found in map(_loose, _existing(candidates)) if found is not None]


def _existing(paths: Iterable[Path]) -> Iterator[Path]:
    return (p for p in paths if os.path.lexists(p))
