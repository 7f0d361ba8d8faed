"""One Google emulator over TLS for the emulator tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.calendars.google_helpers import Google, start_google


@pytest.fixture(scope="session")
def google(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Google]:
    yield from start_google(tmp_path_factory.mktemp("google-emulator"))
