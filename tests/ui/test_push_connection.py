"""Push write-back settings screen (T1): callback URL, write-only signing secret, signed test ping."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.urls import reverse

from sfacal.directory.companies.models import AuditEntry
from sfacal.directory.connections.models import SourceConnection, SourceKind
from sfacal.sources.push.writeback import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature

pytestmark = pytest.mark.django_db

SECRET = "a-long-enough-signing-secret"


class Receiver:
    def __init__(self) -> None:
        self.status = 200
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.url = ""


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            state.requests.append((dict(self.headers.items()), body))
            self.send_response(state.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/sfacal/write-back"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def push(company: object) -> SourceConnection:
    return SourceConnection.objects.get(company=company, kind=SourceKind.PUSH, name="default")


def test_t1_callback_url_and_secret_are_saved_and_the_secret_is_never_shown(admin_client, company):
    response = admin_client.post(
        reverse("push_connection"),
        {"callback_url": "https://sfa.example.com/write-back", "callback_secret": SECRET, "action": "save"},
    )
    assert response.status_code == 302
    connection = push(company)
    assert connection.callback_url == "https://sfa.example.com/write-back"
    assert connection.callback_secret == SECRET
    page = admin_client.get(reverse("push_connection")).content.decode()
    assert "https://sfa.example.com/write-back" in page and SECRET not in page
    assert "設定済み" in page  # the secret's state, not its value
    # An empty secret field keeps the stored secret.
    admin_client.post(
        reverse("push_connection"),
        {"callback_url": "https://sfa.example.com/other", "callback_secret": "", "action": "save"},
    )
    connection.refresh_from_db()
    assert connection.callback_url == "https://sfa.example.com/other" and connection.callback_secret == SECRET
    entries = AuditEntry.objects.for_company(company).filter(object_type="push_connection")
    assert set(entries.values_list("field", "new_value")) == {
        ("callback_url", "https://sfa.example.com/write-back"),
        ("callback_url", "https://sfa.example.com/other"),
        ("callback_secret", "set"),
    }
    assert not any(SECRET in (e.new_value + e.old_value) for e in entries)


def test_t1_generated_secret_is_shown_once(admin_client, company):
    response = admin_client.post(
        reverse("push_connection"),
        {"callback_url": "https://sfa.example.com/write-back", "generate_secret": "on", "action": "save"},
    )
    assert response.status_code == 200
    generated = response.context["generated"]
    assert generated and len(generated) >= 32 and generated in response.content.decode()
    assert push(company).callback_secret == generated
    assert generated not in admin_client.get(reverse("push_connection")).content.decode()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"callback_url": "https://sfa.example.com/x"}, "callback_secret"),  # a URL needs a secret
        ({"callback_url": "ftp://sfa.example.com/x", "callback_secret": SECRET}, "callback_url"),
        ({"callback_url": "https://user:pw@sfa.example.com/x", "callback_secret": SECRET}, "callback_url"),
        ({"callback_url": "https://sfa.example.com/x", "callback_secret": "short"}, "callback_secret"),
    ],
)
def test_t1_bad_callback_settings_are_refused(admin_client, company, data, field):
    response = admin_client.post(reverse("push_connection"), {**data, "action": "save"})
    assert response.status_code == 200 and field in response.context["form"].errors
    assert push(company).callback_url == ""


def test_t1_test_button_sends_a_signed_ping(client_for, admin_user, company, receiver):
    for lang, ok_text in (
        ("ja", "書き戻し先 URL に接続できました。"),
        ("en", "The write-back callback URL answered."),
    ):
        response = client_for(admin_user, lang).post(
            reverse("push_connection"),
            {"callback_url": receiver.url, "callback_secret": SECRET, "action": "test"},
            HTTP_HX_REQUEST="true",
        )
        assert response.status_code == 200
        assert response.context["result"].ok and ok_text in response.content.decode()
    headers, body = receiver.requests[-1]
    assert headers["X-Sfacal-Event"] == "ping"
    assert verify_signature(SECRET, headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER])
    connection = push(company)
    assert connection.last_test_ok is True and connection.last_test_at is not None


def test_l2_test_button_explains_a_refused_signature(client_for, admin_user, company, receiver):
    receiver.status = 401
    for lang, hint in (
        ("ja", "X-Sfacal-Signature の検証に使うシークレット"),
        ("en", "verify X-Sfacal-Signature"),
    ):
        response = client_for(admin_user, lang).post(
            reverse("push_connection"),
            {"callback_url": receiver.url, "callback_secret": SECRET, "action": "test"},
            HTTP_HX_REQUEST="true",
        )
        result = response.context["result"]
        assert not result.ok and result.code == "callback_unauthorized" and hint in result.hint
        assert hint in response.content.decode()
    connection = push(company)
    assert connection.last_test_ok is False and connection.last_test_code == "callback_unauthorized"
    page = client_for(admin_user, "en").get(reverse("push_connection")).content.decode()
    assert "verify X-Sfacal-Signature" in page  # the last test's hint, from its stored code


def test_push_connection_screen_is_for_company_administrators(client_for, employee):
    response = client_for(employee.account).get(reverse("push_connection"))
    assert response.status_code in (302, 403)
