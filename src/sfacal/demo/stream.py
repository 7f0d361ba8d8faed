"""A salesperson at work: schedules created, changed and deleted in the JUST.SFA emulator.

Every few seconds :class:`Salesperson` performs one action through the emulator's control API, as a
salesperson would in JUST.SFA's screens, so the emulator fires its webhooks to the product:

* a scripted opening that shows every rule worth seeing in the first minute -- a customer visit, a
  visit with two participants, a meeting of everyone, an all-day task, a schedule moved, a participant
  added, a visit reported as done (状態 実績: the event stays, S1) and a deletion (S4);
* then an endless, varied stream (mostly new schedules, some updates, a few reports and deletions).
"""

from __future__ import annotations

import datetime as dt
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sfacal.emulators.justsfa import ScheduleSetup

from .people import JUSTSFA_TENANT, PEOPLE

__all__ = ["CUSTOMERS", "Action", "RecordApi", "Salesperson", "StreamThread"]

TOKYO = ZoneInfo("Asia/Tokyo")
CUSTOMERS: tuple[tuple[str, str], ...] = (
    ("赤木電機", "東京都千代田区丸の内1-1-1"),
    ("青葉商事", "神奈川県横浜市西区みなとみらい2-2-1"),
    ("桜井工業", "大阪府大阪市北区梅田3-1-3"),
    ("緑川食品", "愛知県名古屋市中区栄4-1-1"),
    ("白石建設", "福岡県福岡市博多区博多駅前2-1-1"),
    ("黒田製作所", "埼玉県さいたま市大宮区桜木町1-7-5"),
)
PURPOSES = ("定期訪問", "新規開拓", "案件商談", "情報提供", "商品PR", "納品", "集金")
TASKS = ("会議", "資料作成", "伝票発行")
MEMOS = (
    "新製品のご紹介と見積の提示",
    "前回の打ち合わせのフォローアップ",
    "担当者様と年間計画のすり合わせ",
    "納期と数量の最終確認",
    "ご担当の部長様にご挨拶",
)


class RecordApi(Protocol):
    """The part of the JUST.SFA emulator's control client the salesperson uses."""

    def create_record(self, tenant: str, table_id: str, record: dict[str, Any]) -> dict[str, Any]: ...

    def update_record(
        self, tenant: str, table_id: str, record_id: int, record: dict[str, Any]
    ) -> dict[str, Any]: ...

    def delete_record(self, tenant: str, table_id: str, record_id: int) -> None: ...


@dataclass
class Action:
    """What the salesperson did (for the console)."""

    verb: str
    record_id: int
    summary: str


@dataclass
class _Live:
    record_id: int
    summary: str
    participants: list[str]
    status: str = "予定"


@dataclass
class Salesperson:
    api: RecordApi
    setup: ScheduleSetup
    seed: int = 7
    now: Callable[[], dt.datetime] = field(default=lambda: dt.datetime.now(TOKYO))
    live: list[_Live] = field(default_factory=list)
    steps: int = 0

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.logins = [p.login_id for p in PEOPLE]

    # -- record values ---------------------------------------------------------------------------
    def _slot(self, days: int, hour: int, minutes: int = 60, minute: int = 0) -> tuple[str, str]:
        day = (self.now() + dt.timedelta(days=days)).date()
        start = dt.datetime.combine(day, dt.time(hour, minute), TOKYO)
        end = start + dt.timedelta(minutes=minutes)
        return start.strftime("%Y-%m-%dT%H:%M+09:00"), end.strftime("%Y-%m-%dT%H:%M+09:00")

    def _day(self, days: int) -> tuple[str, str]:
        day = (self.now() + dt.timedelta(days=days)).date().isoformat()
        return day, day  # an all-day period: both dates included

    def visit(
        self, customer: int, purpose: str, people: list[str], period: tuple[str, str], memo: str
    ) -> tuple[dict[str, Any], str]:
        s = self.setup
        name, address = CUSTOMERS[customer % len(CUSTOMERS)]
        record = {
            s.schedule_field: s.schedule_value(period[0], period[1], people),
            s.title_field: f"{name}/{purpose}",
            s.location_field: address,
            s.content_field: memo,
            s.status_field: "予定",
            s.kind_field: "商談",
            s.purpose_field: purpose,
            s.customer_field: name,
            s.address_field: address,
        }
        return record, f"{name}/{purpose}"

    def task(
        self, business: str, people: list[str], period: tuple[str, str], memo: str
    ) -> tuple[dict[str, Any], str]:
        s = self.setup
        record = {
            s.schedule_field: s.schedule_value(period[0], period[1], people),
            s.title_field: business,
            s.location_field: "本社 3F 会議室" if business == "会議" else "",
            s.content_field: memo,
            s.status_field: "予定",
            s.kind_field: "業務",
            s.business_field: business,
        }
        return record, business

    # -- actions ---------------------------------------------------------------------------------
    def _create(self, made: tuple[dict[str, Any], str], people: list[str]) -> Action:
        record, summary = made
        answer = self.api.create_record(JUSTSFA_TENANT, self.setup.table_id, record)
        record_id = int(answer.get("recordId") or answer.get("id") or answer["record"]["recordId"])
        self.live.append(_Live(record_id, summary, list(people)))
        return Action("created", record_id, f"{summary} ({', '.join(people)})")

    def _update(self, live: _Live, changes: dict[str, Any], what: str) -> Action:
        self.api.update_record(JUSTSFA_TENANT, self.setup.table_id, live.record_id, changes)
        return Action("updated", live.record_id, f"{live.summary}: {what}")

    def _report_done(self, live: _Live) -> Action:
        self.api.update_record(
            JUSTSFA_TENANT, self.setup.table_id, live.record_id, {self.setup.status_field: "実績"}
        )
        live.status = "実績"
        return Action("reported", live.record_id, f"{live.summary}: 状態 予定 → 実績 (the event stays)")

    def _delete(self, live: _Live) -> Action:
        self.api.delete_record(JUSTSFA_TENANT, self.setup.table_id, live.record_id)
        self.live.remove(live)
        return Action("deleted", live.record_id, f"{live.summary} (its events are removed)")

    def _find(self, index: int) -> _Live | None:
        return self.live[index] if 0 <= index < len(self.live) else None

    def _opening(self, step: int) -> Action | None:
        s = self.setup
        y, su, ta, sa = self.logins
        if step == 0:
            return self._create(self.visit(0, "定期訪問", [y], self._slot(1, 10), MEMOS[0]), [y])
        if step == 1:
            return self._create(self.visit(1, "新規開拓", [su, y], self._slot(1, 14, 90), MEMOS[1]), [su, y])
        if step == 2:
            people = list(self.logins)
            return self._create(self.task("会議", people, self._slot(2, 9), "週次営業会議"), people)
        if step == 3:
            return self._create(self.task("資料作成", [ta], self._day(3), "提案書の作成"), [ta])
        if step == 4 and (live := self._find(0)):
            start, end = self._slot(1, 13)
            changes = {
                s.schedule_field: s.schedule_value(start, end, live.participants),
                s.content_field: MEMOS[0] + "（時間変更）",
            }
            return self._update(live, changes, "moved to 13:00")
        if step == 5:
            return self._create(self.visit(2, "案件商談", [sa, ta], self._slot(2, 15), MEMOS[2]), [sa, ta])
        if step == 6 and (live := self._find(1)):
            live.participants.append(ta)
            start, end = self._slot(1, 14, 90)
            changes = {s.schedule_field: s.schedule_value(start, end, live.participants)}
            return self._update(live, changes, f"participant {ta} added")
        if step == 7 and (live := self._find(4)):
            return self._report_done(live)
        if step == 8 and (live := self._find(2)):
            return self._delete(live)
        return None

    def _random(self) -> Action:
        rng, s = self.rng, self.setup
        roll = rng.random()
        planned = [x for x in self.live if x.status == "予定"]
        if roll < 0.08 and self.live:
            return self._delete(rng.choice(self.live[: max(1, len(self.live) // 2)]))
        if roll < 0.14 and planned:
            return self._report_done(rng.choice(planned))
        if roll < 0.36 and planned:
            live = rng.choice(planned)
            start, end = self._slot(rng.randint(1, 10), rng.randint(9, 17), rng.choice((30, 60, 90)))
            changes = {s.schedule_field: s.schedule_value(start, end, live.participants)}
            return self._update(live, changes, f"moved to {start[5:16].replace('T', ' ')}")
        people = rng.sample(self.logins, k=1 if rng.random() < 0.7 else rng.randint(2, 3))
        if rng.random() < 0.75:
            purpose = rng.choice(PURPOSES)
            slot = self._slot(rng.randint(1, 14), rng.randint(9, 17), rng.choice((30, 60, 90)))
            made = self.visit(rng.randrange(len(CUSTOMERS)), purpose, people, slot, rng.choice(MEMOS))
        else:
            business = rng.choice(TASKS)
            all_day = business == "資料作成" and rng.random() < 0.5
            slot = self._day(rng.randint(1, 14)) if all_day else self._slot(rng.randint(1, 14), 17, 60)
            made = self.task(business, people, slot, "")
        return self._create(made, people)

    def step(self) -> Action:
        """Perform the next action."""
        action = self._opening(self.steps) if self.steps < 9 else None
        self.steps += 1
        return action if action is not None else self._random()


class StreamThread(threading.Thread):
    """Runs a :class:`Salesperson` every ``interval`` seconds once ``ready()`` says the product
    listens; reports each action with ``report``. Errors are reported, never raised."""

    def __init__(
        self,
        person: Salesperson,
        interval: float,
        ready: Callable[[], bool],
        report: Callable[[str], None],
    ) -> None:
        super().__init__(name="sfacal-demo-salesperson", daemon=True)
        self.person, self.interval, self.ready, self.report = person, interval, ready, report
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set() and not self.ready():
            self.stopping.wait(0.2)
        while not self.stopping.is_set():
            try:
                action = self.person.step()
                stamp = time.strftime("%H:%M:%S")
                self.report(
                    f"[demo {stamp}] JUST.SFA record #{action.record_id} {action.verb}: {action.summary}"
                )
            except Exception as exc:  # keep the demo going; tell the newcomer what happened
                self.report(f"[demo] the salesperson could not act: {type(exc).__name__}: {exc}")
            self.stopping.wait(self.interval)

    def stop(self) -> None:
        self.stopping.set()
        self.join(5)
