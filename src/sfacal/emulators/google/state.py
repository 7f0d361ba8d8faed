"""The Google emulator's state: projects, service accounts with domain-wide delegation, Workspace
users and their calendars and events, tokens, quotas and knobs. In memory, one lock.

Guarantees:

* Event ids are unique per calendar; a deleted event stays as a ``cancelled`` tombstone (as Google
  keeps them), so inserting its id again is a ``409 duplicate``.
* Every change of a calendar takes the next value of one counter (``seq``): a sync token is the
  counter value it was issued at, so an incremental read returns exactly what changed since.
* Quotas are counted per user and per project in a sliding window (``Knobs``).
"""

from __future__ import annotations

import itertools
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field, fields
from typing import Any

__all__ = ["Calendar", "EmulatorState", "Knobs", "Project", "ServiceAccount", "Token", "User"]


@dataclass
class Knobs:
    """What the emulator does besides answering correctly."""

    latency_ms: float = 0.0
    user_rate_limit: int = 0  # requests per ``rate_window_s`` per impersonated user (0: no limit)
    project_rate_limit: int = 0  # requests per ``rate_window_s`` per project (0: no limit)
    rate_window_s: float = 1.0
    rate_limit_status: int = 403  # Google answers 403 usageLimits, sometimes 429
    sync_token_ttl_s: float = 0.0  # sync tokens older than this answer 410 (0: never)
    token_lifetime_s: int = 3599
    check_responses: bool = False  # every answer checked against the discovery document (500 if not)

    def update(self, values: dict[str, Any]) -> None:
        names = {f.name: f for f in fields(self)}
        for key, value in values.items():
            if key not in names:
                raise KeyError(key)
            current = getattr(self, key)
            setattr(self, key, type(current)(value))

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass
class Project:
    project_id: str
    number: str
    api_enabled: bool = True


@dataclass
class ServiceAccount:
    client_email: str
    client_id: str
    project_id: str
    key_id: str
    public_pem: str
    domain: str
    delegated_scopes: set[str] = field(default_factory=set)
    key_revoked: bool = False


@dataclass
class Calendar:
    id: str
    summary: str
    primary: bool
    access_role: str = "owner"
    time_zone: str = "Asia/Tokyo"
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    seq: dict[str, int] = field(default_factory=dict)  # event id -> seq of its last change


@dataclass
class User:
    email: str
    calendars: dict[str, Calendar] = field(default_factory=dict)

    @property
    def primary(self) -> Calendar:
        return self.calendars[self.email]


@dataclass(frozen=True)
class Token:
    value: str
    client_email: str
    subject: str | None
    scopes: frozenset[str]
    expires_at: float


class EmulatorState:
    """Everything the emulator holds; guard with :attr:`lock`."""

    def __init__(self, knobs: Knobs | None = None) -> None:
        self.knobs = knobs or Knobs()
        self.lock = threading.RLock()
        self._counter = itertools.count(int(time.time() * 1000) * 1000)
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.projects: dict[str, Project] = {}
            self.accounts: dict[str, ServiceAccount] = {}  # by client_email
            self.users: dict[str, User] = {}
            self.tokens: dict[str, Token] = {}
            self.sync_tokens: dict[str, tuple[str, str, int, float]] = {}  # token -> user, cal, seq, issued
            self.windows: dict[str, deque[float]] = {}
            self.journal: deque[dict[str, Any]] = deque(maxlen=5000)
            self.counters: dict[str, int] = {
                "requests": 0,
                "throttled": 0,
                "tokens": 0,
                "token_requests": 0,
                "batches": 0,
            }

    def next_seq(self) -> int:
        return next(self._counter)

    def account_by_key(self, key_id: str) -> ServiceAccount | None:
        return next((a for a in self.accounts.values() if a.key_id == key_id), None)

    def issue_token(self, account: ServiceAccount, subject: str | None, scopes: frozenset[str]) -> Token:
        token = Token(
            "ya29.emu-" + secrets.token_urlsafe(32),
            account.client_email,
            subject,
            scopes,
            time.time() + self.knobs.token_lifetime_s,
        )
        self.tokens[token.value] = token
        self.counters["tokens"] += 1
        return token

    def over_quota(self, key: str, limit: int) -> bool:
        """Count one request against ``key``; ``True`` when it is over ``limit`` in the window."""
        if limit <= 0:
            return False
        now = time.monotonic()
        window = self.windows.setdefault(key, deque())
        while window and window[0] <= now - self.knobs.rate_window_s:
            window.popleft()
        if len(window) >= limit:
            return True
        window.append(now)
        return False
