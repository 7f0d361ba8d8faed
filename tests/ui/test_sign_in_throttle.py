"""U1 sign-in throttling (django-axes): no name enumeration, per-address and per-name pauses that
attempts cannot extend, and the operator's unlock."""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Callable

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.ui.conftest import PASSWORD

pytestmark = pytest.mark.django_db

LIMIT = 10  # settings.AXES_FAILURE_LIMIT
WRONG = "ユーザー名またはパスワードが正しくありません。"
PAUSED = "一時停止"


def post(name: str, password: str, address: str = "10.0.0.1") -> tuple[int, str]:
    response = Client(REMOTE_ADDR=address).post(reverse("login"), {"username": name, "password": password})
    return response.status_code, response.content.decode()


def errors(body: str) -> list[str]:
    """The texts of the sign-in page's error box."""
    box = re.search(r'<div class="notice bad" role="alert">(.*?)</div>', body, re.S)
    return re.findall(r"<p>(.*?)</p>", box.group(1)) if box else []


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[dt.timedelta], None]:
    """Moves the throttle's clock (the attempt time django-axes stamps on each request)."""
    start = timezone.now()

    def move(offset: dt.timedelta) -> None:
        monkeypatch.setattr("axes.handlers.proxy.now", lambda: start + offset)

    move(dt.timedelta(0))
    return move


def test_u1_unknown_name_and_wrong_password_get_the_same_answer(admin_user):
    unknown = post("nobody", "x")
    wrong = post("admin", "x", address="10.0.0.2")
    assert unknown[0] == wrong[0] == 401
    assert errors(unknown[1]) == errors(wrong[1]) == [WRONG]
    # no count of tries left, neither after several failures
    for _ in range(3):
        status, body = post("admin", "x", address="10.0.0.2")
    assert status == 401 and errors(body) == [WRONG]


def test_u1_one_address_is_paused_across_many_names(admin_user):
    answers = [post(f"guess{i}", "x") for i in range(LIMIT)]
    assert [status for status, _ in answers[:-1]] == [401] * (LIMIT - 1)
    assert answers[-1][0] == 429 and PAUSED in answers[-1][1]
    # the right password of a real account is refused from that address now...
    status, body = post("admin", PASSWORD)
    assert status == 429 and PAUSED in body
    # ...and accepted from another one
    assert post("admin", PASSWORD, address="10.0.0.99")[0] == 302


def test_u1_one_name_is_paused_whatever_the_address_and_known_or_not(admin_user):
    for i in range(LIMIT):
        post("admin", "x", address=f"10.1.0.{i}")
        post("ghost", "x", address=f"10.2.0.{i}")
    known = post("admin", PASSWORD, address="10.3.0.1")
    unknown = post("ghost", "x", address="10.3.0.2")
    assert known[0] == unknown[0] == 429
    assert errors(known[1]) == errors(unknown[1])
    assert PAUSED in errors(known[1])[0]


def test_u1_a_pause_ends_after_the_cool_off_and_attempts_do_not_extend_it(admin_user, clock):
    for _ in range(LIMIT):
        post("admin", "x")
    clock(dt.timedelta(minutes=14))
    for _ in range(5):
        assert post("admin", "x")[0] == 429
    assert post("admin", PASSWORD, address="10.9.9.9")[0] == 429
    clock(dt.timedelta(minutes=15, seconds=1))
    assert post("admin", PASSWORD, address="10.9.9.9")[0] == 302


def test_u1_signing_in_to_ones_own_account_does_not_wipe_guesses_at_another(admin_user, employee):
    for _ in range(LIMIT - 1):
        post("admin", "x")
    assert post("taro", PASSWORD)[0] == 302
    assert post("admin", "x")[0] == 429


def test_u1_a_success_forgets_that_names_failures_from_that_address(admin_user):
    for _ in range(LIMIT - 1):
        post("admin", "x")
    assert post("admin", PASSWORD)[0] == 302
    assert post("admin", "x")[0] == 401


def test_u1_unlock_lifts_a_name_or_an_address_and_lists_what_is_paused(admin_user):
    for i in range(LIMIT):
        post("admin", "x", address=f"10.4.0.{i}")
        post(f"guess{i}", "x", address="10.5.0.1")
    out = io.StringIO()
    call_command("unlock", stdout=out)
    listed = out.getvalue()
    assert "admin" in listed and "10.5.0.1" in listed
    assert post("admin", PASSWORD, address="10.6.0.1")[0] == 429
    call_command("unlock", "admin", stdout=io.StringIO())
    assert post("admin", PASSWORD, address="10.6.0.1")[0] == 302
    assert post("guess0", "x", address="10.5.0.1")[0] == 429
    call_command("unlock", "--address", "10.5.0.1", stdout=io.StringIO())
    assert post("guess0", "x", address="10.5.0.1")[0] == 401
    out = io.StringIO()
    call_command("unlock", "--list", stdout=out)
    assert "10.5.0.1" not in out.getvalue()
