"""A small reader and validator for Microsoft Graph CSDL (OData v4 metadata).

Microsoft publishes Graph's schema as CSDL XML (``v1.0-Prod.csdl``). This module
reads the structured types (entity and complex types with their ``BaseType``
chain), their properties (``Type`` including ``Collection(...)``, ``Nullable``)
and enum types, and validates JSON payloads against them.

The emulator ships a JSON subset of the schema (``graph_schema.json``, built by
:func:`subset` from the CSDL) and uses it to reject unknown or mistyped
properties on input, as Graph does. The test-suite validates every payload the
emulator returns against the full CSDL with the same validator.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

EDM_NS = "{http://docs.oasis-open.org/odata/ns/edm}"
GRAPH_NS = "microsoft.graph"
SCHEMA_FILE = Path(__file__).with_name("graph_schema.json")

_DATETIMEOFFSET = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|[+-]\d{2}:\d{2})$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME = re.compile(r"^\d{2}:\d{2}(:\d{2}(\.\d{1,12})?)?$")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_DURATION = re.compile(r"^-?P(\d+D)?(T(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$")
_BASE64 = re.compile(r"^[A-Za-z0-9+/_-]*={0,2}$")
_INT_RANGES = {
    "Edm.Byte": (0, 255),
    "Edm.SByte": (-128, 127),
    "Edm.Int16": (-(2**15), 2**15 - 1),
    "Edm.Int32": (-(2**31), 2**31 - 1),
    "Edm.Int64": (-(2**63), 2**63 - 1),
}


@dataclass(frozen=True)
class PropertyDef:
    name: str
    type: str  # qualified element type, e.g. "Edm.String" or "microsoft.graph.location"
    collection: bool = False
    nullable: bool = True


@dataclass
class StructuredType:
    name: str  # qualified, e.g. "microsoft.graph.event"
    kind: str  # "entity" or "complex"
    base: str | None = None
    abstract: bool = False
    open: bool = False
    properties: dict[str, PropertyDef] = field(default_factory=dict)
    navigation: dict[str, PropertyDef] = field(default_factory=dict)


@dataclass(frozen=True)
class EnumDef:
    name: str
    members: tuple[str, ...]
    flags: bool = False


@dataclass(frozen=True)
class Issue:
    """One way a payload departs from the schema."""

    kind: str  # unknown_property | expected_object | expected_array | type_mismatch | null_not_allowed | bad_enum | bad_format
    path: str
    type_name: str  # the structured type holding the property, or the expected value type
    detail: str
    value: Any = None

    def __str__(self) -> str:
        return f"{self.path or '$'}: {self.kind} ({self.detail})"


def _qualify(type_name: str) -> str:
    if type_name.startswith("graph."):
        return GRAPH_NS + type_name[len("graph") :]
    return type_name


def _split_type(raw: str) -> tuple[str, bool]:
    if raw.startswith("Collection(") and raw.endswith(")"):
        return _qualify(raw[len("Collection(") : -1]), True
    return _qualify(raw), False


class Schema:
    """Structured and enum types of (part of) the Graph schema."""

    def __init__(self, types: dict[str, StructuredType], enums: dict[str, EnumDef]) -> None:
        self.types = types
        self.enums = enums
        self._all_props: dict[str, dict[str, PropertyDef]] = {}
        self._all_nav: dict[str, dict[str, PropertyDef]] = {}
        self._shortcuts: dict[str, dict[str, tuple[object, Any, PropertyDef]]] = {}

    # -- loading -----------------------------------------------------------------
    @classmethod
    def from_csdl(cls, path: Path | str) -> Schema:
        types: dict[str, StructuredType] = {}
        enums: dict[str, EnumDef] = {}
        namespace = ""
        # Microsoft's own metadata file, read from disk: trusted input.
        for event, elem in ET.iterparse(str(path), events=("start", "end")):  # noqa: S314
            tag = elem.tag
            if event == "start":
                if tag == EDM_NS + "Schema":
                    namespace = elem.get("Namespace", "")
                continue
            if tag in (EDM_NS + "EntityType", EDM_NS + "ComplexType"):
                name = f"{namespace}.{elem.get('Name')}"
                base_type = elem.get("BaseType")
                st = StructuredType(
                    name=name,
                    kind="entity" if tag == EDM_NS + "EntityType" else "complex",
                    base=_qualify(base_type) if base_type else None,
                    abstract=elem.get("Abstract") == "true",
                    open=elem.get("OpenType") == "true",
                )
                for child in elem:
                    if child.tag not in (EDM_NS + "Property", EDM_NS + "NavigationProperty"):
                        continue
                    t, coll = _split_type(child.get("Type", "Edm.String"))
                    pdef = PropertyDef(
                        name=child.get("Name", ""),
                        type=t,
                        collection=coll,
                        nullable=child.get("Nullable") != "false",
                    )
                    if child.tag == EDM_NS + "Property":
                        st.properties[pdef.name] = pdef
                    else:
                        st.navigation[pdef.name] = pdef
                types[name] = st
                elem.clear()
            elif tag == EDM_NS + "EnumType":
                name = f"{namespace}.{elem.get('Name')}"
                members = tuple(m.get("Name", "") for m in elem if m.tag == EDM_NS + "Member")
                enums[name] = EnumDef(name, members, elem.get("IsFlags") == "true")
                elem.clear()
        return cls(types, enums)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Schema:
        types: dict[str, StructuredType] = {}
        for name, t in data["types"].items():
            types[name] = StructuredType(
                name=name,
                kind=t["kind"],
                base=t.get("base"),
                abstract=t.get("abstract", False),
                open=t.get("open", False),
                properties={p["name"]: PropertyDef(**p) for p in t["properties"]},
                navigation={p["name"]: PropertyDef(**p) for p in t.get("navigation", [])},
            )
        enums = {
            name: EnumDef(name, tuple(e["members"]), e.get("flags", False))
            for name, e in data["enums"].items()
        }
        return cls(types, enums)

    def to_json(self) -> dict[str, Any]:
        def pjson(p: PropertyDef) -> dict[str, Any]:
            return {"name": p.name, "type": p.type, "collection": p.collection, "nullable": p.nullable}

        return {
            "types": {
                name: {
                    "kind": t.kind,
                    "base": t.base,
                    "abstract": t.abstract,
                    "open": t.open,
                    "properties": [pjson(p) for p in t.properties.values()],
                    "navigation": [pjson(p) for p in t.navigation.values()],
                }
                for name, t in sorted(self.types.items())
            },
            "enums": {
                name: {"members": list(e.members), "flags": e.flags} for name, e in sorted(self.enums.items())
            },
        }

    # -- queries -----------------------------------------------------------------
    def properties(self, type_name: str) -> dict[str, PropertyDef]:
        """All structural properties of a type, including inherited ones."""
        cached = self._all_props.get(type_name)
        if cached is not None:
            return cached
        type_name = _qualify(type_name)
        cached = self._all_props.get(type_name)
        if cached is None:
            chain = self._chain(type_name)
            cached = {}
            for t in reversed(chain):
                cached.update(t.properties)
            self._all_props[type_name] = cached
        return cached

    def navigation(self, type_name: str) -> dict[str, PropertyDef]:
        cached = self._all_nav.get(type_name)
        if cached is not None:
            return cached
        type_name = _qualify(type_name)
        cached = self._all_nav.get(type_name)
        if cached is None:
            cached = {}
            for t in reversed(self._chain(type_name)):
                cached.update(t.navigation)
            self._all_nav[type_name] = cached
        return cached

    def _chain(self, type_name: str) -> list[StructuredType]:
        chain: list[StructuredType] = []
        current: str | None = type_name
        while current is not None:
            st = self.types.get(current)
            if st is None:
                raise KeyError(f"type {current!r} is not in the schema")
            chain.append(st)
            current = st.base
        return chain

    def subset(self, roots: Iterable[str], navigation: Iterable[str] = ()) -> Schema:
        """The types reachable from ``roots`` (bases, property types; and the named navigation targets)."""
        nav_names = set(navigation)
        types: dict[str, StructuredType] = {}
        enums: dict[str, EnumDef] = {}
        pending = [_qualify(r) for r in roots]
        while pending:
            name = pending.pop()
            if name in types or name in enums or name.startswith("Edm."):
                continue
            if name in self.enums:
                enums[name] = self.enums[name]
                continue
            st = self.types[name]
            types[name] = st
            if st.base:
                pending.append(st.base)
            pending.extend(p.type for p in st.properties.values())
            pending.extend(p.type for p in st.navigation.values() if p.name in nav_names)
        # Keep only the navigation properties we follow, so the subset stays small.
        trimmed = {
            name: StructuredType(
                name=t.name,
                kind=t.kind,
                base=t.base,
                abstract=t.abstract,
                open=t.open,
                properties=dict(t.properties),
                navigation={k: v for k, v in t.navigation.items() if k in nav_names},
            )
            for name, t in types.items()
        }
        return Schema(trimmed, enums)

    # -- validation --------------------------------------------------------------
    def validate(
        self,
        value: Any,
        type_name: str,
        *,
        allow_navigation: Iterable[str] = (),
        path: str = "",
    ) -> list[Issue]:
        """Check a JSON object against a structured type. Returns the issues (empty = valid).

        Instance annotations (``@odata.etag``, ``prop@odata.type`` …) are allowed. Open types are
        treated as closed: Graph's calendar backend rejects undeclared properties.
        """
        issues: list[Issue] = []
        self._check_structured(value, _qualify(type_name), set(allow_navigation), path, issues)
        return issues

    def _check_structured(
        self, value: Any, type_name: str, allow_nav: set[str], path: str, issues: list[Issue]
    ) -> None:
        if not isinstance(value, dict):
            issues.append(Issue("expected_object", path, type_name, "a JSON object is required", value))
            return
        shortcuts = self._shortcuts.get(type_name)
        if shortcuts is None:
            shortcuts = self._shortcuts[type_name] = self._shortcuts_of(type_name)
        nav: dict[str, PropertyDef] | None = None
        for key, item in value.items():
            shortcut = shortcuts.get(key)
            if shortcut is not None:
                # Fast paths for the common cases: strings, booleans, enum names, nested objects.
                kind, arg, pdef = shortcut
                item_type = type(item)
                if kind is _STRING:
                    if item_type is str:
                        continue
                elif kind is _BOOLEAN:
                    if item_type is bool:
                        continue
                elif kind is _ENUM:
                    if item_type is str and item in arg:
                        continue
                elif kind is _OBJECT and item_type is dict:
                    self._check_structured(item, arg, allow_nav, _join(path, key), issues)
                    continue
                self._check_property(item, pdef, allow_nav, _join(path, key), issues)
                continue
            if "@" in key:
                continue
            if nav is None:
                nav = self.navigation(type_name) if allow_nav else {}
            if key in nav and key in allow_nav:
                self._check_property(item, nav[key], allow_nav, _join(path, key), issues)
                continue
            issues.append(Issue("unknown_property", _join(path, key), type_name, f"no property {key!r}", key))

    def _shortcuts_of(self, type_name: str) -> dict[str, tuple[object, Any, PropertyDef]]:
        """Per structural property: how a value of the usual kind is accepted without the general
        path (``_check_property``), which every other value takes."""
        out: dict[str, tuple[object, Any, PropertyDef]] = {}
        for key, pdef in self.properties(type_name).items():
            ptype = pdef.type
            enum = self.enums.get(ptype)
            if pdef.collection:
                out[key] = (_GENERAL, None, pdef)
            elif ptype == "Edm.String":
                out[key] = (_STRING, None, pdef)
            elif ptype == "Edm.Boolean":
                out[key] = (_BOOLEAN, None, pdef)
            elif enum is not None and not enum.flags:
                out[key] = (_ENUM, frozenset(enum.members), pdef)
            elif ptype in self.types:
                out[key] = (_OBJECT, ptype, pdef)
            else:
                out[key] = (_GENERAL, None, pdef)
        return out

    def _check_property(
        self, value: Any, pdef: PropertyDef, allow_nav: set[str], path: str, issues: list[Issue]
    ) -> None:
        if value is None:
            if not pdef.nullable and not pdef.collection:
                issues.append(Issue("null_not_allowed", path, pdef.type, "null is not allowed"))
            return
        if pdef.collection:
            if not isinstance(value, list):
                issues.append(Issue("expected_array", path, pdef.type, "a JSON array is required", value))
                return
            for i, element in enumerate(value):
                sub = f"{path}[{i}]"
                if element is None:
                    issues.append(Issue("null_not_allowed", sub, pdef.type, "null element in a collection"))
                else:
                    self._check_value(element, pdef.type, allow_nav, sub, issues)
            return
        self._check_value(value, pdef.type, allow_nav, path, issues)

    def _check_value(
        self, value: Any, type_name: str, allow_nav: set[str], path: str, issues: list[Issue]
    ) -> None:
        if type_name.startswith("Edm."):
            problem = _check_primitive(value, type_name)
            if problem:
                issues.append(Issue(problem[0], path, type_name, problem[1], value))
            return
        enum = self.enums.get(type_name)
        if enum is not None:
            if not isinstance(value, str):
                issues.append(
                    Issue("type_mismatch", path, type_name, "an enum member name is required", value)
                )
                return
            names = [v.strip() for v in value.split(",")] if enum.flags else [value]
            for n in names:
                if n not in enum.members:
                    issues.append(Issue("bad_enum", path, type_name, f"{n!r} is not a member", value))
            return
        if type_name not in self.types:
            issues.append(Issue("type_mismatch", path, type_name, "type not in schema", value))
            return
        self._check_structured(value, type_name, allow_nav, path, issues)


# How ``_check_structured`` accepts a property's usual value (see ``Schema._shortcuts_of``).
_STRING, _BOOLEAN, _ENUM, _OBJECT, _GENERAL = object(), object(), object(), object(), object()


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _check_primitive(value: Any, type_name: str) -> tuple[str, str] | None:
    if type_name == "Edm.String":
        return None if isinstance(value, str) else ("type_mismatch", "a string is required")
    if type_name == "Edm.Boolean":
        return None if isinstance(value, bool) else ("type_mismatch", "a boolean is required")
    if type_name in _INT_RANGES:
        if isinstance(value, bool) or not isinstance(value, int):
            return ("type_mismatch", "an integer is required")
        lo, hi = _INT_RANGES[type_name]
        return None if lo <= value <= hi else ("bad_format", "integer out of range")
    if type_name in ("Edm.Double", "Edm.Single", "Edm.Decimal"):
        if isinstance(value, str) and value in ("NaN", "INF", "-INF"):
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            return ("type_mismatch", "a number is required")
        return None
    if not isinstance(value, str):
        return ("type_mismatch", f"a string in {type_name} format is required")
    pattern = {
        "Edm.DateTimeOffset": _DATETIMEOFFSET,
        "Edm.Date": _DATE,
        "Edm.TimeOfDay": _TIME,
        "Edm.Guid": _GUID,
        "Edm.Duration": _DURATION,
        "Edm.Binary": _BASE64,
    }.get(type_name)
    if pattern is not None and not pattern.match(value):
        return ("bad_format", f"not in {type_name} format")
    return None


# Types the emulator serves, and the navigation properties it can expand.
ROOT_TYPES = ("microsoft.graph.event", "microsoft.graph.calendar", "microsoft.graph.subscription")
FOLLOWED_NAVIGATION = ("singleValueExtendedProperties",)


def build_subset(csdl_path: Path | str) -> dict[str, Any]:
    """The JSON subset the emulator ships, built from Microsoft's CSDL."""
    return Schema.from_csdl(csdl_path).subset(ROOT_TYPES, FOLLOWED_NAVIGATION).to_json()


@lru_cache(maxsize=1)
def shipped_schema() -> Schema:
    return Schema.from_json(json.loads(SCHEMA_FILE.read_text(encoding="utf-8")))


if __name__ == "__main__":  # pragma: no cover - maintenance entry point
    import sys

    data = build_subset(sys.argv[1])
    SCHEMA_FILE.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {SCHEMA_FILE} ({len(data['types'])} types, {len(data['enums'])} enums)")
