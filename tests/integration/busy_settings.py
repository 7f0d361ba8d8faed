"""The product's settings with a one-second SQLite busy timeout (instead of 30 s), for the tests
that hold the database's write lock longer than that (``test_database_locked.py``)."""

from sfacal.web.settings import *  # noqa: F403
from sfacal.web.settings import DATABASES

BUSY_TIMEOUT_SECONDS = 1

_options = DATABASES["default"]["OPTIONS"]
_options["timeout"] = BUSY_TIMEOUT_SECONDS
_options["init_command"] = _options["init_command"].replace(
    "PRAGMA busy_timeout=30000;", f"PRAGMA busy_timeout={BUSY_TIMEOUT_SECONDS * 1000};"
)
assert f"busy_timeout={BUSY_TIMEOUT_SECONDS * 1000}" in _options["init_command"]
