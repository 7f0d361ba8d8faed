"""``GET /schedules/{source_id}/explain``: the explainer's answer as JSON.

The same explanation the screens show (:func:`sfacal.engine.explaining.explain_record`, which runs
the planner on the engine's own inputs), for a schedule of the token's company: 404 naming
``source_id`` when no schedule with that ID was received. Every step carries its message in both
languages; times are ISO 8601 in ``values`` and in the company's time zone in the messages.
"""

from __future__ import annotations

from typing import Any

from sfacal.core.explain import Verdict
from sfacal.directory.companies.models import Company
from sfacal.engine.explaining import explain_record
from sfacal.sources.push import errors
from sfacal.sources.push.convert import SOURCE
from sfacal.sources.push.service import check_source_id

__all__ = ["explanation"]


def _participant(verdict: Verdict) -> dict[str, Any]:
    return {
        "login_id": verdict.login_id,
        "decision": verdict.action.value if verdict.action is not None else None,
        "reason": verdict.reason.value,
        "writes": [kind.value for kind in verdict.kinds],
        "mailbox": verdict.mailbox,
        "calendar_name": verdict.calendar_name,
        "steps": [s.to_dict() for s in verdict.steps],
    }


def explanation(company: Company, source_id: str) -> dict[str, Any]:
    record_id = check_source_id(source_id)
    report = explain_record(company, SOURCE, record_id)
    if report.stored is None:
        raise errors.not_found("schedule", "スケジュール", "source_id")
    found = report.explanation
    event = found.event if found is not None else None
    return {
        "source_id": record_id,
        "deleted": bool(report.stored.deleted),
        "held_back": found.blocked.value if found is not None and found.blocked is not None else None,
        "event": {
            "subject": event.subject,
            "location": event.location,
            "start": event.start.isoformat(),
            "end": event.end.isoformat(),
            "is_all_day": event.is_all_day,
            "timezone": event.timezone,
        }
        if event is not None
        else None,
        "participants": [_participant(v) for v in report.verdicts],
    }
