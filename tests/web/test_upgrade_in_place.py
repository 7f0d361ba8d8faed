"""Issue 15: an existing database upgrades in place with ``sfacal migrate`` after the configuration
models moved from ``sfacal.web`` to ``sfacal.directory`` -- same app labels, same tables, every row
readable afterwards, secrets still decrypted with the same key.

``tests/fixtures/db_before_directory_app.sql`` is the SQL dump of a database created by main before
the move (commit ab286ef): ``sfacal migrate``, then one row of each moved model (a company with its
settings, masters and an encrypted client secret, an administrator's membership, an employee, a
JUST.SFA connection with an encrypted API key and header secret, a user mapping, an API token, an
audit entry), with ``SFACAL_SECRET_KEY`` as below.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.integration.stack import Stack

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "db_before_directory_app.sql"
KEY = "upgrade-fixture-key-0123456789"


def test_a_database_from_before_the_move_migrates_and_reads_back(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    db = data / "sfacal.sqlite3"
    with sqlite3.connect(db) as con:
        con.executescript(FIXTURE.read_text(encoding="utf-8"))
    db.chmod(0o600)
    stack = Stack(data, env={"SFACAL_SECRET_KEY": KEY})
    stack.sfacal("migrate")
    assert "[ ]" not in stack.sfacal("manage", "showmigrations", "companies", "employees", "connections")
    rows = stack.query(
        """
from sfacal.directory.companies.models import AuditEntry, Company, Membership
from sfacal.directory.connections.models import ApiToken, SourceConnection, UserMapping, hash_token
from sfacal.directory.employees.models import Employee
c = Company.objects.get(slug="upgrade")
s = c.sync_settings
e = Employee.objects.get(company=c)
src = SourceConnection.objects.get(company=c)
m = UserMapping.objects.get(company=c)
t = ApiToken.objects.get(company=c)
a = AuditEntry.objects.get(company=c)
result = {
    "company": c.name,
    "secret": s.client_secret,
    "domain": s.domain,
    "purposes": c.purposes.count(),
    "role": Membership.objects.get(company=c).role,
    "employee": [e.login_id, e.name, e.calendar_name, e.excluded_purposes],
    "api_key": src.api_key,
    "header": [src.webhook_header_name, src.webhook_header_value],
    "mapping": [m.external_user_id, m.mail_address],
    "token": t.token_hash == hash_token("sfa_upgrade_token_value"),
    "audit": [a.field, a.new_value],
}
"""
    )
    assert rows == {
        "company": "アップグレード株式会社",
        "secret": "Upgrade~Secret-Value-123",
        "domain": "upgrade.onmicrosoft.com",
        "purposes": 9,
        "role": "company_admin",
        "employee": ["taro", "山田太郎", "営業", ["集金"]],
        "api_key": "upgrade-api-key-0123456789abcdef",
        "header": ["X-Upgrade", "header-secret-xyz"],
        "mapping": ["taro", "taro@upgrade.onmicrosoft.com"],
        "token": True,
        "audit": ["calendar_name", "営業"],
    }
