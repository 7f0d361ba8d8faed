"""Reading model rows with plain SQL on the acknowledgement path (no ORM query compilation).

Compiling a queryset costs more than running it on SQLite (about 1 ms of CPU per query); the
few reads every push request and webhook makes (token, stored state, participants) are written
here once as SQL instead. Guarantees:

* the SQL names the model's own table and columns, taken from its ``_meta`` (a renamed field or
  table changes the SQL with it; nothing is spelled twice);
* a row becomes the ORM's own instance (:meth:`Model.from_db`) after the same conversions a
  queryset applies (the backend's and the field's converters: aware datetimes, JSON, decrypted
  fields), so code that receives it cannot tell it from a queryset's;
* reads only: every write still goes through the ORM.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar, cast

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, Model

M = TypeVar("M", bound=Model)

_Converter = Callable[[Any, Any, BaseDatabaseWrapper], Any]
_local = threading.local()


def table(model: type[Model]) -> str:
    """The quoted table name of ``model``."""
    return connections["default"].ops.quote_name(model._meta.db_table)


def column(model: type[Model], name: str) -> str:
    """The quoted column of field ``name`` of ``model``."""
    return connections["default"].ops.quote_name(str(_field(model, name).column))


def _field(model: type[Model], name: str) -> Field[Any, Any]:
    found = model._meta.get_field(name)
    if not isinstance(found, Field):  # pragma: no cover - a relation's reverse side has no column
        raise TypeError(f"{model.__name__}.{name} is not a column")
    return found


def _field_converters(field: Field[Any, Any], connection: BaseDatabaseWrapper) -> list[_Converter]:
    col = field.get_col(field.model._meta.db_table)
    return [*connection.ops.get_db_converters(col), *cast(Any, field).get_db_converters(connection)]


def columns(model: type[Model], alias: str) -> str:
    """Every concrete column of ``model`` (in field order), prefixed with ``alias``: what
    :func:`build` reads back."""
    quote = connections["default"].ops.quote_name
    return ", ".join(f"{alias}.{quote(f.column)}" for f in model._meta.concrete_fields)


def width(model: type[Model]) -> int:
    """How many values :func:`columns` selects."""
    return len(model._meta.concrete_fields)


def _converters(model: type[Model], connection: BaseDatabaseWrapper) -> list[list[_Converter]]:
    cache: dict[tuple[type[Model], str], list[list[_Converter]]] = getattr(_local, "converters", None) or {}
    _local.converters = cache
    key = (model, connection.alias)
    found = cache.get(key)
    if found is None:
        found = [_field_converters(f, connection) for f in model._meta.concrete_fields]
        cache[key] = found
    return found


def build(model: type[M], values: Sequence[Any], *, using: str = "default") -> M:
    """An instance of ``model`` from the values of :func:`columns`, converted as a queryset would."""
    connection = connections[using]
    fields = model._meta.concrete_fields
    converted = []
    for f, value, convs in zip(fields, values, _converters(model, connection), strict=True):
        col = f.get_col(model._meta.db_table)
        for convert in convs:
            value = convert(value, col, connection)
        converted.append(value)
    return model.from_db(using, [f.attname for f in fields], converted)


def converted(model: type[Model], name: str, value: Any, *, using: str = "default") -> Any:
    """One column's value of ``model`` (field ``name``), converted as a queryset would."""
    connection = connections[using]
    field = _field(model, name)
    col = field.get_col(model._meta.db_table)
    for convert in _field_converters(field, connection):
        value = convert(value, col, connection)
    return value


def param(model: type[Model], name: str, value: Any, *, using: str = "default") -> Any:
    """``value`` as a parameter compared with field ``name`` of ``model`` (e.g. a datetime in the
    form the backend stores it), as a queryset's filter would prepare it."""
    return _field(model, name).get_db_prep_value(value, connections[using], prepared=False)


def fetch(sql: str, params: Sequence[Any], *, using: str = "default") -> list[tuple[Any, ...]]:
    """Every row of ``sql`` (plain values)."""
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def for_update() -> str:
    """`` FOR UPDATE`` where the database locks rows (PostgreSQL); nothing on SQLite, whose
    IMMEDIATE transactions already hold the write lock."""
    return " FOR UPDATE" if connections["default"].features.has_select_for_update else ""
