"""Masters (C9) as external systems write them: the push API replaces a master list at once.

The employee rules the push API shares with the CSV import and the screens live in
:mod:`sfacal.directory.employees.bulk`.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction

from sfacal.core.errors import InputError
from sfacal.core.settings import OUTSIDE_MASTER, UNSELECTED
from sfacal.directory.companies.models import BusinessName, Company, Purpose

__all__ = ["replace_business_names", "replace_purposes"]


def _check_master_names(names: Sequence[str], suffix: str) -> list[str]:
    """The names, stripped; an :class:`InputError` names ``[i]`` + ``suffix`` (the JSON path)."""
    out: list[str] = []
    seen: set[str] = set()
    for i, raw in enumerate(names):
        name = raw.strip()
        where = f"[{i}]{suffix}"
        if not name:
            raise InputError(where, "must not be empty", reason_ja="名前は必須です")
        if name in (UNSELECTED, OUTSIDE_MASTER):
            raise InputError(
                where, f"{name!r} is a reserved pseudo-entry", reason_ja=f"「{name}」は予約された名前です"
            )
        if len(name) > 100:
            raise InputError(where, "longer than 100 characters", reason_ja="100文字以内にしてください")
        if name in seen:
            raise InputError(where, f"{name!r} appears twice", reason_ja=f"「{name}」が重複しています")
        seen.add(name)
        out.append(name)
    return out


@transaction.atomic
def replace_purposes(company: Company, items: Sequence[tuple[str, bool]]) -> list[Purpose]:
    """C9: the 商談目的 master becomes exactly ``items`` (name, counted as a visit), in order."""
    names = _check_master_names([name for name, _ in items], ".name")
    current = {p.name: p for p in Purpose.objects.filter(company=company)}
    Purpose.objects.filter(company=company).exclude(name__in=names).delete()
    for position, (name, (_, counted)) in enumerate(zip(names, items, strict=True)):
        row = current.get(name)
        if row is None:
            Purpose.objects.create(company=company, name=name, counted_as_visit=counted, position=position)
        elif row.counted_as_visit != counted or row.position != position:
            row.counted_as_visit = counted
            row.position = position
            row.save(update_fields=["counted_as_visit", "position"])
    return list(Purpose.objects.filter(company=company).order_by("position", "id"))


@transaction.atomic
def replace_business_names(company: Company, names: Sequence[str]) -> list[BusinessName]:
    """C9: the 業務名 master becomes exactly ``names``, in order."""
    clean = _check_master_names(names, "")
    current = {b.name: b for b in BusinessName.objects.filter(company=company)}
    BusinessName.objects.filter(company=company).exclude(name__in=clean).delete()
    for position, name in enumerate(clean):
        row = current.get(name)
        if row is None:
            BusinessName.objects.create(company=company, name=name, position=position)
        elif row.position != position:
            row.position = position
            row.save(update_fields=["position"])
    return list(BusinessName.objects.filter(company=company).order_by("position", "id"))
