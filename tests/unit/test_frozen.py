"""``quick_init``: the same instances as the dataclass-generated ``__init__``, only faster."""

from __future__ import annotations

import dataclasses
import pickle
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sfacal.calendars.base import CreateEvent, DeleteEvent, UpdateEvent, WriteOutcome
from sfacal.core.frozen import FrozenMap, quick_init
from sfacal.core.planner import MirrorRow, Operation, Outcome, Plan
from sfacal.core.policy import Decision
from sfacal.core.render import RenderedEvent
from sfacal.core.schedule import AllDaySpan, Schedule, SourceRef, TimedSpan


def _pair() -> tuple[type[Any], type[Any]]:
    """The same frozen dataclass twice: as generated, and with ``quick_init``."""

    def make() -> type[Any]:
        @dataclass(frozen=True)
        class Sample:
            a: int
            b: str = "b"
            c: list[int] = field(default_factory=list)
            d: int = field(default=7, init=False)
            e: tuple[int, ...] = field(default_factory=tuple, init=False)
            f: str = field(default="f", kw_only=True)
            seen: int = field(default=0, init=False)

            def __post_init__(self) -> None:
                if self.a < 0:
                    raise ValueError("a must not be negative")
                object.__setattr__(self, "seen", self.a + len(self.c))

        return Sample

    return make(), quick_init(make())


PLAIN, QUICK = _pair()


@given(
    a=st.integers(min_value=0),
    b=st.none() | st.text(max_size=5),
    c=st.none() | st.lists(st.integers(), max_size=3),
    f=st.none() | st.text(max_size=5),
)
def test_quick_init_builds_what_the_generated_init_builds(
    a: int, b: str | None, c: list[int] | None, f: str | None
) -> None:
    kwargs: dict[str, Any] = {}
    if b is not None:
        kwargs["b"] = b
    if c is not None:
        kwargs["c"] = c
    if f is not None:
        kwargs["f"] = f
    plain, quick = PLAIN(a, **kwargs), QUICK(a, **kwargs)
    assert vars(plain) == vars(quick)
    assert list(vars(plain)) == list(vars(quick))  # same attribute order (repr, asdict)


def test_quick_init_keeps_the_signature_rules_and_frozenness() -> None:
    with pytest.raises(TypeError):
        QUICK()  # a is required
    with pytest.raises(TypeError):
        QUICK(1, "b", [], "f")  # f is keyword-only
    with pytest.raises(TypeError):
        QUICK(1, d=3)  # d is not an init field
    with pytest.raises(ValueError, match="negative"):
        QUICK(-1)  # __post_init__ runs
    one = QUICK(1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        one.a = 2
    assert QUICK(1).c is not QUICK(1).c  # a fresh default per instance
    assert one == QUICK(1)
    assert dataclasses.replace(one, a=5).seen == 5
    ref = SourceRef("acme", "push", "1")
    assert pickle.loads(pickle.dumps(ref)) == ref and hash(ref) == hash(SourceRef("acme", "push", "1"))


def test_quick_init_refuses_what_it_cannot_do() -> None:
    @dataclass(frozen=True, slots=True)
    class Slotted:
        a: int

    with pytest.raises(TypeError, match="slots"):
        quick_init(Slotted)
    with pytest.raises(TypeError, match="dataclass"):
        quick_init(FrozenMap)


@pytest.mark.parametrize(
    "cls",
    [
        SourceRef, TimedSpan, AllDaySpan, Schedule, RenderedEvent, Decision, MirrorRow, Operation,
        Outcome, Plan, CreateEvent, UpdateEvent, DeleteEvent, WriteOutcome,
    ],
)  # fmt: skip
def test_hot_classes_use_quick_init_with_their_dataclass_signature(cls: type[Any]) -> None:
    """The classes built once or more per event carry the faster ``__init__``, with the parameters
    (names, defaults, keyword-only) their dataclass declares."""
    import inspect

    assert getattr(cls.__init__, "quick_init", False)
    assert cls.__init__.__qualname__ == f"{cls.__qualname__}.__init__"
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]
    fields = [f for f in dataclasses.fields(cls) if f.init]
    assert [p.name for p in params] == [f.name for f in fields]
    for p, f in zip(params, fields, strict=True):
        assert (p.kind is inspect.Parameter.KEYWORD_ONLY) == f.kw_only
        if f.default is not dataclasses.MISSING:
            assert p.default == f.default
