"""Shared fixtures."""

from __future__ import annotations

import os
import tempfile

# Tests never write into the repository's ./data.
os.environ.setdefault("SFACAL_DATA_DIR", tempfile.mkdtemp(prefix="sfacal-test-"))
