"""The push connection's test button under the outbound address rule (SSRF, issue 14 item 7): a
callback URL on 127.0.0.1 is refused with its own message and hint, and the page is the same
whether something listens on the port or not (the refusal comes before any connection)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from sfacal.net import ALLOW_ENV
from tests.net.conftest import Listener, closed_port

pytestmark = pytest.mark.django_db

SECRET = "a-long-enough-signing-secret"


def _normalized(page: bytes, port: int) -> bytes:
    """The page without what differs between two requests anyway: the CSRF token, the port typed."""
    page = re.sub(rb'(csrf[^>]*?(?:content|value)=")[^"]+', rb"\1", page)
    return page.replace(b"%d" % port, b"PORT")


def _test_button(client, port: int):
    return client.post(
        reverse("push_connection"),
        {"callback_url": f"http://127.0.0.1:{port}/hook", "callback_secret": SECRET, "action": "test"},
        HTTP_HX_REQUEST="true",
    )


def test_the_test_button_tells_nothing_about_the_port(client_for, admin_user, company, monkeypatch):
    monkeypatch.delenv(ALLOW_ENV, raising=False)
    listener = Listener()
    try:
        pages = []
        for port in (listener.port, closed_port()):
            response = _test_button(client_for(admin_user, "en"), port)
            assert response.status_code == 200
            result = response.context["result"]
            assert result.code == "address_not_allowed" and "SFACAL_ALLOW_PRIVATE_URLS" in result.hint
            pages.append((result.message, result.hint, result.detail, _normalized(response.content, port)))
        assert pages[0] == pages[1]
        assert b"127.0.0.1 leads to a private or local network address" in pages[0][3]
        ja = _test_button(client_for(admin_user, "ja"), listener.port).content.decode()
        assert "社内またはローカルのネットワークのアドレス" in ja and "SFACAL_ALLOW_PRIVATE_URLS" in ja
        assert listener.connections() == 0
    finally:
        listener.sock.close()
