"""Fixtures: a TLS JUST.SFA emulator (one per module, reset per test), settings pointing at it,
records clients that trust its CA, and a company with a JUST.SFA connection."""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from sfacal.emulators.justsfa import EmulatorHandle, ScheduleSetup, running_emulator
from sfacal.sources.justsfa import (
    Budget,
    JustSfaSettings,
    MemoryBudgetStore,
    RateLimiter,
    RecordsClient,
)

TENANT = "fsz2"


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorHandle]:
    with running_emulator(tmp_path_factory.mktemp("justsfa-src")) as handle:
        yield handle


@pytest.fixture
def emu(emulator: EmulatorHandle) -> Iterator[EmulatorHandle]:
    emulator.control.reset()
    yield emulator
    emulator.wait_webhooks_idle(5)


@pytest.fixture
def setup(emu: EmulatorHandle) -> ScheduleSetup:
    return emu.control.setup_schedule(TENANT)


def config_for(emu: EmulatorHandle, s: ScheduleSetup, **overrides: Any) -> dict[str, Any]:
    """``SourceConnection.config`` for the emulator's standard schedule table."""
    config: dict[str, Any] = {
        "tenant": s.tenant,
        "base_url": emu.tenant_url(s.tenant),
        "table": s.table_id,
        "panel": s.panel_id,
        "filter": s.filter_id,
        "schedule_field": s.schedule_field,
        "title_field": s.title_field,
        "location_field": s.location_field,
        "content_field": s.content_field,
        "key_field": s.key_field,
        "status_field": s.status_field,
        "kind_field": s.kind_field,
        "purpose_field": s.purpose_field,
        "business_field": s.business_field,
        "customer_field": s.customer_field,
        "address_field": s.address_field,
    }
    config.update(overrides)
    return {k: v for k, v in config.items() if v is not None}


@pytest.fixture
def settings(emu: EmulatorHandle, setup: ScheduleSetup) -> JustSfaSettings:
    return JustSfaSettings.from_config(config_for(emu, setup), setup.api_key, company="acme")


ClientFactory = Callable[..., RecordsClient]


@pytest.fixture
def make_client(emu: EmulatorHandle) -> Iterator[ClientFactory]:
    """Records clients trusting the emulator's CA, each with its own in-memory budget unless a
    limiter is given."""
    made: list[RecordsClient] = []

    def make(settings: JustSfaSettings, limiter: RateLimiter | None = None, **kw: Any) -> RecordsClient:
        if limiter is None:
            limiter = RateLimiter(settings.limiter_key, Budget(1000, 100_000), MemoryBudgetStore())
        client = RecordsClient(
            settings,
            limiter=limiter,
            verify=ssl.create_default_context(cafile=str(emu.ca_pem)),
            trust_env=False,
            **kw,
        )
        made.append(client)
        return client

    yield make
    for c in made:
        c.close()


def schedule_record(
    s: ScheduleSetup,
    title: str,
    users: list[str],
    start: str = "2025-12-30T10:00+09:00",
    end: str = "2025-12-30T11:00+09:00",
    **extra: Any,
) -> dict[str, Any]:
    rec: dict[str, Any] = {
        s.title_field: title,
        s.schedule_field: s.schedule_value(start, end, users),
        s.status_field: "予定",
    }
    rec.update(extra)
    return rec
