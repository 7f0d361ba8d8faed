"""HTTPS deployment (issue 14, items 5 and 6), on the served product (``sfacal web``).

With ``SFACAL_PUBLIC_URL=https://…`` the cookies are ``Secure``, forms posted from the public origin
pass the CSRF check, and HSTS is sent on requests that arrived over HTTPS. Only with
``SFACAL_BEHIND_PROXY`` on does the server believe ``X-Forwarded-Proto`` and ``X-Forwarded-For``:
sign-in throttling then counts per forwarded client; with it off, per connection, whatever the
headers say.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.stack import Stack

PUBLIC = "https://sync.example.jp"
LIMIT = 10  # AXES_FAILURE_LIMIT


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir(mode=0o700)
    Stack(path).sfacal("migrate")
    return path


def served(data_dir: Path, **env: str) -> Stack:
    stack = Stack(data_dir, {"SFACAL_PUBLIC_URL": PUBLIC, **env})
    stack.start_web()
    return stack


@pytest.fixture
def behind_proxy(data_dir: Path) -> Iterator[Stack]:
    stack = served(data_dir, SFACAL_BEHIND_PROXY="1")
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture
def direct(data_dir: Path) -> Iterator[Stack]:
    stack = served(data_dir)
    try:
        yield stack
    finally:
        stack.stop()


class Browser:
    """Posts the sign-in form as a browser on the public origin would, through a proxy that says
    ``X-Forwarded-Proto: https`` and ``X-Forwarded-For: <client>``."""

    def __init__(self, stack: Stack) -> None:
        self.http = httpx.Client(base_url=stack.web_url, trust_env=False, timeout=30)

    def page(self, client: str = "203.0.113.1") -> httpx.Response:
        return self.http.get("/accounts/signin/", headers=self._headers(client))

    def sign_in(self, name: str, client: str) -> int:
        page = self.page(client)
        token = re.search(r"csrftoken=([^;]+)", page.headers["set-cookie"]).group(1)
        answer = self.http.post(
            "/accounts/signin/",
            data={"csrfmiddlewaretoken": token, "username": name, "password": "wrong"},
            headers={**self._headers(client), "Cookie": f"csrftoken={token}", "Origin": PUBLIC},
        )
        return answer.status_code

    @staticmethod
    def _headers(client: str) -> dict[str, str]:
        return {"X-Forwarded-Proto": "https", "X-Forwarded-For": client}


def test_behind_the_proxy_https_settings_hold_and_clients_are_the_forwarded_ones(behind_proxy: Stack) -> None:
    browser = Browser(behind_proxy)
    page = browser.page()
    assert page.headers["strict-transport-security"] == "max-age=31536000"
    assert "secure" in page.headers["set-cookie"].lower()
    # a form from the public origin passes the CSRF check (401: a wrong password, not 403)
    answers = [browser.sign_in(f"guess{i}", "203.0.113.7") for i in range(LIMIT)]
    assert answers == [401] * (LIMIT - 1) + [429]
    assert browser.sign_in("guess0", "203.0.113.8") == 401  # another client behind the same proxy


def test_without_the_switch_forwarded_headers_are_not_believed(direct: Stack) -> None:
    browser = Browser(direct)
    page = browser.page()
    assert "strict-transport-security" not in page.headers  # the request came over plain HTTP
    assert "secure" in page.headers["set-cookie"].lower()  # cookies are meant for the https URL
    # every attempt counts against the connection's address, whatever X-Forwarded-For claims
    answers = [browser.sign_in(f"other{i}", f"198.51.100.{i}") for i in range(LIMIT)]
    assert answers == [401] * (LIMIT - 1) + [429]
