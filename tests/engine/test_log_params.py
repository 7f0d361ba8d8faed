"""L2: a failed calendar write's log line keeps its error's parameters (the Recorder's bulk insert),
so the log screen names what no column holds (here: the host whose certificate failed)."""

from __future__ import annotations

import pytest

from sfacal.core.errors import NetworkTlsError
from sfacal.engine import inbox, passes
from sfacal.engine.models import SyncLogEntry
from sfacal.web.logs.presenters import describe
from tests.engine.conftest import DOMAIN, employee, meeting

pytestmark = pytest.mark.django_db

HOST = "graph.microsoft.com"


def test_l2_recorded_write_failure_keeps_the_host(company, fake):
    employee(company, "taro")
    fake.add_mailbox(f"taro@{DOMAIN}")
    error = NetworkTlsError("CERTIFICATE_VERIFY_FAILED", host=HOST)
    fake.errors[f"taro@{DOMAIN}"] = error
    inbox.accept(company, meeting("1", participants=("taro",)), trigger="push")
    passes.process_inbox(company.pk)
    line = SyncLogEntry.objects.get(error_code="network_tls")
    assert line.error_params == {"host": HOST}
    for lang in ("ja", "en"):
        shown = describe(line, lang)
        assert shown.message == error.user_message(lang) and HOST in shown.message
        assert shown.hint == error.hint(lang)
