"""S5: what every door does with a text field (``incoming_text``), and a subject too long for the
calendar: cut, its whole text kept at the top of the body, the cut told to the log -- and not written
back into the SFA's content by a two-way edit."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sfacal.core.errors import InputError
from sfacal.core.render import MAX_BODY, MAX_SUBJECT, FieldMapping, event_subject, render, subject_overflow
from sfacal.core.schedule import ScheduleDeletion
from sfacal.core.text import MAX_TEXT, clean_text, incoming_text
from sfacal.core.twoway import ScheduleEdit, apply_edit
from tests.unit.helpers import T0, meeting, ref, task


def test_s5_incoming_text_cleans_up_to_20000_characters_and_names_the_field_above():
    assert incoming_text("a\x00b\r\nc  ", "title") == "ab\nc"
    assert incoming_text("x" * MAX_TEXT, "title") == "x" * MAX_TEXT
    with pytest.raises(InputError) as exc:
        incoming_text("x" * (MAX_TEXT + 1), "field_9")
    assert exc.value.field == "field_9"
    assert exc.value.user_message("en") == "Invalid input (field_9): longer than 20,000 characters (20,001)"
    assert "20,000文字以内" in exc.value.user_message("ja")


@given(st.text(max_size=200))
def test_s5_incoming_text_is_clean_text_and_idempotent(value: str) -> None:
    once = incoming_text(value, "title")
    assert once == clean_text(value) == incoming_text(once, "title")


def test_s5_a_cut_subject_opens_the_body_whole_and_is_marked():
    title = "長" * 1000
    event = render(task(business_name=None, title=title, content="本文"))
    assert event.subject_cut and len(event.subject) == MAX_SUBJECT and event.subject.endswith("…")
    assert event.body == title + "\n\n本文"
    assert subject_overflow(task(business_name=None, title=title)) == title
    assert event_subject(task(business_name=None, title=title)) == event.subject
    no_content = render(task(business_name=None, title=title, content=""))
    assert no_content.body == title


def test_s5_a_subject_that_fits_leaves_the_body_alone():
    event = render(meeting(content="本文"))
    assert not event.subject_cut and event.body == "本文"
    assert subject_overflow(meeting()) == ""


def test_s5_the_body_holds_a_whole_subject_and_a_whole_content_of_20000_characters():
    schedule = meeting(customer="顧" * MAX_TEXT, purpose="目" * MAX_TEXT, content="本" * MAX_TEXT)
    event = render(schedule)
    assert len(event.body) <= MAX_BODY and not event.body.endswith("…")
    assert event.body == "顧" * MAX_TEXT + "/" + "目" * MAX_TEXT + "\n\n" + "本" * MAX_TEXT


def test_s5_the_justsfa_heading_is_kept_whole_too():
    mapping = FieldMapping()
    schedule = task(extra={"見出し": "見" * 300, "内容": "内容"})
    event = render(schedule, mapping=mapping)
    assert event.subject_cut and event.body == "見" * 300 + "\n\n内容"


def test_t1_a_body_edit_does_not_write_the_cut_subject_back_into_the_content():
    title = "件" * 400
    schedule = task(business_name=None, title=title, content="元の本文")
    mapping = None
    edited = apply_edit(schedule, ScheduleEdit(body=title + "\n\n追記した本文"), mapping)
    assert edited.content == "追記した本文"
    assert apply_edit(schedule, ScheduleEdit(body=title), mapping).content == ""
    assert apply_edit(schedule, ScheduleEdit(body="全部書き換え"), mapping).content == "全部書き換え"
    short = task(content="元")
    assert apply_edit(short, ScheduleEdit(body="新しい本文"), mapping).content == "新しい本文"


def test_s4_a_deletion_keeps_its_subject_through_its_stored_form():
    gone = ScheduleDeletion(ref("9"), T0, subject="赤木電機/定期訪問")
    assert ScheduleDeletion.from_dict(gone.to_dict()) == gone
    assert "subject" not in ScheduleDeletion(ref("9"), T0).to_dict()  # the usual form is unchanged
