"""Audit trail of setting changes: who, when, which field — never the value of a secret."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.db import models

from sfacal.directory.companies.models import AuditEntry, Company

SECRET_SET = "set"
SECRET_REPLACED = "replaced"
SECRET_REMOVED = "removed"


def snapshot(instance: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    return {name: getattr(instance, name) for name in fields}


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


def secret_change(old: Any, new: Any) -> str | None:
    """ "set" / "replaced" / "removed" for a secret, or ``None`` when unchanged."""
    had, has = bool(old), bool(new)
    if not had and has:
        return SECRET_SET
    if had and not has:
        return SECRET_REMOVED
    if had and has and old != new:
        return SECRET_REPLACED
    return None


def record_changes(
    *,
    company: Company | None,
    user: Any,
    instance: models.Model,
    before: Mapping[str, Any],
    fields: Iterable[str],
    secret_fields: Iterable[str] = (),
    object_type: str | None = None,
) -> list[AuditEntry]:
    """Write one entry per changed field. Secret fields record only set/replaced/removed."""
    secrets = set(secret_fields)
    entries: list[AuditEntry] = []
    kind = object_type or instance._meta.label_lower
    actor = user if getattr(user, "is_authenticated", False) else None
    for name in list(fields) + [s for s in secrets if s not in fields]:
        old, new = before.get(name), getattr(instance, name)
        if name in secrets:
            change = secret_change(old, new)
            if change is None:
                continue
            entries.append(
                AuditEntry(
                    company=company,
                    user=actor,
                    object_type=kind,
                    object_id=str(instance.pk),
                    field=name,
                    old_value="",
                    new_value=change,
                )
            )
        elif _text(old) != _text(new):
            entries.append(
                AuditEntry(
                    company=company,
                    user=actor,
                    object_type=kind,
                    object_id=str(instance.pk),
                    field=name,
                    old_value=_text(old)[:2000],
                    new_value=_text(new)[:2000],
                )
            )
    AuditEntry.objects.bulk_create(entries)
    return entries


def record_event(
    *, company: Company | None, user: Any, object_type: str, object_id: str, field: str, new_value: str = ""
) -> AuditEntry:
    """A single audited action (created, deleted, token issued, ...)."""
    actor = user if getattr(user, "is_authenticated", False) else None
    return AuditEntry.objects.create(
        company=company,
        user=actor,
        object_type=object_type,
        object_id=object_id,
        field=field,
        new_value=new_value[:2000],
    )
