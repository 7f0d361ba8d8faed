"""In-memory state of the Microsoft 365 emulator.

Everything lives on the server's single event loop: handlers mutate it between
``await`` points only, so no locks are needed and per-mailbox accounting stays
exact under concurrent requests. Other threads talk to it over the control API.
"""

from __future__ import annotations

import base64
import hashlib
import os
import random
import secrets
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from .ids import new_rest_id


def new_guid() -> str:
    return str(uuid.uuid4())


# Change keys must be unique and look like Graph's, not be unguessable: drawn from a generator
# seeded once from the OS (a pass creates tens of thousands; one system call each added up).
_random = random.Random(os.urandom(32))


def new_item_id(mailbox: str = "") -> str:
    """An Exchange-looking folder or item id of the REST shape (:mod:`.ids`)."""
    return new_rest_id(mailbox)


def new_change_key() -> str:
    return base64.b64encode(_random.randbytes(12)).decode()


# -- knobs ----------------------------------------------------------------------------------------


@dataclass
class Knobs:
    """Service behaviour that tests and the demo can tune at run time."""

    latency_ms: float = 0.0  # fixed latency per Graph request (and per batch item)
    latency_max_ms: float | None = None  # if set: uniform random latency in [latency_ms, latency_max_ms]
    token_latency_ms: float = 0.0
    mailbox_concurrency: int = 4  # requests in flight per (app, mailbox)
    rate_limit: int = 10_000  # requests per window per (app, mailbox)
    rate_window_s: float = 600.0
    concurrency_retry_after_s: int = 1
    app_rate_limit: int = 130_000  # requests per window per app across all tenants (global limit)
    app_rate_window_s: float = 10.0
    batch_throttle: bool = False  # some items of a large one-mailbox batch answered 429 (batch_throttle.py)
    batch_throttle_min_items: int = 10  # a mailbox's items in one batch before any is throttled
    batch_throttle_share_min: float = 0.2  # share of those items throttled: 4 of 20 ...
    batch_throttle_share_max: float = 0.3  # ... to 6 of 20
    batch_throttle_retry_after_min_s: float = 0.1  # each throttled item's own Retry-After, uniform
    batch_throttle_retry_after_max_s: float = 0.5
    batch_throttle_seed: int | None = None  # set: the same items are throttled on every run
    batch_outlook_parallelism: int = 4
    max_batch_requests: int = 20
    max_body_bytes: int = 4 * 1024 * 1024
    failure_rate_429: float = 0.0
    failure_rate_503: float = 0.0
    failure_rate_504: float = 0.0
    failure_rate_reset: float = 0.0
    failure_rate_504_after_write: float = 0.0  # the write is applied, the client sees 504
    failure_retry_after_s: int = 2
    rest_ids_change_on_update: bool = False  # every change gives an event a new REST id (moves always do)
    access_token_lifetime_s: int = 3599
    delta_token_ttl_s: float = 7 * 24 * 3600.0
    delta_page_size: int = 10  # default odata.maxpagesize for calendarView/delta
    list_page_size: int = 10  # default $top for events and calendarView
    validation_timeout_s: float = 10.0
    notification_timeout_s: float = 3.0
    notification_retries: int = 2
    allow_http_notification_loopback: bool = True
    max_subscription_minutes: int = 10_080
    journal_limit: int = 100_000

    def update(self, values: dict[str, Any]) -> None:
        for key, value in values.items():
            if not hasattr(self, key) or key.startswith("_"):
                raise KeyError(key)
            current = getattr(self, key)
            if isinstance(current, bool):
                value = bool(value)
            elif isinstance(current, int) and not isinstance(value, bool) and value is not None:
                value = int(value)
            elif isinstance(current, float) and value is not None:
                value = float(value)
            setattr(self, key, value)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


# -- directory --------------------------------------------------------------------------------------


@dataclass
class Tenant:
    id: str
    domains: list[str]
    display_name: str


@dataclass
class Secret:
    key_id: str
    value: str
    expires: datetime
    hint: str


@dataclass
class Certificate:
    key_id: str
    pem: str
    public_key: RSAPublicKey
    sha1: bytes
    sha256: bytes
    not_after: datetime

    @classmethod
    def from_pem(cls, pem: str) -> Certificate:
        cert = x509.load_pem_x509_certificate(pem.encode())
        key = cert.public_key()
        if not isinstance(key, RSAPublicKey):
            raise ValueError("only RSA certificates are supported")
        from cryptography.hazmat.primitives.serialization import Encoding

        der = cert.public_bytes(Encoding.DER)
        return cls(
            key_id=new_guid(),
            pem=pem,
            public_key=key,
            sha1=hashlib.sha1(der).digest(),  # noqa: S324 - the x5t thumbprint is SHA-1 by definition
            sha256=hashlib.sha256(der).digest(),
            not_after=cert.not_valid_after_utc,
        )


@dataclass
class App:
    client_id: str
    tenant_id: str
    display_name: str
    secrets: list[Secret] = field(default_factory=list)
    certificates: list[Certificate] = field(default_factory=list)
    permissions: set[str] = field(default_factory=set)


@dataclass
class Calendar:
    id: str
    name: str
    change_key: str
    is_default: bool = False
    color: str = "auto"
    hex_color: str = ""
    can_edit: bool = True  # False: shared to the mailbox read-only; writes are refused


@dataclass
class Event:
    id: str  # the immutable id: the event's key in its mailbox, whatever id kind a request uses
    calendar_id: str
    props: dict[str, Any]  # writable Graph properties as stored (body, subject, location, …)
    start_utc: datetime
    end_utc: datetime
    all_day_start: str | None  # "YYYY-MM-DD" for all-day events
    all_day_end: str | None
    ext: dict[str, tuple[str, str]]  # normalised id -> (id as written, value)
    created: datetime
    modified: datetime
    change_key: str
    transaction_id: str | None
    create_body: dict[str, Any] | None  # the create request, to recognise a transactionId replay
    seq: int
    ical_uid: str
    rest_id: str = ""  # the default (REST) id: changes when the event moves to another calendar
    web_link: str = ""  # rendered on first use, for the id in ``web_link_id``
    web_link_id: str = ""


@dataclass
class Tombstone:
    """An event deleted from ``calendar_id``, or moved out of it (delta reports it removed there)."""

    id: str
    calendar_id: str
    seq: int
    start_utc: datetime
    end_utc: datetime
    rest_id: str = ""  # the REST id it had in that calendar


@dataclass
class User:
    id: str
    upn: str
    tenant_id: str
    display_name: str
    has_mailbox: bool = True
    rest_enabled: bool = True
    calendars: dict[str, Calendar] = field(default_factory=dict)
    default_calendar_id: str = ""
    events: dict[str, Event] = field(default_factory=dict)  # by immutable id
    rest_ids: dict[str, str] = field(default_factory=dict)  # REST id -> immutable id
    tombstones: list[Tombstone] = field(default_factory=list)
    by_transaction: dict[str, str] = field(default_factory=dict)
    seq: int = 0

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def find_event(self, event_id: str) -> Event | None:
        """The live event with this immutable or REST id (a REST id from before a move: ``None``)."""
        found = self.events.get(event_id)
        if found is None:
            key = self.rest_ids.get(event_id)
            found = self.events.get(key) if key is not None else None
        return found


@dataclass
class DeltaToken:
    user_id: str
    window_start: datetime
    window_end: datetime
    seq: int
    created: float
    pending: list[dict[str, Any]] | None = None  # remaining pages for a $skiptoken
    page_size: int = 10


@dataclass
class Subscription:
    id: str
    app_id: str
    tenant_id: str
    user_id: str
    calendar_id: str | None
    resource: str
    change_types: set[str]
    notification_url: str
    lifecycle_url: str | None
    client_state: str | None
    expiration: datetime
    created: datetime
    immutable_ids: bool = False  # created with Prefer: IdType="ImmutableId": notifications carry those


@dataclass
class Counters:
    requests: int = 0
    by_status: dict[int, int] = field(default_factory=dict)
    throttled: int = 0
    resets: int = 0
    token_requests: int = 0
    peak_concurrency: dict[str, int] = field(default_factory=dict)  # mailbox -> peak in flight (any app)
    per_mailbox: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "by_status": {str(k): v for k, v in sorted(self.by_status.items())},
            "throttled": self.throttled,
            "resets": self.resets,
            "token_requests": self.token_requests,
            "peak_concurrency": dict(self.peak_concurrency),
            "per_mailbox": dict(self.per_mailbox),
        }


class EmulatorState:
    """All tenants, apps, users, calendars, events, subscriptions and service accounting."""

    def __init__(self, knobs: Knobs | None = None) -> None:
        self.knobs = knobs or Knobs()
        self.reset()

    def reset(self) -> None:
        self.tenants: dict[str, Tenant] = {}
        self.apps: dict[str, App] = {}
        self.users: dict[str, User] = {}
        self.users_by_upn: dict[str, str] = {}
        self.subscriptions: dict[str, Subscription] = {}
        self.subscriptions_by_user: dict[str, set[str]] = {}
        self.delta_tokens: dict[str, DeltaToken] = {}
        self.counters = Counters()
        self.journal: deque[dict[str, Any]] = deque(maxlen=self.knobs.journal_limit)
        self.notifications: deque[dict[str, Any]] = deque(maxlen=10_000)
        self.in_flight: dict[tuple[str, str], int] = {}
        self.mailbox_in_flight: dict[str, int] = {}
        self.rate_windows: dict[tuple[str, str], deque[float]] = {}
        self.app_windows: dict[str, deque[float]] = {}  # app id -> request times (global limit)
        self.batches_seen: dict[str, int] = {}  # mailbox -> batches addressing it (batch_throttle)

    # -- directory lookups ---------------------------------------------------------------------------
    def find_tenant(self, ref: str) -> Tenant | None:
        ref_l = ref.lower()
        t = self.tenants.get(ref_l)
        if t is not None:
            return t
        for t in self.tenants.values():
            if ref_l in (d.lower() for d in t.domains):
                return t
        return None

    def find_user(self, ref: str, tenant_id: str | None = None) -> User | None:
        ref_l = ref.lower()
        user = self.users.get(ref_l)
        if user is None:
            uid = self.users_by_upn.get(ref_l)
            user = self.users.get(uid) if uid else None
        if user is not None and tenant_id is not None and user.tenant_id != tenant_id:
            return None
        return user

    def add_tenant(
        self, domains: list[str], display_name: str | None = None, tenant_id: str | None = None
    ) -> Tenant:
        tid = (tenant_id or new_guid()).lower()
        tenant = Tenant(tid, domains, display_name or (domains[0] if domains else tid))
        self.tenants[tid] = tenant
        return tenant

    def add_app(
        self,
        tenant_id: str,
        *,
        client_id: str | None = None,
        display_name: str = "sfacal",
        permissions: set[str] | None = None,
    ) -> App:
        app = App(
            client_id=(client_id or new_guid()).lower(),
            tenant_id=tenant_id,
            display_name=display_name,
            permissions=set(permissions) if permissions is not None else {"Calendars.ReadWrite"},
        )
        self.apps[app.client_id] = app
        return app

    def add_secret(self, app: App, value: str | None, expires: datetime) -> Secret:
        value = value or (secrets.token_urlsafe(30)[:40])
        secret = Secret(new_guid(), value, expires, value[:3])
        app.secrets.append(secret)
        return secret

    def add_user(
        self,
        tenant_id: str,
        upn: str,
        *,
        user_id: str | None = None,
        display_name: str | None = None,
        has_mailbox: bool = True,
        rest_enabled: bool = True,
    ) -> User:
        uid = (user_id or new_guid()).lower()
        user = User(
            id=uid,
            upn=upn,
            tenant_id=tenant_id,
            display_name=display_name or upn.split("@")[0],
            has_mailbox=has_mailbox,
            rest_enabled=rest_enabled,
        )
        default = Calendar(new_item_id(uid), "Calendar", new_change_key(), is_default=True)
        user.calendars[default.id] = default
        user.default_calendar_id = default.id
        self.users[uid] = user
        self.users_by_upn[upn.lower()] = uid
        return user

    def add_calendar(self, user: User, name: str, *, can_edit: bool = True) -> Calendar:
        cal = Calendar(new_item_id(user.id), name, new_change_key(), can_edit=can_edit)
        user.calendars[cal.id] = cal
        return cal

    def add_subscription(self, sub: Subscription) -> None:
        self.subscriptions[sub.id] = sub
        self.subscriptions_by_user.setdefault(sub.user_id, set()).add(sub.id)

    def remove_subscription(self, sub_id: str) -> None:
        sub = self.subscriptions.pop(sub_id, None)
        if sub is not None:
            self.subscriptions_by_user.get(sub.user_id, set()).discard(sub_id)

    # -- journal -----------------------------------------------------------------------------------
    def record(self, entry: dict[str, Any]) -> None:
        self.journal.append(entry)
        status = int(entry.get("status", 0))
        c = self.counters
        c.requests += 1
        c.by_status[status] = c.by_status.get(status, 0) + 1
        if status == 429:
            c.throttled += 1
        mailbox = entry.get("mailbox")
        if mailbox:
            c.per_mailbox[mailbox] = c.per_mailbox.get(mailbox, 0) + 1


def utcnow() -> datetime:
    return datetime.now(UTC)


def monotonic() -> float:
    return time.monotonic()
