"""Parts of a company's inbox (sfacal.engine.parts): every slot in exactly one part, an entry's slot
from its first participant (a deletion keeps its schedule's), a part's pass takes only its entries."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from sfacal.engine import inbox, passes
from sfacal.engine.models import InboxEntry, InboxState, MailboxLease
from sfacal.engine.parts import SLOTS, part_count, part_key, part_of, slot_of, slot_range
from tests.engine.conftest import deletion, employee, meeting


@pytest.mark.parametrize("parts", [1, 2, 3, 7, 8, 16, 100, 256])
def test_every_slot_lies_in_exactly_one_part(parts: int) -> None:
    ranges = [slot_range(p, parts) for p in range(parts)]
    assert ranges[0][0] == 0 and ranges[-1][1] == SLOTS
    assert all(a[1] == b[0] for a, b in itertools.pairwise(ranges))
    for slot in range(SLOTS):
        low, high = ranges[part_of(slot, parts)]
        assert low <= slot < high


def test_slot_follows_the_first_participant_and_ignores_case() -> None:
    assert slot_of(["Taro", "hanako"]) == slot_of([" taro"]) != slot_of(["hanako", "taro"])
    assert slot_of([], "push", "1") == slot_of([""], "push", "1")
    assert 0 <= slot_of(["x"]) < SLOTS


def test_one_part_is_the_company_lease_on_sqlite(db: Any) -> None:
    assert part_count() == 1
    assert part_key(5, 0, 1) == "company:5"
    assert part_key(5, 3, 8) == "company:5:3/8"


def test_entries_carry_the_slot_of_their_first_participant(company: Any, fake: Any) -> None:
    inbox.accept(company, meeting("1", participants=("taro", "hanako")), trigger="push")
    inbox.accept(company, deletion("1"), trigger="push")  # keeps the slot of what it deletes
    inbox.accept(company, deletion("2"), trigger="push")  # nothing stored: the record's own slot
    slots = list(InboxEntry.objects.order_by("id").values_list("slot", flat=True))
    assert slots == [slot_of(["taro"]), slot_of(["taro"]), slot_of([], "push", "2")]


def test_a_parts_pass_takes_only_the_entries_of_its_part(company: Any, fake: Any) -> None:
    people = [f"p{i}" for i in range(12)]
    for login in people:
        employee(company, login)
        fake.add_mailbox(f"{login}@example.com")
    for i, login in enumerate(people):
        inbox.accept(company, meeting(str(i), participants=(login,)), trigger="push")
    parts = 4
    part = part_of(slot_of(["p0"]), parts)
    mine = {str(i) for i, login in enumerate(people) if part_of(slot_of([login]), parts) == part}
    summary = passes.process_inbox(company.pk, part=part, parts=parts)
    assert summary is not None
    done = set(InboxEntry.objects.filter(state=InboxState.DONE).values_list("record_id", flat=True))
    assert done == mine and 0 < len(mine) < len(people)
    assert not MailboxLease.objects.exists()  # the part's lease and the mailboxes' are let go
