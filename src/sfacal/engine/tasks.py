"""Huey tasks of the engine (registered by ``huey.contrib.djhuey`` from this module)."""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from sfacal.engine import retention

logger = logging.getLogger(__name__)


@db_periodic_task(crontab(minute="17", hour="3"))
def purge_old_logs() -> int:
    """L1: drop log lines older than each company's retention (default about 3 months)."""
    removed = retention.purge_expired_log_entries()
    if removed:
        logger.info("purged %d log entries past retention", removed)
    return removed
