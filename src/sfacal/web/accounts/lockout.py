"""Sign-in lock-out (U1): after repeated failures an account is locked for a while.

Counted per account (``Membership.failed_logins`` / ``locked_until``): five failures in a row
lock the account for fifteen minutes, whoever tries. A success resets the counter.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from sfacal.web.companies.models import Membership, Role

MAX_FAILURES = 5
LOCK_MINUTES = 15


def _membership_for(username: str) -> Membership | None:
    user_model = get_user_model()
    user = user_model.objects.filter(**{user_model.USERNAME_FIELD: username}).first()
    if user is None:
        return None
    membership = Membership.objects.filter(user=user).first()
    if membership is None and user.is_superuser:
        membership = Membership.objects.create(user=user, role=Role.SUPER_ADMIN)
    return membership


def locked_until(username: str, now: datetime | None = None) -> datetime | None:
    """When the account's lock ends, or ``None`` when it may sign in now."""
    membership = _membership_for(username)
    now = now or timezone.now()
    if membership is not None and membership.locked_until and membership.locked_until > now:
        return membership.locked_until
    return None


@transaction.atomic
def register_failure(username: str, now: datetime | None = None) -> tuple[int, datetime | None]:
    """Count a failed sign-in; returns (failures so far, lock end if the account is now locked)."""
    membership = _membership_for(username)
    if membership is None:
        return 0, None
    now = now or timezone.now()
    Membership.objects.filter(pk=membership.pk).update(failed_logins=F("failed_logins") + 1)
    membership.refresh_from_db(fields=["failed_logins"])
    if membership.failed_logins >= MAX_FAILURES:
        until = now + timedelta(minutes=LOCK_MINUTES)
        Membership.objects.filter(pk=membership.pk).update(failed_logins=0, locked_until=until)
        return MAX_FAILURES, until
    return membership.failed_logins, None


def register_success(user: Any) -> None:
    Membership.objects.filter(user=user).update(failed_logins=0, locked_until=None)


def unlock(membership: Membership) -> None:
    Membership.objects.filter(pk=membership.pk).update(failed_logins=0, locked_until=None)
