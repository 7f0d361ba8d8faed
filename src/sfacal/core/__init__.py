"""sfacal.core: the pure sync domain (no Django, no HTTP, no I/O).

Modules:

* :mod:`~sfacal.core.errors` -- error taxonomy with ja/en messages and hints (L2), ``redact``
* :mod:`~sfacal.core.expiry` -- credential expiry warnings
* :mod:`~sfacal.core.classify` -- upstream (identity platform, Graph) failures -> errors
* :mod:`~sfacal.core.schedule` -- ``Schedule``, ``ScheduleDeletion``, ``SourceRef``, spans
* :mod:`~sfacal.core.settings` -- company policy, employee settings, masters (C, E, P)
* :mod:`~sfacal.core.policy` -- S1-S4, S8, P3 decisions per (schedule, employee)
* :mod:`~sfacal.core.render` -- S5 rendering and the content hash
* :mod:`~sfacal.core.planner` -- mirror rows -> operations, transaction ids, P4 back-fill
* :mod:`~sfacal.core.twoway` -- T1-T5 decisions for calendar-side changes
"""

from sfacal.core.errors import ERROR_TYPES, InputError, SfacalError, error_from_code, redact
from sfacal.core.planner import MirrorRow, MirrorStatus, Operation, OpKind, Outcome, Plan, backfill, plan
from sfacal.core.policy import Action, Decision, Reason, decide
from sfacal.core.render import FieldMapping, RenderedEvent, content_hash, render
from sfacal.core.schedule import (
    AllDaySpan,
    Change,
    Kind,
    Schedule,
    ScheduleDeletion,
    SourceRef,
    Status,
    TimedSpan,
    change_from_dict,
)
from sfacal.core.settings import (
    OUTSIDE_MASTER,
    UNSELECTED,
    CompanyPolicy,
    EmployeeSettings,
    Masters,
    SyncState,
    UserIdMode,
)

__all__ = [
    "ERROR_TYPES",
    "OUTSIDE_MASTER",
    "UNSELECTED",
    "Action",
    "AllDaySpan",
    "Change",
    "CompanyPolicy",
    "Decision",
    "EmployeeSettings",
    "FieldMapping",
    "InputError",
    "Kind",
    "Masters",
    "MirrorRow",
    "MirrorStatus",
    "OpKind",
    "Operation",
    "Outcome",
    "Plan",
    "Reason",
    "RenderedEvent",
    "Schedule",
    "ScheduleDeletion",
    "SfacalError",
    "SourceRef",
    "Status",
    "SyncState",
    "TimedSpan",
    "UserIdMode",
    "backfill",
    "change_from_dict",
    "content_hash",
    "decide",
    "error_from_code",
    "plan",
    "redact",
    "render",
]
