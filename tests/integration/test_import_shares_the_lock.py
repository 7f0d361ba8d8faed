"""Issue 14, item 9, measured: while a large CSV file is imported into the served product's SQLite
file -- by ``sfacal import`` or on the employee screen -- JUST.SFA webhooks keep being accepted, each
within a few seconds (the import commits in short transactions and lets waiting writers in between
them; before, a webhook waited for whole batches, or on the screen for the whole import, up to its
busy timeout and a 503). A full push API batch (500 items, each its own transaction) shares the
lock the same way.

The bound is a generous ceiling (:data:`CEILING_SECONDS`; the design's target is about a second),
and the measurements are printed as one JSON line per import."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fuzz.served import Served, good_record, good_schedule, running

pytestmark = pytest.mark.slow

CEILING_SECONDS = 5.0
EMPLOYEES = 6_000  # by the command line
SCREEN_EMPLOYEES = 20_000  # on the screen: on one transaction, a webhook waited for all of them
SCHEDULES = 600
PASSWORD = "Import-lock-2026!"
ADMIN = """
from django.contrib.auth import get_user_model
from sfacal.directory.companies.models import Company, Membership, Role
user = get_user_model().objects.create_user("importer", password={password!r})
Membership.objects.create(user=user, company=Company.objects.get(slug="acme"), role=Role.COMPANY_ADMIN)
"""


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with running(tmp_path_factory.mktemp("import-lock") / "data") as product:
        yield product


def _employees(path: Path, prefix: str = "emp", count: int = EMPLOYEES) -> Path:
    rows = [f"{prefix}{i:06d},社員{i},連携しない" for i in range(count)]
    path.write_text("社員ログインID,氏名,連携\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def _schedules(path: Path) -> Path:
    rows = [f"C{i},業務,件名{i},tanaka,2026/11/24 10:00,2026/11/24 11:00" for i in range(SCHEDULES)]
    path.write_text("ID,種別,件名,参加者,開始,終了\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def _webhooks_while(served: Served, running: Callable[[], bool], what: str) -> dict[str, Any]:
    """Send a webhook every 0.2 s while ``running()``; how long each waited."""
    waits: list[float] = []
    statuses: list[int] = []
    started = time.monotonic()
    while running():
        sent = time.monotonic()
        response = served.webhook(
            {"type": "ADD_RECORD", "recordId": f"{what}-{len(waits)}", "record": good_record()}
        )
        waits.append(time.monotonic() - sent)
        statuses.append(response.status_code)
        time.sleep(0.2)
    report: dict[str, Any] = {
        "import": what,
        "import_seconds": round(time.monotonic() - started, 1),
        "webhooks": len(waits),
        "statuses": sorted(set(statuses)),
        "max_wait_seconds": round(max(waits, default=0), 3),
        "mean_wait_seconds": round(sum(waits) / max(len(waits), 1), 3),
    }
    print(json.dumps(report))
    return report


def _assert_shared(report: dict[str, Any]) -> None:
    assert report["webhooks"] >= 5, report  # the import lasted long enough to overlap several
    assert report["statuses"] == [200], report
    assert report["max_wait_seconds"] < CEILING_SECONDS, report


@pytest.mark.parametrize("what", ["employees", "schedules"])
def test_webhooks_during_a_large_command_line_import_are_accepted_within_seconds(
    served: Served, tmp_path: Path, what: str
) -> None:
    csv = _employees(tmp_path / "e.csv") if what == "employees" else _schedules(tmp_path / "s.csv")
    importer = served.stack.start(
        f"import-{what}", "import", what, str(csv), "--company", "acme", "--lang", "en"
    )
    report = _webhooks_while(served, lambda: importer.poll() is None, f"cli-{what}")
    assert importer.returncode == 0, served.stack.log(f"import-{what}")
    _assert_shared(report)


def test_webhooks_during_a_large_import_on_the_employee_screen_are_accepted_within_seconds(
    served: Served, tmp_path: Path
) -> None:
    served.stack.query(ADMIN.format(password=PASSWORD))
    csv = _employees(tmp_path / "e.csv", prefix="scr", count=SCREEN_EMPLOYEES).read_bytes()
    with httpx.Client(base_url=served.url, timeout=600, trust_env=False) as browser:
        browser.get("/accounts/signin/")
        signed_in = browser.post(
            "/accounts/signin/",
            data={
                "username": "importer",
                "password": PASSWORD,
                "csrfmiddlewaretoken": browser.cookies["csrftoken"],
            },
        )
        assert signed_in.status_code == 302, signed_in.text[:500]
        browser.get("/employees/import/")
        preview = browser.post(
            "/employees/import/",
            data={"csrfmiddlewaretoken": browser.cookies["csrftoken"]},
            files={"file": ("employees.csv", csv, "text/csv")},
        )
        token = re.search(r'name="token" value="([^"]+)"', preview.text)
        assert preview.status_code == 200 and token is not None, preview.text[:2000]
        confirm: dict[str, Any] = {}

        def import_now() -> None:
            confirm["response"] = browser.post(
                "/employees/import/",
                data={
                    "action": "confirm",
                    "token": token[1],
                    "csrfmiddlewaretoken": browser.cookies["csrftoken"],
                },
            )

        worker = threading.Thread(target=import_now)
        worker.start()
        report = _webhooks_while(served, worker.is_alive, "screen-employees")
        worker.join()
    assert confirm["response"].status_code == 302, confirm["response"].text[:500]
    count = served.stack.query(
        "from sfacal.directory.employees.models import Employee\n"
        "result = Employee.objects.filter(login_id__startswith='scr').count()"
    )
    assert count == SCREEN_EMPLOYEES
    _assert_shared(report)


def test_webhooks_during_a_full_push_api_batch_are_accepted_within_seconds(served: Served) -> None:
    items = [
        {"op": "upsert", "source_id": f"B{i}", "schedule": good_schedule(f"件名{i}")} for i in range(500)
    ]
    answer: dict[str, Any] = {}
    worker = threading.Thread(
        target=lambda: answer.update(response=served.api("POST", "/schedules:batch", {"items": items}))
    )
    worker.start()
    report = _webhooks_while(served, worker.is_alive, "push-batch")
    worker.join()
    assert answer["response"].status_code == 200 and answer["response"].json()["succeeded"] == 500
    assert report["statuses"] == [200] and report["max_wait_seconds"] < CEILING_SECONDS, report
