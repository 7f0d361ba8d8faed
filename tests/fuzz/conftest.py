"""Fixtures of the fuzz tests: the served product (one per module)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fuzz.served import Served, running


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with running(tmp_path_factory.mktemp("served-fuzz") / "data") as product:
        yield product
