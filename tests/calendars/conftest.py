"""Fixtures for the calendar connector tests: one TLS Microsoft 365 emulator for the session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .helpers import M365, start_m365


@pytest.fixture(scope="session")
def m365(tmp_path_factory: pytest.TempPathFactory) -> Iterator[M365]:
    yield from start_m365(tmp_path_factory.mktemp("m365-calendars"))
