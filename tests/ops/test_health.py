"""/healthz says the process is alive; /readyz names what is not ready (sfacal.web.health) and
worker heartbeats say which workers live (sfacal.engine.heartbeat)."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone

from sfacal.engine import heartbeat
from sfacal.engine.models import WorkerHeartbeat

pytestmark = pytest.mark.django_db


def test_healthz_is_alive(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    assert client.post("/healthz").status_code == 405


def test_readyz_fails_without_a_live_worker_and_passes_with_one(client: Client) -> None:
    body = client.get("/readyz")
    assert body.status_code == 503
    assert body.json()["failed"] == ["workers"]
    assert "sfacal worker" in body.json()["checks"]["workers"]["detail"]
    assert body.json()["checks"]["database"] == {"ok": True}
    heartbeat.beat()
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.json()
    assert ready.json() == {
        "status": "ok",
        "failed": [],
        "checks": {name: {"ok": True} for name in ("database", "queue", "workers", "encryption_key")},
    }
    # the beat grows old: not live any more
    WorkerHeartbeat.objects.update(seen_at=timezone.now() - heartbeat.live_window() - timedelta(seconds=1))
    assert client.get("/readyz").status_code == 503


def test_readyz_fails_when_the_key_file_cannot_be_read(
    client: Client, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    heartbeat.beat()
    monkeypatch.delenv("SFACAL_SECRET_KEY", raising=False)
    monkeypatch.setenv("SFACAL_DATA_DIR", str(tmp_path))  # a data directory without its key file
    body = client.get("/readyz")
    assert body.status_code == 503 and body.json()["failed"] == ["encryption_key"]
    assert "secret.key" in body.json()["checks"]["encryption_key"]["detail"]


@pytest.mark.django_db(transaction=True)
def test_heartbeat_thread_beats_and_removes_its_row_when_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SFACAL_HEARTBEAT_SECONDS", "0.2")
    heartbeat.start()
    heartbeat.start()  # once per process, whatever the number of worker threads
    try:
        deadline = time.monotonic() + 10
        while not heartbeat.live_workers() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert heartbeat.live_workers() == 1
    finally:
        heartbeat.stop()
    assert not WorkerHeartbeat.objects.filter(worker=heartbeat.worker_id()).exists()


def test_a_long_dead_workers_row_is_forgotten() -> None:
    now = timezone.now()
    WorkerHeartbeat.objects.create(
        worker="old", host="h", pid=1, started_at=now, seen_at=now - timedelta(days=2)
    )
    heartbeat.beat(now)
    assert list(WorkerHeartbeat.objects.values_list("worker", flat=True)) == [heartbeat.worker_id()]
