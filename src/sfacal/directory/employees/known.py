"""Which login IDs name an employee of a company: the unknown-participant check every
acknowledged change makes (push API, JUST.SFA webhook), in plain SQL (:mod:`sfacal.directory.sqlrows`)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from sfacal.directory import sqlrows
from sfacal.directory.employees.models import Employee


@lru_cache(maxsize=64)
def _known_sql(count: int) -> str:
    login = sqlrows.column(Employee, "login_id")
    marks = ", ".join(["%s"] * count)
    return (
        f"SELECT {login} FROM {sqlrows.table(Employee)} WHERE {sqlrows.column(Employee, 'company')} = %s "  # noqa: S608 - names from the model, values bound
        f"AND {login} IN ({marks})"
    )


def unknown_logins(company_id: int, logins: Sequence[str]) -> list[str]:
    """The login IDs of ``logins`` (in their order) that no employee of the company has."""
    if not logins:
        return []
    wanted = list(dict.fromkeys(logins))
    known = {row[0] for row in sqlrows.fetch(_known_sql(len(wanted)), [company_id, *wanted])}
    return [login for login in logins if login not in known]
