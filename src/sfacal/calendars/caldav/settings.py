"""What the CalDAV connector needs to reach a company's calendars: plain values, no database.

Two ways to reach an employee's calendars (both may be used in one company):

* a **service account**: one server URL, user and password for the company, and a pattern that
  turns the employee's user id (the "mailbox") into the path of their calendar home
  (``{mailbox}/`` by default, as Radicale, Baïkal, Nextcloud ``remote.php/dav/calendars/{mailbox}/``
  lay them out);
* a **per-employee account**: the employee's own URL, user and password; the calendar home is
  found by discovery (``current-user-principal`` → ``calendar-home-set``, RFC 5397 / RFC 4791 §6.2).

Secrets are kept out of ``repr`` so a settings object never lands in a log with its password.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import quote, urljoin

from sfacal.core.errors import CalDavNotConfiguredError, InputError

__all__ = ["DEFAULT_HOME_PATTERN", "CalDavAccount", "CalDavSettings"]

DEFAULT_HOME_PATTERN = "{mailbox}/"


@dataclass(frozen=True)
class CalDavAccount:
    """One set of credentials and where they lead.

    ``url`` is either the calendar home itself (``discover=False``) or any URL of the server from
    which the home is discovered (``discover=True``).
    """

    url: str
    username: str
    password: str = field(default="", repr=False)
    discover: bool = False

    def __post_init__(self) -> None:
        if not self.url.startswith(("https://", "http://")):
            raise InputError("url", "must be an http(s) URL", reason_ja="http(s) の URL を入力してください")


@dataclass(frozen=True)
class CalDavSettings:
    """The company's CalDAV connection (see the module docstring)."""

    base_url: str = ""
    username: str = ""
    password: str = field(default="", repr=False)
    home_pattern: str = DEFAULT_HOME_PATTERN
    accounts: Mapping[str, CalDavAccount] = field(default_factory=dict, repr=False)
    default_calendar: str = ""
    timezone: str = "Asia/Tokyo"
    ca_bundle: str | None = None
    timeout_s: float = 30.0
    concurrency: int = 4

    def __post_init__(self) -> None:
        if self.base_url and not self.base_url.startswith(("https://", "http://")):
            raise InputError(
                "base_url", "must be an http(s) URL", reason_ja="http(s) の URL を入力してください"
            )
        if self.home_pattern and "{mailbox}" not in self.home_pattern:
            raise InputError(
                "home_pattern",
                "must contain {mailbox}",
                reason_ja="{mailbox} を含めてください",
            )

    def account_for(self, mailbox: str) -> CalDavAccount:
        """The account that reaches ``mailbox``'s calendars: the employee's own when there is one,
        else the service account with the home path from the pattern (discovery when the pattern
        is empty)."""
        own = self.accounts.get(mailbox)
        if own is not None:
            return own
        if not self.base_url:
            raise CalDavNotConfiguredError(f"no CalDAV server URL for {mailbox}")
        base = self.base_url if self.base_url.endswith("/") else self.base_url + "/"
        if not self.home_pattern:
            return CalDavAccount(base, self.username, self.password, discover=True)
        path = self.home_pattern.replace("{mailbox}", quote(mailbox, safe="@"))
        return CalDavAccount(urljoin(base, path), self.username, self.password)

    def secrets(self) -> tuple[str, ...]:
        """Every secret value, for redaction."""
        return tuple(s for s in (self.password, *(a.password for a in self.accounts.values())) if s)
