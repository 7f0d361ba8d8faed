"""Schemathesis hooks of the served fuzz run (``SCHEMATHESIS_HOOKS=tests.fuzz.schemathesis_hooks``).

One hook, :func:`filter_failure`. It drops exactly one kind of finding, "schema-valid request
rejected" (ST202), in two cases: the answer is the push API's own error naming a rule JSON Schema
cannot state -- a rule *between* two fields or against the *stored* state, each listed here and in
the operation's description in the OpenAPI document -- or the request was not schema-valid after
all (a part of it generated to violate the schema). Any other refusal of a schema-valid request is
still a finding, and so is every other check's failure.
"""

from __future__ import annotations

import json
import re
from typing import Any

import schemathesis

# (field pattern, reason the API gives): the rules between fields, as the API words them.
BETWEEN_FIELDS: tuple[tuple[str, str], ...] = (
    (r"end", "the end is before the start"),
    (r"start|end", "start and end must both be dates (all-day) or both dates and times"),
    (r"start|end", "an all-day schedule takes a date (YYYY-MM-DD)"),
    (r"start|end", "a date and time is required (or set all_day)"),
    (r"user_id", "a user ID is required to turn sync on with an explicit user ID"),
    (r"\[\d+\]\.name", "appears twice"),
)


def _is_between_fields(problem: dict[str, Any]) -> bool:
    field = str(problem.get("field") or "")
    message = str(problem.get("message") or "")
    return any(re.fullmatch(pattern, field) and reason in message for pattern, reason in BETWEEN_FIELDS)


def explained_refusal(status: int, body: Any) -> bool:
    """Whether an answer refuses a schema-valid request for a documented rule the schema cannot
    state: 412 (the stored state: If-Match, version, updated_at), or 422 whose every problem is a
    rule between fields."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return False
    if status == 412:
        return error.get("code") == "precondition_failed"
    problems = error.get("errors")
    return (
        status == 422
        and error.get("code") == "input_invalid"
        and isinstance(problems, list)
        and bool(problems)
        and all(isinstance(p, dict) and _is_between_fields(p) for p in problems)
    )


def _has_negative_component(case: Any) -> bool:
    """Whether a case marked positive still carries a part generated to violate the schema (the
    coverage phase can keep a header from its previous, negative scenario): not a schema-valid
    request, so its refusal is no finding."""
    components = getattr(getattr(case, "meta", None), "components", None) or {}
    return any(not info.mode.is_positive for info in components.values())


@schemathesis.hook
def filter_failure(context: Any, failure: Any, case: Any, response: Any) -> bool:
    if getattr(failure, "code", "") != "ST202":
        return True
    if _has_negative_component(case):
        return False
    try:
        body = json.loads(response.content)
    except ValueError:
        return True
    return not explained_refusal(response.status_code, body)
