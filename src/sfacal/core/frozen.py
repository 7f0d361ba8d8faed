"""Immutable building blocks: a hashable string mapping used inside frozen dataclasses, and a
faster ``__init__`` for frozen dataclasses built once per event."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Generic, TypeVar

V = TypeVar("V")

__all__ = ["FrozenMap", "quick_init"]


class FrozenMap(Mapping[str, V], Generic[V]):
    """An immutable mapping with string keys; equal and hashable by content."""

    __slots__ = ("_data", "_hash")

    def __init__(self, data: Mapping[str, V] | Iterable[tuple[str, V]] = ()) -> None:
        self._data: dict[str, V] = dict(data)
        self._hash: int | None = None

    def __getitem__(self, key: str) -> V:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(frozenset(self._data.items()))
        return self._hash

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return dict(self._data) == dict(other)
        return NotImplemented

    def __repr__(self) -> str:
        return f"FrozenMap({self._data!r})"


T = TypeVar("T")


def quick_init(cls: type[T]) -> type[T]:
    """Give a frozen dataclass a faster ``__init__`` with the same signature and behaviour.

    A frozen dataclass's generated ``__init__`` stores each field through
    ``object.__setattr__`` (frozen classes refuse ordinary assignment), about 0.1 µs per field; a
    pass builds several such objects per event. This one writes the fields straight into the
    instance's ``__dict__`` -- what ``object.__setattr__`` ends up doing -- and then calls
    ``__post_init__`` like the generated one. Apply it above ``@dataclass(frozen=True)`` (not to
    ``slots=True`` classes, which have no ``__dict__``; ``InitVar`` pseudo-fields are not supported).
    """
    if not dataclasses.is_dataclass(cls) or "__slots__" in cls.__dict__:
        raise TypeError(f"{cls.__name__}: quick_init needs a dataclass without slots")
    if any(isinstance(v, dataclasses.InitVar) for v in getattr(cls, "__annotations__", {}).values()):
        raise TypeError(f"{cls.__name__}: quick_init does not support InitVar")
    namespace: dict[str, Any] = {"_FACTORY": _FACTORY}
    positional: list[str] = []
    keyword: list[str] = []
    body: list[str] = ["d = self.__dict__"]
    for f in dataclasses.fields(cls):
        name = f.name
        if f.default is not dataclasses.MISSING:
            namespace[f"_d_{name}"] = f.default
        if f.default_factory is not dataclasses.MISSING:
            namespace[f"_f_{name}"] = f.default_factory
        if not f.init:  # like the generated init: a factory runs, a plain default stays on the class
            if f.default_factory is not dataclasses.MISSING:
                body.append(f"d[{name!r}] = _f_{name}()")
            continue
        if f.default is not dataclasses.MISSING:
            param = f"{name}=_d_{name}"
        elif f.default_factory is not dataclasses.MISSING:
            param = f"{name}=_FACTORY"
            body.append(f"if {name} is _FACTORY: {name} = _f_{name}()")
        else:
            param = name
        (keyword if f.kw_only else positional).append(param)
        body.append(f"d[{name!r}] = {name}")
    if hasattr(cls, "__post_init__"):
        body.append("self.__post_init__()")
    params = ", ".join(["self", *positional, *(["*", *keyword] if keyword else [])])
    source = f"def __init__({params}):\n" + "\n".join(f"    {line}" for line in body)
    exec(source, namespace)  # noqa: S102 -- built from the class's own field names only
    init: Any = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__doc__ = cls.__init__.__doc__
    init.quick_init = True  # marks the replacement (tests look)
    type.__setattr__(cls, "__init__", init)
    return cls


_FACTORY: Any = object()  # "use the field's default factory"
