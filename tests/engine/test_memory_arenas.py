"""The engine limits glibc's malloc arenas unless the operator chose a number."""

from __future__ import annotations

import ctypes.util
import platform

import pytest

from sfacal.engine import memory


def test_an_operators_malloc_arena_max_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert memory.limit_arenas() is False


def test_the_limit_is_set_on_glibc_and_never_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    on_glibc = platform.libc_ver()[0] == "glibc" and ctypes.util.find_library("c") is not None
    assert memory.limit_arenas() is on_glibc


def test_no_c_library_found_means_nothing_is_changed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    monkeypatch.setattr(memory.ctypes.util, "find_library", lambda name: None)
    assert memory.limit_arenas() is False
