"""Durable state of the sync: the inbox, the stored schedules, the mirror table and the log.

- ``InboxEntry``: every accepted change, committed before the source is answered (S11).
- ``StoredSchedule``: the latest canonical schedule per source record (for back-fill,
  reconciliation and two-way conflict checks).
- ``MirrorEvent``: one row per (schedule, employee) mirrored into a calendar (S3, S6).
- ``SyncLogEntry``: one row per execution (L1), with the error code and parameters that
  re-hydrate the message and hint (L2) in the reader's language.
- ``MailboxLease``: which worker owns a mailbox right now; expires, so a crashed
  worker's mailbox is picked up again.
- ``WorkerHeartbeat``: one row per running worker process, renewed every few seconds
  (readiness, ``/metrics``).
- ``Notice``: an e-mail notice sent to a company's administrators about one problem, so that each
  problem is told once (and again only after it cleared and came back).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from sfacal.directory.companies.models import Company, CompanyScopedManager
from sfacal.directory.employees.models import Employee


class Trigger(models.TextChoices):
    WEBHOOK = "webhook", _("Webhook")
    PUSH = "push", _("Push API")
    BATCH = "batch", _("Periodic batch")
    MANUAL = "manual", _("Manual")
    BACKFILL = "backfill", _("Back-fill")
    WRITEBACK = "writeback", _("Write-back")
    CSV = "csv", _("CSV import")
    POLL = "poll", _("Poll")
    RECONCILE = "reconcile", _("Reconciliation")
    CHECK = "check", _("Connection check")


class InboxState(models.TextChoices):
    PENDING = "pending", _("Pending")
    DONE = "done", _("Done")
    DEFERRED = "deferred", _("Deferred")
    FAILED = "failed", _("Failed")


class InboxEntry(models.Model):
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="inbox")
    source = models.CharField(max_length=64)
    record_id = models.CharField(max_length=200)
    is_deletion = models.BooleanField(default=False)
    payload = models.JSONField(default=dict)  # canonical Schedule.to_dict() or the deletion
    content_hash = models.CharField(max_length=64)
    trigger = models.CharField(max_length=16, choices=Trigger.choices)
    state = models.CharField(max_length=16, choices=InboxState.choices, default=InboxState.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    # Not before this moment (backoff after throttling or an outage; a busy mailbox).
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    # Which part of the company's inbox holds the entry (sfacal.engine.parts: the first
    # participant's slot, so one worker process takes all of an employee's records).
    slot = models.PositiveSmallIntegerField(default=0)

    objects = CompanyScopedManager()

    class Meta:
        indexes = [
            models.Index(fields=["state", "received_at"]),
            models.Index(fields=["company", "source", "record_id"]),
            models.Index(fields=["company", "state", "slot"]),
        ]


class StoredSchedule(models.Model):
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="schedules")
    source = models.CharField(max_length=64)
    record_id = models.CharField(max_length=200)
    payload = models.JSONField(default=dict)
    content_hash = models.CharField(max_length=64)  # of the latest accepted change (replays are no-ops)
    version = models.CharField(max_length=128, blank=True)
    starts_at = models.DateTimeField(null=True, db_index=True)
    source_updated_at = models.DateTimeField(null=True)
    deleted = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CompanyScopedManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["company", "source", "record_id"], name="schedule_unique"),
        ]


class MirrorState(models.TextChoices):
    """Stored state of a mirror row; see ``sfacal.engine.mirrors`` for its meaning to the planner."""

    PENDING_CREATE = "pending_create", _("Create sent")  # write-ahead: a create is (about to be) sent
    SYNCED = "synced", _("Synced")  # the event exists with the recorded content
    FAILED = "failed", _("Failed")  # the last write failed for good (see last_error_code)
    REMOVED = "removed", _("Removed")  # we deleted the event (tombstone: the generation goes on)
    LOST = "lost", _("Deleted in the calendar")  # S9: re-created at the next SFA change


class MirrorEvent(models.Model):
    # No index of its own on ``company``: the unique place and the indexes below all start with it.
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="mirrors", db_index=False)
    source = models.CharField(max_length=64)
    record_id = models.CharField(max_length=200)
    employee = models.ForeignKey(Employee, on_delete=models.CASCADE, related_name="mirrors")
    login_id = models.CharField(max_length=150)
    mailbox = models.CharField(max_length=254)
    calendar_name = models.CharField(max_length=255, blank=True)
    calendar_id = models.CharField(max_length=255, blank=True)
    event_id = models.CharField(max_length=255, blank=True)
    transaction_id = models.CharField(max_length=64)
    content_hash = models.CharField(max_length=64, blank=True)
    change_key = models.CharField(max_length=255, blank=True)
    generation = models.PositiveIntegerField(default=0)
    synced_version = models.CharField(max_length=128, blank=True)
    state = models.CharField(max_length=16, choices=MirrorState.choices, default=MirrorState.PENDING_CREATE)
    last_error_code = models.CharField(max_length=64, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CompanyScopedManager()

    class Meta:
        constraints = [
            # One row per (schedule, employee, place): a calendar move (P4) keeps the old row until
            # its event is deleted, next to the new one.
            models.UniqueConstraint(
                fields=["company", "source", "record_id", "login_id", "mailbox", "calendar_name"],
                name="mirror_unique_place",
            ),
        ]
        # (company, source, record_id) is served by the unique place's leading columns, and an
        # employee's rows by the ``employee`` foreign key's own index (an employee has one company).
        indexes = [
            models.Index(fields=["company", "mailbox"]),
        ]


class LogResult(models.TextChoices):
    SUCCESS = "success", _("Success")
    FAILURE = "failure", _("Failure")
    SKIPPED = "skipped", _("Skipped")
    WARNING = "warning", _("Warning")


class SyncLogEntry(models.Model):
    """L1: one execution."""

    # Every read and the retention purge go by company first: (company, at) and the indexes below
    # serve them, so neither ``company`` nor ``at`` has an index of its own (one B-tree less to
    # update per line each).
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="log_entries", db_index=False)
    at = models.DateTimeField(auto_now_add=True)
    # Indexed by (employee, at) below: an employee belongs to one company, so that index serves
    # an employee's own log as well as (company, employee, at) would, and Django's SET_NULL.
    employee = models.ForeignKey(Employee, on_delete=models.SET_NULL, null=True, blank=True, db_index=False)
    login_id = models.CharField(max_length=150, blank=True)
    mailbox = models.CharField(max_length=254, blank=True)
    calendar_name = models.CharField(max_length=255, blank=True)
    trigger = models.CharField(max_length=16, choices=Trigger.choices)
    operation = models.CharField(max_length=32)
    result = models.CharField(max_length=16, choices=LogResult.choices)
    source = models.CharField(max_length=64, blank=True)
    record_id = models.CharField(max_length=200, blank=True)
    subject = models.CharField(max_length=255, blank=True)
    error_code = models.CharField(max_length=64, blank=True)
    # The error's non-secret parameters (host, field, mailbox ...: ``log_params``), so the message
    # and hint re-hydrate in full; empty on lines written before it existed.
    error_params = models.JSONField(default=dict, blank=True)
    message = models.TextField(blank=True)
    # A postponed write (throttling, an outage, the network): when the engine tries it again -- the
    # same moment its inbox entry is due (``InboxEntry.next_attempt_at``).
    next_attempt_at = models.DateTimeField(null=True, blank=True)

    objects = CompanyScopedManager()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["company", "at"]),
            models.Index(fields=["employee", "at"]),
            models.Index(fields=["company", "result", "at"]),
        ]


class MailboxLease(models.Model):
    """One worker owns a mailbox at a time; the lease expires if the worker dies."""

    key = models.CharField(max_length=300, unique=True)
    owner = models.CharField(max_length=100)
    expires_at = models.DateTimeField()
    # Set by someone who wanted the lease while it was held: the holder runs once more before it
    # lets go (so a change that arrives during a pass is never left waiting for the sweeper).
    dirty = models.BooleanField(default=False)


class DeltaState(models.Model):
    """Two-way: the Graph delta link per employee mailbox."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE)
    employee = models.OneToOneField(Employee, on_delete=models.CASCADE, related_name="delta_state")
    delta_link = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CompanyScopedManager()


class WorkerHeartbeat(models.Model):
    """A worker process that is alive: renewed every ``SFACAL_HEARTBEAT_SECONDS`` (sfacal.engine.heartbeat)."""

    worker = models.CharField(max_length=120, unique=True)
    host = models.CharField(max_length=100)
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    seen_at = models.DateTimeField(db_index=True)


class Notice(models.Model):
    """One e-mail notice about one problem of a company (sfacal.engine.notices).

    Open (``cleared_at`` empty) while the problem lasts: at most one open notice per company,
    problem and threshold (a database constraint, so any number of workers send it once).
    """

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="notices")
    problem = models.CharField(max_length=200)
    threshold = models.CharField(max_length=16, blank=True)
    kind = models.CharField(max_length=32)
    sent_at = models.DateTimeField(auto_now_add=True)
    recipients = models.PositiveIntegerField(default=0)
    cleared_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["company", "problem", "threshold"],
                condition=models.Q(cleared_at__isnull=True),
                name="notice_open_once",
            )
        ]
