"""Creating a company with its settings row and the default masters (C9)."""

from __future__ import annotations

from django.db import transaction

from sfacal.core.settings import DEFAULT_BUSINESS_NAMES, DEFAULT_PURPOSES
from sfacal.directory.companies.models import BusinessName, Company, CompanySettings, Purpose


@transaction.atomic
def ensure_company(slug: str, name: str) -> Company:
    company, created = Company.objects.get_or_create(slug=slug, defaults={"name": name})
    CompanySettings.objects.get_or_create(company=company)
    if created:
        Purpose.objects.bulk_create(
            Purpose(company=company, name=purpose, counted_as_visit=counted, position=i)
            for i, (purpose, counted) in enumerate(DEFAULT_PURPOSES.items())
        )
        BusinessName.objects.bulk_create(
            BusinessName(company=company, name=business, position=i)
            for i, business in enumerate(DEFAULT_BUSINESS_NAMES)
        )
    return company
