"""T1 for push sources: write-backs delivered, signed and retried, against a local receiver."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from sfacal.core.schedule import AllDaySpan, Schedule, SourceRef, TimedSpan
from sfacal.core.twoway import ScheduleEdit, apply_edit
from sfacal.directory.connections.models import SourceConnection, SourceKind
from sfacal.emulators.tls import TlsFiles, ensure_tls_files
from sfacal.engine.models import LogResult, SyncLogEntry
from sfacal.sources.push.writeback import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WriteBackPayload,
    backoff_delay,
    deliver_write_back,
    payload_from_edit,
    sign,
    verify_signature,
)

pytestmark = pytest.mark.django_db

SECRET = "callback-signing-secret"


@dataclass
class Receiver:
    url: str
    statuses: list[int] = field(default_factory=list)  # answered in turn; then 200
    retry_after: str | None = None
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)


@contextlib.contextmanager
def serving(tls: TlsFiles | None = None) -> Iterator[Receiver]:
    """A local write-back receiver over HTTP, or over HTTPS with a certificate from ``tls``'s CA."""
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            state.requests.append(({k: v for k, v in self.headers.items()}, body))
            status = state.statuses.pop(0) if state.statuses else 200
            self.send_response(status)
            if state.retry_after is not None and status in (429, 503):
                self.send_header("Retry-After", state.retry_after)
            payload = b'{"ok": true}' if status < 300 else b"receiver says no"
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if tls is not None:
        server.socket = tls.server_context().wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    scheme = "https" if tls is not None else "http"
    state.url = f"{scheme}://127.0.0.1:{server.server_address[1]}/sfa/writeback"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with serving() as state:
        yield state


@pytest.fixture
def connection(db, receiver):
    from sfacal.directory.companies.provisioning import ensure_company

    company = ensure_company("acme", "ACME")
    return SourceConnection.objects.create(
        company=company, kind=SourceKind.PUSH, callback_url=receiver.url, callback_secret=SECRET
    )


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5, trust_env=False) as http:
        yield http


def schedule() -> Schedule:
    return Schedule(
        ref=SourceRef("acme", "push", "S-1"),
        kind="商談",
        status="予定",
        span=TimedSpan(datetime(2026, 11, 24, 1, tzinfo=UTC), datetime(2026, 11, 24, 2, tzinfo=UTC)),
        updated_at=datetime(2026, 11, 20, tzinfo=UTC),
        title="定例",
        customer_name="赤木電機",
        purpose="定期訪問",
        participants=("tanaka",),
    )


def a_payload() -> WriteBackPayload:
    edit = ScheduleEdit(subject="赤木電機/打ち合わせ", location="大阪市")
    return payload_from_edit(
        apply_edit(schedule(), edit), edit, event_id="AAMk-1", mailbox="tanaka@example.com", login_id="tanaka"
    )


def test_t1_write_back_is_delivered_signed(connection, receiver, client):
    payload = a_payload()
    result = deliver_write_back(connection, payload, client=client, sleep=lambda s: None)
    assert result.delivered and result.status_code == 200 and len(result.attempts) == 1
    headers, body = receiver.requests[0]
    assert verify_signature(SECRET, headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER])
    assert not verify_signature("other-secret", headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER])
    assert headers[DELIVERY_HEADER] == payload.delivery_id
    data = json.loads(body)
    assert data["source_id"] == "S-1"
    assert data["changed_fields"] == ["subject", "location"]
    assert data["calendar"] == {"subject": "赤木電機/打ち合わせ", "location": "大阪市"}
    assert data["schedule"]["title"] == "赤木電機/打ち合わせ"
    assert data["schedule"]["customer_address"] == "大阪市"
    assert data["event"] == {"id": "AAMk-1", "mailbox": "tanaka@example.com", "login_id": "tanaka"}
    log = SyncLogEntry.objects.get()
    assert log.trigger == "writeback" and log.result == LogResult.SUCCESS and log.record_id == "S-1"
    assert SECRET not in log.message


def test_t1_write_back_retries_with_backoff_and_logs_each_attempt(connection, receiver, client):
    receiver.statuses = [503, 502, 200]
    waits: list[float] = []
    result = deliver_write_back(connection, a_payload(), client=client, sleep=waits.append, base_delay=1.0)
    assert result.delivered and len(result.attempts) == 3
    assert waits == [1.0, 2.0]
    ids = {h[DELIVERY_HEADER] for h, _ in receiver.requests}
    assert len(ids) == 1  # the receiver's idempotency key stays the same across retries
    logs = list(SyncLogEntry.objects.order_by("id").values_list("result", "error_code"))
    assert logs == [
        (LogResult.WARNING, "callback_unavailable"),
        (LogResult.WARNING, "callback_unavailable"),
        (LogResult.SUCCESS, ""),
    ]


def test_retry_after_is_honoured(connection, receiver, client):
    receiver.statuses = [429]
    receiver.retry_after = "7"
    waits: list[float] = []
    assert deliver_write_back(connection, a_payload(), client=client, sleep=waits.append).delivered
    assert waits == [7.0]


def test_client_error_is_not_retried(connection, receiver, client):
    receiver.statuses = [400]
    result = deliver_write_back(connection, a_payload(), client=client, sleep=lambda s: None)
    assert not result.delivered and len(result.attempts) == 1
    assert result.error_code == "callback_rejected"
    assert SyncLogEntry.objects.get().result == LogResult.FAILURE


def test_gives_up_after_max_attempts(connection, receiver, client):
    receiver.statuses = [500] * 10
    waits: list[float] = []
    result = deliver_write_back(connection, a_payload(), client=client, sleep=waits.append, max_attempts=4)
    assert not result.delivered and len(result.attempts) == 4
    assert waits == [1.0, 2.0, 4.0]
    assert SyncLogEntry.objects.filter(result=LogResult.FAILURE).count() == 1


def test_unreachable_receiver_is_a_network_error(connection, client):
    connection.callback_url = "http://127.0.0.1:9/nothing-listens"
    result = deliver_write_back(connection, a_payload(), client=client, sleep=lambda s: None, max_attempts=2)
    assert not result.delivered and result.error_code == "callback_unreachable"
    assert all(a.status_code is None for a in result.attempts)


def test_no_callback_configured(connection, client):
    connection.callback_url = ""
    result = deliver_write_back(connection, a_payload(), client=client)
    assert not result.delivered and result.error_code == "callback_not_configured"


def test_all_day_edit_payload_uses_inclusive_end():
    edit = ScheduleEdit(span=AllDaySpan(date(2026, 11, 24), date(2026, 11, 25)))
    payload = payload_from_edit(apply_edit(schedule(), edit), edit, event_id="e", mailbox="m@example.com")
    assert payload.calendar == {
        "all_day": True,
        "start": "2026-11-24",
        "end": "2026-11-24",
        "timezone": "Asia/Tokyo",
    }
    assert payload.changed_fields == ("start", "end", "all_day")


def test_signature_and_backoff_helpers():
    body = b'{"a":1}'
    now = int(time.time())
    signature = sign("s", str(now), body)
    assert signature.startswith("sha256=") and len(signature) == 7 + 64
    assert verify_signature("s", str(now), body, signature, now=now + 10)
    assert not verify_signature("s", str(now), body, signature, now=now + 3600)  # replayed late
    assert not verify_signature("s", str(now), body + b" ", signature, now=now)
    assert not verify_signature("s", "not-a-number", body, signature)
    assert [backoff_delay(n, 1.0, 10.0) for n in (1, 2, 3, 4, 5)] == [1.0, 2.0, 4.0, 8.0, 10.0]
    assert backoff_delay(1, 1.0, 10.0, retry_after=120) == 10.0


def test_t1_push_source_writes_back_and_checks_the_callback(connection, receiver, client):
    from sfacal.core.errors import ServiceUnavailableError, SourceError
    from sfacal.sources.base import Source
    from sfacal.sources.push.source import PushSource

    source = PushSource(connection, client=client, sleep=lambda s: None, max_attempts=2)
    assert isinstance(source, Source) and source.supports_write_back and not source.supports_poll
    check = source.check_connection()
    assert check.ok, check.to_dict()
    headers, body = receiver.requests[-1]
    assert headers["X-Sfacal-Event"] == "ping"
    assert verify_signature(SECRET, headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER])

    source.write_back(schedule(), ScheduleEdit(body="メモ"), event_id="AAMk-1", mailbox="t@example.com")
    data = json.loads(receiver.requests[-1][1])
    assert data["calendar"] == {"body": "メモ"} and data["schedule"]["content"] == "メモ"

    receiver.statuses = [503, 503]
    with pytest.raises(ServiceUnavailableError):
        source.write_back(schedule(), ScheduleEdit(body="x"))
    receiver.statuses = [403]
    with pytest.raises(SourceError):
        source.write_back(schedule(), ScheduleEdit(body="x"))
    receiver.statuses = [500]
    failed = source.check_connection()
    assert not failed.ok and failed.code == "callback_unavailable" and failed.hint("en")


def test_t1_callback_over_tls_trusts_the_service_ca_bundle(connection, tmp_path, monkeypatch):
    """A receiver on the company network with its own CA: refused until the service's CA bundle
    (``SFACAL_CA_BUNDLE``) holds that CA, then delivered -- for write-backs and the connection check."""
    from sfacal.sources.push.source import PushSource

    tls = ensure_tls_files(tmp_path / "receiver-ca")
    with serving(tls) as https:
        connection.callback_url = https.url
        monkeypatch.delenv("SFACAL_CA_BUNDLE", raising=False)
        refused = deliver_write_back(connection, a_payload(), sleep=lambda s: None, max_attempts=1)
        assert not refused.delivered and refused.error_code == "callback_unreachable"
        assert "(tls)" in refused.attempts[0].message and https.requests == []

        monkeypatch.setenv("SFACAL_CA_BUNDLE", str(tls.ca_pem))
        delivered = deliver_write_back(connection, a_payload(), sleep=lambda s: None, max_attempts=1)
        assert delivered.delivered and len(https.requests) == 1
        assert PushSource(connection).check_connection().ok
        assert https.requests[-1][0]["X-Sfacal-Event"] == "ping"


def test_write_back_requests_are_counted_by_outcome_for_metrics(connection, receiver, client):
    from tests.ops.promtext import samples, value

    def count(outcome: str) -> float:
        return value(samples(), "sfacal_sfa_requests_total", source="push_callback", outcome=outcome)

    before = {o: count(o) for o in ("ok", "throttled", "server_error", "retried")}
    receiver.statuses = [429, 503, 200]
    receiver.retry_after = "0"
    assert deliver_write_back(connection, a_payload(), client=client, sleep=lambda s: None).delivered
    assert {o: count(o) - before[o] for o in before} == {
        "ok": 1,
        "throttled": 1,
        "server_error": 1,
        "retried": 2,
    }
