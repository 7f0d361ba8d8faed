"""C8 for JUST.SFA: the periodic poll that heals what a webhook missed.

S10 promises that the periodic batch "also heals anything missed". For the push API and CSV the
SFA side resends; a JUST.SFA webhook that never arrived is only found by reading the table again.
:func:`poll_company` reads every enabled JUST.SFA connection of a company once
(:func:`sfacal.sources.justsfa.polling.poll_connection`: at most ``poll_max_requests`` requests a
run, the position kept between runs, deletions only after two complete listings) and hands what
changed to the inbox like a webhook would.

Guarantees:

* one connection's failure (unusable settings, JUST.SFA down, the budget used up) never stops the
  others, and is logged with the connection and the error code;
* the poll takes its requests from the same shared budget as every other JUST.SFA call (J4);
* it runs once at a time per company whatever the number of workers (the task holds a lease,
  :func:`sfacal.engine.tasks.run_polls`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sfacal.core.errors import SfacalError
from sfacal.directory.connections.models import SourceConnection, SourceKind

__all__ = ["has_polled_sources", "poll_company"]

logger = logging.getLogger(__name__)


def has_polled_sources(company_id: int) -> bool:
    """Whether the company has a source the periodic batch polls (an enabled JUST.SFA connection)."""
    return SourceConnection.objects.filter(
        company_id=company_id, kind=SourceKind.JUSTSFA, enabled=True
    ).exists()


def poll_company(company_id: int, *, client_for: Callable[[Any], Any] | None = None) -> dict[str, int]:
    """Poll each enabled JUST.SFA connection of the company once; returns the totals.

    ``client_for`` builds the records client from a connection's settings (tests pass one that
    trusts the emulator's CA); by default each poll builds its own."""
    from sfacal.sources.justsfa import JustSfaSettings, poll_connection

    totals = {"connections": 0, "accepted": 0, "deleted": 0, "requests": 0, "errors": 0}
    connections = SourceConnection.objects.filter(
        company_id=company_id, kind=SourceKind.JUSTSFA, enabled=True
    )
    for connection in connections.select_related("company").order_by("pk"):
        totals["connections"] += 1
        try:
            client = client_for(JustSfaSettings.from_connection(connection)) if client_for else None
            result = poll_connection(connection, client=client)
        except SfacalError as exc:  # settings that cannot be used: nothing is read
            logger.warning("JUST.SFA poll of connection %s not run: %s", connection.pk, exc.code)
            totals["errors"] += 1
            continue
        totals["accepted"] += result.accepted
        totals["deleted"] += result.deleted
        totals["requests"] += result.requests
        if result.error is not None:
            totals["errors"] += 1
    return totals
