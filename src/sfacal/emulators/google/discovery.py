"""The Calendar API v3 discovery document that ``google-api-python-client`` ships, as the schema truth.

Guarantees (each has a test):

* :func:`validate` checks a JSON value against a schema of the document (``Event``,
  ``CalendarList`` ...): types, formats (``date``, ``date-time``, ``int32``/``int64``), enums
  (and the value sets the descriptions list, :data:`DOCUMENTED_VALUES`),
  nested ``$ref``, arrays and ``additionalProperties`` maps. A property the schema does not name is
  an error, so a connector that sends a field Google does not know fails against the emulator.
* :func:`method` gives a method (``events.insert``) with its HTTP verb, path, parameters and scopes;
  :func:`check_query` refuses query parameters the method (or the API's common parameters) does not
  declare, values outside an enum, and repeats of a parameter that is not ``repeated``.
"""

from __future__ import annotations

import functools
import json
import re
from datetime import date, datetime
from importlib import resources
from typing import Any

__all__ = ["DOCUMENTED_VALUES", "SchemaError", "check_query", "document", "method", "validate"]

DOCUMENTED_VALUES: dict[tuple[str, str], frozenset[str]] = {
    ("Event", "transparency"): frozenset({"opaque", "transparent"}),
    ("Event", "visibility"): frozenset({"default", "public", "private", "confidential"}),
    ("Event", "status"): frozenset({"confirmed", "tentative", "cancelled"}),
    ("Event", "eventType"): frozenset(
        {"default", "birthday", "focusTime", "fromGmail", "outOfOffice", "workingLocation"}
    ),
}
"""Values the document lists only in a property's description (it gives no ``enum``); Google
refuses others with ``400 invalid``."""

_INT_RE = re.compile(r"^-?\d+$")


class SchemaError(ValueError):
    """A request or response does not match the discovery document."""


@functools.cache
def document() -> dict[str, Any]:
    """The parsed ``calendar.v3.json`` shipped with ``google-api-python-client``."""
    path = resources.files("googleapiclient") / "discovery_cache" / "documents" / "calendar.v3.json"
    return dict(json.loads(path.read_text(encoding="utf-8")))


def method(method_id: str) -> dict[str, Any]:
    """``events.insert`` -> its description (``httpMethod``, ``path``, ``parameters``, ``scopes``)."""
    resource, name = method_id.split(".")
    return dict(document()["resources"][resource]["methods"][name])


def _check_format(fmt: str, value: str, where: str) -> None:
    try:
        if fmt == "date":
            date.fromisoformat(value)
            if len(value) != 10:
                raise ValueError(value)
        elif fmt == "date-time":
            datetime.fromisoformat(value.replace("Z", "+00:00"))
            if "T" not in value:
                raise ValueError(value)
        elif fmt in ("int32", "int64", "uint32") and not _INT_RE.match(value):
            raise ValueError(value)
    except ValueError as exc:
        raise SchemaError(f"{where}: {value!r} is not a valid {fmt}") from exc


def validate(schema: str | dict[str, Any], value: Any, where: str = "") -> None:
    """Raise :class:`SchemaError` when ``value`` does not match ``schema`` (a name or a sub-schema)."""
    spec = document()["schemas"][schema] if isinstance(schema, str) else schema
    if "$ref" in spec:
        validate(spec["$ref"], value, where)
        return
    where = where or (schema if isinstance(schema, str) else "value")
    kind = spec.get("type", "any")
    if kind == "any":
        return
    if kind == "object":
        if not isinstance(value, dict):
            raise SchemaError(f"{where}: expected an object")
        props: dict[str, Any] = spec.get("properties", {})
        extra = spec.get("additionalProperties")
        for key, item in value.items():
            allowed = DOCUMENTED_VALUES.get((str(schema), key))
            if allowed is not None and item not in allowed:
                raise SchemaError(f"{where}.{key}: {item!r} is not one of {sorted(allowed)}")
            if key in props:
                validate(props[key], item, f"{where}.{key}")
            elif extra is not None:
                validate(extra, item, f"{where}.{key}")
            else:
                raise SchemaError(f"{where}: unknown field {key!r}")
        return
    if kind == "array":
        if not isinstance(value, list):
            raise SchemaError(f"{where}: expected an array")
        for i, item in enumerate(value):
            validate(spec["items"], item, f"{where}[{i}]")
        return
    if kind == "string":
        if not isinstance(value, str):
            raise SchemaError(f"{where}: expected a string")
        if "format" in spec:
            _check_format(spec["format"], value, where)
        if "enum" in spec and value not in spec["enum"]:
            raise SchemaError(f"{where}: {value!r} is not one of {spec['enum']}")
        return
    if kind == "boolean":
        if not isinstance(value, bool):
            raise SchemaError(f"{where}: expected a boolean")
        return
    if kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            raise SchemaError(f"{where}: expected an integer")
        return
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise SchemaError(f"{where}: expected a number")
        return
    raise SchemaError(f"{where}: unsupported schema type {kind}")


def check_query(method_id: str, query: list[tuple[str, str]]) -> None:
    """Raise :class:`SchemaError` for a query parameter ``method_id`` does not declare (or misuses)."""
    params = {**document()["parameters"], **method(method_id).get("parameters", {})}
    seen: set[str] = set()
    for name, value in query:
        spec = params.get(name)
        if spec is None or spec.get("location") == "path":
            raise SchemaError(f"unknown query parameter {name!r} for {method_id}")
        if name in seen and not spec.get("repeated"):
            raise SchemaError(f"query parameter {name!r} given more than once")
        seen.add(name)
        if "enum" in spec and value not in spec["enum"]:
            raise SchemaError(f"{name}: {value!r} is not one of {spec['enum']}")
        if spec.get("type") == "integer" and not _INT_RE.match(value):
            raise SchemaError(f"{name}: {value!r} is not an integer")
        if spec.get("type") == "boolean" and value not in ("true", "false"):
            raise SchemaError(f"{name}: {value!r} is not a boolean")
