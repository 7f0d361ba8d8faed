"""What every SFA source offers: the :class:`Source` protocol and its :class:`CheckResult`.

A *source* is one connection to an SFA (a JUST.SFA tenant, the push API of Sales Force Assistant or
another SFA, a CSV import). Changes arrive at the source's own door -- a webhook view, a push-API
endpoint, an upload -- and are handed to the engine through ``sfacal.engine.inbox.accept()``; the
protocol below is what the engine and the screens call *on* a source:

* ``kind`` -- the source kind as stored in ``SourceConnection.kind`` (``"justsfa"``, ``"push"``...).
* ``check_connection()`` -- "Save and test" (J1 and the like): proves the credentials and every
  identifier and returns a :class:`CheckResult`. Never raises for a wrong setting: the wrong setting
  is *in* the result, with its message and hint in Japanese and English.
* ``write_back(schedule, edit)`` -- two-way mode (T1): write the calendar-side ``edit`` (subject,
  location, body, times / all-day; see :class:`sfacal.core.twoway.ScheduleEdit`) of ``schedule``
  (the SFA's current state, as stored) back to the SFA record. Raises a
  :class:`~sfacal.core.errors.SfacalError` (retryable ones are retried by the engine). A source
  that cannot write back sets ``supports_write_back = False`` and raises
  :class:`~sfacal.core.errors.ConfigurationError`.
* ``poll()`` -- optional pull of the SFA's current records, for sources that have a records API
  (``supports_poll``): accepts every change through the inbox (trigger ``"poll"``) and returns how
  many changes were accepted. Sources that are only pushed to set ``supports_poll = False``.

All methods are synchronous: they run in web requests (the test button) and in queue workers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from sfacal.core.errors import SfacalError, normalize_lang
from sfacal.core.schedule import Schedule
from sfacal.core.twoway import ScheduleEdit

__all__ = ["CheckResult", "Source"]


@dataclass(frozen=True)
class CheckResult:
    """The outcome of "Save and test" for a source.

    ``error`` is the first problem found (what the screen shows first); ``problems`` lists every
    problem found (e.g. two wrong field identifiers); ``warnings`` are non-blocking remarks (a
    field that could not be verified because the table is empty); ``details`` holds what was
    verified, for display.
    """

    ok: bool
    error: SfacalError | None = None
    problems: tuple[SfacalError, ...] = ()
    warnings: tuple[str, ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict)
    summary_ja: str = "接続を確認できました。"
    summary_en: str = "The connection works."

    @property
    def code(self) -> str:
        return "ok" if self.error is None else self.error.code

    def message(self, lang: str = "ja") -> str:
        if self.error is not None:
            return self.error.user_message(lang)
        return self.summary_ja if normalize_lang(lang) == "ja" else self.summary_en

    def hint(self, lang: str = "ja") -> str:
        return self.error.hint(lang) if self.error is not None else ""

    def to_dict(self, lang: str = "ja") -> dict[str, Any]:
        return {
            "ok": self.ok,
            "code": self.code,
            "message": self.message(lang),
            "hint": self.hint(lang),
            "problems": [
                {"code": p.code, "message": p.user_message(lang), "hint": p.hint(lang), **p.params}
                for p in self.problems
            ],
            "warnings": list(self.warnings),
            "details": dict(self.details),
            "error": self.error.to_dict() if self.error is not None else None,
        }

    @classmethod
    def failure(
        cls,
        problems: Sequence[SfacalError],
        *,
        warnings: Sequence[str] = (),
        details: Mapping[str, Any] | None = None,
    ) -> CheckResult:
        if not problems:
            raise ValueError("a failed check needs at least one problem")
        return cls(
            ok=False,
            error=problems[0],
            problems=tuple(problems),
            warnings=tuple(warnings),
            details=dict(details or {}),
        )


@runtime_checkable
class Source(Protocol):
    """One SFA connection; see the module docstring."""

    kind: str
    supports_poll: bool
    supports_write_back: bool

    def check_connection(self) -> CheckResult: ...

    def write_back(self, schedule: Schedule, edit: ScheduleEdit) -> None: ...

    def poll(self) -> int: ...
