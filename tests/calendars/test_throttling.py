"""Throttling: many operations into one mailbox through a slow, flaky service (S6, S11, L2)."""

from __future__ import annotations

import asyncio
import threading

from sfacal.calendars.base import UpdateEvent, WriteOutcome
from sfacal.calendars.msgraph import MicrosoftGraphCalendar
from sfacal.calendars.msgraph.throttle import retry_counts
from sfacal.core.render import RenderedEvent

from .helpers import M365, create_writes


def test_s11_200_operations_under_429_503_all_succeed_once_within_4_in_flight(m365: M365) -> None:
    user = m365.control.create_user(m365.tenant.id, f"busy@{m365.tenant.domain}")
    settings = m365.secret_settings(max_attempts=10)
    m365.control.set_knobs(
        latency_ms=20,
        failure_rate_429=0.05,
        failure_rate_503=0.05,
        failure_rate_504_after_write=0.03,  # the write happened, the client saw 504: retried, not duplicated
        failure_retry_after_s=1,
    )
    try:
        writes = create_writes(200, "bulk")

        async def main() -> list[object]:
            async with MicrosoftGraphCalendar.from_settings(settings) as cal:
                outcomes = await cal.apply(user.upn, writes)
                # 100 updates of the same events, from two event loops at once, share the 4 slots
                updates = [
                    UpdateEvent(
                        o.event_id or "", RenderedEvent("更新", "", "", w.event.start, w.event.end), w.tag
                    )
                    for o, w in zip(outcomes[:100], writes[:100], strict=True)
                ]
                elsewhere: list[object] = []
                other = threading.Thread(
                    target=lambda: elsewhere.extend(
                        asyncio.run(_apply_elsewhere(settings, user.upn, updates[50:]))
                    )
                )
                other.start()
                mine = await cal.apply(user.upn, updates[:50])
                await asyncio.to_thread(other.join, 60)
                assert len(elsewhere) == 50
                return [*outcomes, *mine, *elsewhere]

        outcomes = asyncio.run(main())
    finally:
        counters = m365.control.counters()
        m365.control.set_knobs(
            latency_ms=0,
            failure_rate_429=0,
            failure_rate_503=0,
            failure_rate_504_after_write=0,
            failure_retry_after_s=2,
        )
    failed = [o for o in outcomes if not o.ok]  # type: ignore[attr-defined]
    assert failed == []
    events = m365.events(user.upn)
    tags = [e["singleValueExtendedProperties"][0]["value"] for e in events]
    assert len(events) == 200 and len(set(tags)) == 200
    assert sum(1 for e in events if e["properties"]["subject"] == "更新") == 100
    assert counters["by_status"].get("429", 0) + counters["by_status"].get("503", 0) > 0  # failures happened
    peaks = counters["peak_concurrency"]
    peak = peaks.get(user.id, peaks.get(user.upn))
    assert peak is not None and 1 < peak <= 4


async def _apply_elsewhere(settings: object, mailbox: str, writes: list[UpdateEvent]) -> list[object]:
    async with MicrosoftGraphCalendar.from_settings(settings) as cal:  # type: ignore[arg-type]
        return list(await cal.apply(mailbox, writes))


def test_s11_connection_resets_are_retried_without_duplicates(m365: M365) -> None:
    user = m365.control.create_user(m365.tenant.id, f"flaky@{m365.tenant.domain}")
    settings = m365.secret_settings(max_attempts=12)
    m365.control.set_knobs(failure_rate_reset=0.3)
    try:

        async def main() -> list[str]:
            async with MicrosoftGraphCalendar.from_settings(settings) as cal:
                ids = []
                for write in create_writes(15, "reset"):
                    snap = await cal.create_event(user.upn, write.event, write.tag, write.transaction_id)
                    ids.append(snap.id)
                return ids

        ids = asyncio.run(main())
    finally:
        resets = m365.control.counters()["resets"]
        m365.control.set_knobs(failure_rate_reset=0)
    assert resets > 0
    assert len(set(ids)) == 15 and len(m365.events(user.upn)) == 15


def test_s11_items_throttled_inside_a_batch_are_sent_again_alone_and_in_order(m365: M365) -> None:
    """Graph answers some items of a 20-item batch for one mailbox 429, each with its own
    Retry-After (the emulator's ``batch_throttle``, built to microsoft-graph-docs#2886 and the
    "Throttling and batching" section of learn.microsoft.com/graph/throttling). The connector
    sends exactly those items again, none that succeeded, and writes to one event keep their
    order: two updates of each event in one call end with the second."""
    user = m365.control.create_user(m365.tenant.id, f"batchy@{m365.tenant.domain}")
    settings = m365.secret_settings(max_attempts=10)
    m365.control.set_knobs(batch_throttle=True, batch_throttle_seed=3)
    before = retry_counts()
    try:
        writes = create_writes(100, "inbatch")

        async def main() -> tuple[list[WriteOutcome], list[WriteOutcome]]:
            async with MicrosoftGraphCalendar.from_settings(settings) as cal:
                created = await cal.apply(user.upn, writes)
                updates = []
                for version in ("v2", "v3"):  # the v3 of an event must not overtake its v2
                    updates += [
                        UpdateEvent(
                            o.event_id or "",
                            RenderedEvent(f"{version} {i}", "", "", w.event.start, w.event.end),
                            w.tag,
                        )
                        for i, (o, w) in enumerate(zip(created, writes, strict=True))
                    ]
                return created, await cal.apply(user.upn, updates)

        created, updated = asyncio.run(main())
    finally:
        journal = [e for e in m365.control.journal() if e.get("mailbox") == user.id and e.get("batch_id")]
        m365.control.set_knobs(batch_throttle=False, batch_throttle_seed=None)
    assert [o.error for o in [*created, *updated] if not o.ok] == []
    events = m365.events(user.upn)
    assert len(events) == 100
    assert sorted(e["properties"]["subject"] for e in events) == sorted(f"v3 {i}" for i in range(100))
    creates = [e for e in journal if e["method"] == "POST"]
    throttled = sum(1 for e in journal if e["status"] == 429)
    assert throttled >= 20  # 4-6 of each batch of 20: the retries were needed
    # Every create succeeded exactly once: no item that had succeeded was sent again.
    assert sum(1 for e in creates if e["status"] == 201) == 100
    assert len(journal) == 300 + throttled
    retried = retry_counts()
    assert retried.batch_items - before.batch_items == throttled
