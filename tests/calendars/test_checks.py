"""The administrator's check buttons against the emulator: C7 "save and test" and E5 "check"."""

from __future__ import annotations

from sfacal.calendars.msgraph import BlockingGraphCalendar
from sfacal.calendars.msgraph.blocking import check_connection, check_mailbox
from sfacal.core.errors import (
    AccessDeniedError,
    CalendarNotFoundError,
    CalendarReadOnlyError,
    MailboxNotFoundError,
    MailboxNotRestEnabledError,
)

from .helpers import M365


def test_c7_check_connection_ok_by_secret(m365: M365) -> None:
    result = check_connection(m365.secret_settings())
    assert result.ok and result.code == "ok"
    assert "Microsoft 365" in result.message("ja")
    assert result.hint("en") == ""


def test_c7_check_connection_with_probe_mailbox_lists_its_calendars(m365: M365) -> None:
    upn = m365.new_user(calendars=["営業"])
    result = check_connection(m365.secret_settings(), probe_mailbox=upn)
    assert result.ok
    assert sorted(c["name"] for c in result.details["calendars"]) == ["Calendar", "営業"]


def test_e5_check_mailbox_ok_default_and_named_calendar(m365: M365) -> None:
    upn = m365.new_user(calendars=["営業", "Visits"])
    with BlockingGraphCalendar(m365.secret_settings()) as cal:
        default = cal.check_mailbox(upn, None)
        named = cal.check_mailbox(upn, "営業")
        width_and_case = cal.check_mailbox(upn, " ＶＩＳＩＴＳ ")
    assert default.ok and default.details["calendar"]["is_default"]
    assert named.ok and named.details["calendar"]["name"] == "営業"
    assert width_and_case.ok and width_and_case.details["calendar"]["name"] == "Visits"
    assert "カレンダー" in named.message("ja")


def test_e5_l2_no_mailbox_hint(m365: M365) -> None:
    missing = f"nobody@{m365.tenant.domain}"
    result = check_mailbox(m365.secret_settings(), missing, None)
    assert not result.ok
    assert isinstance(result.error, MailboxNotFoundError)
    assert missing in result.message("en")
    assert "The SMTP address has no mailbox associated with it" in result.message("ja")
    assert "ユーザーID" in result.hint("ja")


def test_e5_l2_user_without_mailbox_hint(m365: M365) -> None:
    upn = m365.new_user(has_mailbox=False)
    result = check_mailbox(m365.secret_settings(), upn)
    assert isinstance(result.error, MailboxNotFoundError)
    assert result.error.upstream_code in ("ErrorNonExistentMailbox", "ErrorInvalidUser")


def test_e5_l2_mailbox_not_rest_enabled_hint(m365: M365) -> None:
    upn = m365.new_user(rest_enabled=False)
    result = check_mailbox(m365.secret_settings(), upn, None)
    assert isinstance(result.error, MailboxNotRestEnabledError)
    assert "Exchange Online" in result.hint("en")


def test_e5_l2_calendar_name_missing_lists_the_calendars(m365: M365) -> None:
    upn = m365.new_user(calendars=["営業"])
    result = check_mailbox(m365.secret_settings(), upn, "商談")
    assert isinstance(result.error, CalendarNotFoundError)
    assert "商談" in result.message("ja") and upn in result.message("ja")
    assert "既定の予定表" in result.hint("ja")
    assert sorted(c["name"] for c in result.details["calendars"]) == ["Calendar", "営業"]


def test_e5_l2_access_denied_hint(m365: M365) -> None:
    upn = m365.new_user()
    result = check_mailbox(m365.secret_settings(permissions=()), upn)
    assert isinstance(result.error, AccessDeniedError)
    assert "Calendars.ReadWrite" in result.hint("en")


def test_e5_empty_user_id_is_an_input_error(m365: M365) -> None:
    result = check_mailbox(m365.secret_settings(), "  ")
    assert not result.ok and result.code == "input_invalid"
    assert result.to_dict("en")["error"]["params"]["field"] == "user_id"


def test_e5_l2_read_only_calendar_hint(m365: M365) -> None:
    upn = m365.new_user()
    m365.control.create_calendar(upn, "共有（閲覧のみ）", can_edit=False)
    result = check_mailbox(m365.secret_settings(), upn, "共有（閲覧のみ）")
    assert isinstance(result.error, CalendarReadOnlyError)
    assert "共有（閲覧のみ）" in result.message("ja")
    assert "editable calendar" in result.hint("en")
