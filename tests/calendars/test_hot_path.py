"""The connector's hot-path shortcuts give exactly what the general code gives."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sfacal.calendars.base import EventTag
from sfacal.calendars.msgraph.payload import parse_event, tag_value, written_ids
from sfacal.core.errors import InputError
from sfacal.core.schedule import SourceRef

_part = st.text(min_size=1, max_size=20).filter(lambda t: t.strip() == t and t.strip())


@given(_part, _part, _part, _part)
def test_s6_tag_value_equals_the_tag_value(company: str, source: str, record: str, login: str) -> None:
    try:
        tag = EventTag(SourceRef(company, source, record), login)
    except InputError:
        return
    assert tag_value(tag) == tag.value


def test_s6_tag_value_of_usual_and_unusual_parts() -> None:
    for parts in (("acme", "push", "1-2", "taro"), ("ａｃｍｅ", "just sfa", "a:b/c", "山田@x")):
        tag = EventTag(SourceRef(*parts[:3]), parts[3])
        assert tag_value(tag) == tag.value
        assert EventTag.parse(tag_value(tag)) == tag


@given(
    st.one_of(st.none(), st.text(max_size=8)),
    st.one_of(st.none(), st.text(max_size=8)),
    st.one_of(st.none(), st.text(max_size=8)),
)
def test_written_ids_equal_what_parse_event_reads(event_id, change_key, etag) -> None:  # type: ignore[no-untyped-def]
    data = {"id": event_id, "changeKey": change_key, "@odata.etag": etag, "subject": "x"}
    snap = parse_event(data)
    assert written_ids(data) == (snap.id, snap.change_key)
    etagged = {"id": "e1", "@odata.etag": f'W/"{etag or "k"}"'}
    assert written_ids(etagged) == (parse_event(etagged).id, parse_event(etagged).change_key)


def test_request_target_is_what_the_url_sends() -> None:
    import httpx

    from sfacal.calendars.msgraph.client import _request_target

    for url in (
        "https://graph.example/v1.0/$batch",
        "https://graph.example/v1.0/users/taro%40acme.example/calendars/AAMk%3D/events",
        "https://graph.example/v1.0/users/x/events?$filter=ep/id eq 'a b'&$top=5",
        "https://graph.example/v1.0/users/山田/events/AAMkA-_=",
    ):
        assert _request_target(url) == httpx.URL(url).raw_path.decode("ascii")
        hits = _request_target.cache_info().hits
        assert _request_target(url) == httpx.URL(url).raw_path.decode("ascii")
        assert _request_target.cache_info().hits == hits + 1  # parsed once per distinct URL
