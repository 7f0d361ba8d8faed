"""Who and what the demo is made of: the sample company, its people and their demo passwords.

Everything here is fixed and documented (``docs/demo.md``) so a newcomer can sign in without
reading the console twice. The passwords protect nothing real: the demo only ever talks to the
built-in emulators.
"""

from __future__ import annotations

from dataclasses import dataclass

COMPANY_SLUG = "demo"
COMPANY_NAME = "デモ商事株式会社"
M365_DOMAIN = "demo-shoji.onmicrosoft.com"
# Fixed identifiers, so a restart re-creates the same tenant and app in the (in-memory) emulator.
M365_TENANT_ID = "6f0c2d1e-5a4b-4c3d-9e8f-0123456789ab"
M365_CLIENT_ID = "3b1f9a52-7c64-4e0d-8a1b-5d2e6f708192"
JUSTSFA_TENANT = "demo-shoji"
WEBHOOK_HEADER = "X-Sfacal-Demo-Secret"
NAMED_CALENDAR = "営業"

ADMIN_USERNAME = "demo-admin"
ADMIN_PASSWORD = "demo-admin-pass"
EMPLOYEE_PASSWORD = "demo-pass"


@dataclass(frozen=True)
class Person:
    """A salesperson: JUST.SFA user ID (= login ID), name, mailbox and target calendar."""

    login_id: str
    name: str
    calendar: str = ""  # empty: the mailbox's default calendar

    @property
    def mailbox(self) -> str:
        return f"{self.login_id}@{M365_DOMAIN}"


PEOPLE: tuple[Person, ...] = (
    Person("yamada", "山田 太郎"),
    Person("suzuki", "鈴木 花子", NAMED_CALENDAR),
    Person("tanaka", "田中 一郎"),
    Person("sato", "佐藤 美咲"),
)
