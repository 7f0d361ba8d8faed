"""Leases: one worker owns a mailbox (or a company's inbox pass) at a time.

A lease is a row of :class:`~sfacal.engine.models.MailboxLease` (``key``, ``owner``,
``expires_at``, ``dirty``). It is taken with statements that are atomic on SQLite and PostgreSQL
alike, without any database-specific SQL:

1. ``UPDATE … SET owner = me, expires_at = later WHERE key IN (…) AND (expires_at < now OR
   owner = me)`` takes over expired leases (a dead worker's) and renews our own;
2. ``INSERT … ON CONFLICT DO NOTHING`` (``bulk_create(ignore_conflicts=True)``) creates the
   missing ones -- of two workers racing for a new key exactly one insert wins;
3. ``SELECT key … WHERE owner = me`` tells which keys we hold now.

A holder renews its leases while it works (:meth:`LeaseSet.renew`); a worker that dies simply stops
renewing and its leases expire after the TTL (``SFACAL_LEASE_SECONDS``, default 60 s).

The ``dirty`` flag closes the gap between "the holder looked for work for the last time" and "the
holder let go": whoever wants a held lease marks it dirty (:func:`mark_dirty`), and
:meth:`LeaseSet.release_if_clean` refuses to let go of a dirty lease (it clears the flag and the
holder runs once more).

:func:`singleton` runs a company-wide job (the periodic batch, two-way reads, reconciliation,
retention) in at most one worker at a time, however many worker processes run: whoever takes the
job's lease runs it, renewing the lease from a heartbeat thread; the others skip it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import uuid
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from sfacal.engine.models import MailboxLease

__all__ = [
    "LeaseSet",
    "company_key",
    "lease_seconds",
    "mailbox_key",
    "mark_dirty",
    "new_owner",
    "singleton",
]

log = logging.getLogger(__name__)

DEFAULT_LEASE_SECONDS = 60.0


def lease_seconds() -> float:
    """The lease time to live (``SFACAL_LEASE_SECONDS``, default 60; at least 1)."""
    raw = os.environ.get("SFACAL_LEASE_SECONDS", "").strip()
    try:
        value = float(raw) if raw else DEFAULT_LEASE_SECONDS
    except ValueError:
        value = DEFAULT_LEASE_SECONDS
    return max(1.0, value)


def new_owner() -> str:
    """A unique owner id: host, process, thread and a random part (at most 100 characters)."""
    host = socket.gethostname()[:40]
    return f"{host}:{os.getpid()}:{threading.get_ident() % 100000}:{uuid.uuid4().hex[:12]}"


def company_key(company_id: int) -> str:
    return f"company:{company_id}"


def mailbox_key(company_id: int, mailbox: str) -> str:
    return f"mbx:{company_id}:{mailbox.strip().lower()}"[:300]


def _chunks(keys: list[str], size: int = 500) -> Iterable[list[str]]:
    for i in range(0, len(keys), size):
        yield keys[i : i + size]


class LeaseSet:
    """The leases one owner holds (not thread-safe; one pass uses one set)."""

    def __init__(self, owner: str | None = None, ttl: float | None = None) -> None:
        self.owner = owner or new_owner()
        self.ttl = ttl if ttl is not None else lease_seconds()
        self.held: set[str] = set()

    def _expiry(self, now: datetime) -> datetime:
        return now + timedelta(seconds=self.ttl)

    def acquire(self, keys: Iterable[str]) -> set[str]:
        """Take every key that is free, expired or already ours; returns the keys taken now."""
        wanted = sorted(set(keys))
        if not wanted:
            return set()
        got: set[str] = set()
        for chunk in _chunks(wanted):
            now = timezone.now()
            expires = self._expiry(now)
            with transaction.atomic():
                MailboxLease.objects.filter(key__in=chunk).filter(
                    models_q_expired_or_mine(now, self.owner)
                ).update(owner=self.owner, expires_at=expires)
                MailboxLease.objects.bulk_create(
                    [MailboxLease(key=k, owner=self.owner, expires_at=expires) for k in chunk],
                    ignore_conflicts=True,
                )
                got.update(
                    MailboxLease.objects.filter(key__in=chunk, owner=self.owner).values_list("key", flat=True)
                )
        self.held |= got
        return got

    def renew(self) -> set[str]:
        """Push the expiry of every held lease; returns the keys lost (taken over after expiry)."""
        if not self.held:
            return set()
        keys = sorted(self.held)
        still: set[str] = set()
        for chunk in _chunks(keys):
            now = timezone.now()
            with transaction.atomic():
                MailboxLease.objects.filter(key__in=chunk, owner=self.owner).update(
                    expires_at=self._expiry(now)
                )
                still.update(
                    MailboxLease.objects.filter(key__in=chunk, owner=self.owner).values_list("key", flat=True)
                )
        lost = self.held - still
        self.held = still
        return lost

    def release(self, keys: Iterable[str] | None = None) -> None:
        """Let go of ``keys`` (default: all held)."""
        targets = sorted(self.held if keys is None else set(keys) & self.held)
        for chunk in _chunks(targets):
            MailboxLease.objects.filter(key__in=chunk, owner=self.owner).delete()
        self.held -= set(targets)

    def release_if_clean(self, key: str) -> bool:
        """Let go of ``key`` unless somebody marked it dirty meanwhile; then clear the flag and
        answer ``False`` (the caller runs once more and tries again)."""
        deleted, _ = MailboxLease.objects.filter(key=key, owner=self.owner, dirty=False).delete()
        if deleted:
            self.held.discard(key)
            return True
        updated = MailboxLease.objects.filter(key=key, owner=self.owner).update(dirty=False)
        if not updated:  # not ours any more (expired and taken over): nothing to release
            self.held.discard(key)
            return True
        return False


def models_q_expired_or_mine(now: datetime, owner: str) -> object:
    from django.db.models import Q

    return Q(expires_at__lt=now) | Q(owner=owner)


def mark_dirty(key: str) -> tuple[bool, datetime | None]:
    """Ask the live holder of ``key`` to run once more.

    Returns ``(held, expires_at)``: ``held`` is ``False`` when no live lease exists (the caller
    should try to take it itself). ``expires_at`` is set only when this call flipped the flag (so
    exactly one caller per holding period schedules a check for a holder that might have died).
    """
    now = timezone.now()
    flipped = MailboxLease.objects.filter(key=key, expires_at__gte=now, dirty=False).update(dirty=True)
    if flipped:
        expires = MailboxLease.objects.filter(key=key).values_list("expires_at", flat=True).first()
        return True, expires
    held = MailboxLease.objects.filter(key=key, expires_at__gte=now).exists()
    return held, None


@contextlib.contextmanager
def singleton(key: str, ttl: float | None = None) -> Iterator[bool]:
    """Hold the lease ``key`` while the block runs; yields whether this worker holds it.

    A block that gets ``False`` must skip its job: another worker runs it now. The lease is renewed
    every third of its time to live from a heartbeat thread (so a job longer than the TTL keeps it)
    and released at the end; if the worker dies, it expires and the job can run elsewhere."""
    lease = LeaseSet(owner=f"singleton:{new_owner()}", ttl=ttl)
    if key not in lease.acquire([key]):
        yield False
        return
    stop = threading.Event()

    def heartbeat() -> None:
        try:
            while not stop.wait(max(0.2, lease.ttl / 3)):
                if key in lease.renew():
                    log.warning("the lease of %s was lost while its job ran", key)
                    return
        except Exception:
            log.exception("renewing the lease of %s failed", key)
        finally:
            connection.close()  # this thread's own database connection

    beat = threading.Thread(target=heartbeat, name=f"lease:{key}"[:60], daemon=True)
    beat.start()
    try:
        yield True
    finally:
        stop.set()
        beat.join(30)
        lease.release()
