"""JUST.SFA records-API requests are counted by outcome for /metrics (sfacal.net.metrics), against
the emulator over TLS."""

from __future__ import annotations

from sfacal.sources.justsfa import JustSfaSettings
from tests.ops.promtext import samples, value

from .conftest import config_for

SFA = "sfacal_sfa_requests_total"


def test_records_api_requests_counted_ok_and_client_error(emu, setup, make_client) -> None:
    before = samples()
    good = make_client(JustSfaSettings.from_config(config_for(emu, setup), setup.api_key))
    good.list_records(limit=1)
    bad = make_client(JustSfaSettings.from_config(config_for(emu, setup), "not-the-right-key-000"))
    try:
        bad.list_records(limit=1)
    except Exception:
        pass
    after = samples()
    assert (
        value(after, SFA, source="justsfa", outcome="ok") - value(before, SFA, source="justsfa", outcome="ok")
        == 1
    )
    assert (
        value(after, SFA, source="justsfa", outcome="client_error")
        - value(before, SFA, source="justsfa", outcome="client_error")
        == 1
    )
