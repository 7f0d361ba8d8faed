"""A "from / to" date filter of a screen, and the instants it stands for in the company's zone.

* :class:`DateRangeForm`: two optional dates; an end before the start is an error on the end
  field (a form error in the reader's language), never a 500.
* :func:`company_zone`: the company's time zone, Asia/Tokyo when the stored name is unknown.
* :func:`day_bounds`: the first instant of the first day and the first instant after the last day,
  in that zone (either may be ``None``), so "to 2026-11-24" includes the whole of that day.
"""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, time, timedelta
from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

__all__ = ["DateRangeForm", "company_zone", "day_bounds"]

FALLBACK_ZONE = "Asia/Tokyo"


class DateRangeForm(forms.Form):
    date_from = forms.DateField(
        label=gettext_lazy("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=gettext_lazy("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", _("The end date is before the start date."))
        return data


def company_zone(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo(FALLBACK_ZONE)


def day_bounds(
    date_from: date | None, date_to: date | None, zone: zoneinfo.ZoneInfo
) -> tuple[datetime | None, datetime | None]:
    """(start, end): ``start <= t < end`` for every instant ``t`` of the chosen days."""
    start = datetime.combine(date_from, time(0), tzinfo=zone) if date_from else None
    end = datetime.combine(date_to + timedelta(days=1), time(0), tzinfo=zone) if date_to else None
    return start, end
