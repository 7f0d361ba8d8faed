"""Log retention (L1): lines older than the company's retention are removed."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from sfacal.directory.companies.models import CompanySettings
from sfacal.engine.models import SyncLogEntry

DEFAULT_RETENTION_DAYS = 92


def purge_expired_log_entries(now: datetime | None = None) -> int:
    now = now or timezone.now()
    removed = 0
    retention_by_company = dict(CompanySettings.objects.values_list("company_id", "log_retention_days"))
    for company_id in SyncLogEntry.objects.values_list("company_id", flat=True).distinct():
        days = retention_by_company.get(company_id) or DEFAULT_RETENTION_DAYS
        cutoff = now - timedelta(days=days)
        deleted, _ = SyncLogEntry.objects.filter(company_id=company_id, at__lt=cutoff).delete()
        removed += deleted
    return removed
