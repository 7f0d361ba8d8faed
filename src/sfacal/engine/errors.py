"""The engine's own error codes, defined with the others in :mod:`sfacal.core.errors` (the one
registry every log line re-hydrates from, L2) and re-exported here for the engine's modules."""

from __future__ import annotations

from sfacal.core.errors import MailboxUnresolvedError, UnknownParticipantError

__all__ = ["MailboxUnresolvedError", "UnknownParticipantError"]
