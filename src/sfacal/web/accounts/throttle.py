"""Sign-in throttling (U1), on django-axes.

Guarantees (settings in ``sfacal.web.settings``, ``AXES_*``):

- Failed sign-ins are counted per client address and per user name, whether or not the name exists;
  when either count reaches ``AXES_FAILURE_LIMIT`` within the cool-off (``AXES_COOLOFF_TIME``),
  sign-in from that address, or to that name, is paused until the cool-off has passed since the last
  counted failure. Attempts during a pause are refused without being counted, so they do not extend
  it, and the right password is refused too.
- The sign-in page says the same thing, with the same status, for an unknown name and a wrong
  password (401), and for any pause (429): nothing tells whether a name exists, nor how many tries
  are left.
- The client address is the connection's peer. Behind a reverse proxy (``SFACAL_BEHIND_PROXY``) the
  web server has already replaced it with the proxy's ``X-Forwarded-For`` client, and only for a
  connection from a trusted proxy (:mod:`sfacal.web.ops.runner`); nothing else reads that header.
- A successful sign-in forgets the failures of that name from that address only: signing in to one's
  own account does not wipe the count of guesses at another account.
- :func:`lift` (``sfacal unlock``) forgets the failures of names and addresses; :func:`paused` lists
  what is paused now.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from axes.handlers.proxy import AxesProxyHandler
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.db.models import Max, Sum
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils import timezone


def client_address(request: HttpRequest) -> str | None:
    """The address failures are counted against (``AXES_CLIENT_IP_CALLABLE``); ``None`` for a
    connection without one (a Unix socket): such connections share one count."""
    return request.META.get("REMOTE_ADDR") or None


def cool_off_minutes() -> int:
    return int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)


def is_paused(request: HttpRequest) -> bool:
    """Whether the sign-in just attempted on ``request`` was refused, or now pauses sign-in."""
    return bool(getattr(request, "axes_locked_out", False))


@receiver(user_logged_in)
def _forget_own_failures(sender: object, request: HttpRequest | None, user: Any, **kwargs: object) -> None:
    if request is None:
        return
    AccessAttempt.objects.filter(username=user.get_username(), ip_address=client_address(request)).delete()


@dataclass(frozen=True)
class Pause:
    """A user name or an address whose failures reached the limit; ``until``: when it ends."""

    kind: str  # "name" or "address"
    value: str
    failures: int
    until: datetime


def _since() -> datetime:
    return timezone.now() - settings.AXES_COOLOFF_TIME


def paused() -> list[Pause]:
    """The names and addresses paused now."""
    found: list[Pause] = []
    recent = AccessAttempt.objects.filter(attempt_time__gte=_since())
    for kind, column in (("name", "username"), ("address", "ip_address")):
        rows = (
            recent.exclude(**{f"{column}__isnull": True})
            .values(column)
            .annotate(failures=Sum("failures_since_start"), last=Max("attempt_time"))
            .filter(failures__gte=settings.AXES_FAILURE_LIMIT)
            .order_by(column)
        )
        found += [
            Pause(kind, str(row[column]), int(row["failures"]), row["last"] + settings.AXES_COOLOFF_TIME)
            for row in rows
        ]
    return found


def lift(*, names: Sequence[str] = (), addresses: Sequence[str] = ()) -> int:
    """Forget the failures of these user names and client addresses; how many records went."""
    count = 0
    for name in names:
        count += AxesProxyHandler.reset_attempts(username=name)
    for address in addresses:
        count += AxesProxyHandler.reset_attempts(ip_address=address)
    return count
