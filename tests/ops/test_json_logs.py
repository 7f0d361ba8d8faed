"""SFACAL_LOG_FORMAT=json: one JSON object per line, the request id tied to the jobs it queues, and
no secret in any field (sfacal.web.logfilters, sfacal.core.logcontext, sfacal.engine.jobcontext)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from huey.contrib.djhuey import HUEY

from sfacal.core import logcontext
from sfacal.engine import tasks
from sfacal.web.logfilters import (
    ExpectedRefusalFilter,
    JsonLogFormatter,
    LogContextFilter,
    RedactSecretsFilter,
)

SECRET = "S3cretSampleValue_0123456789abcdef"


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """The product's console handler with the JSON format, on a string buffer."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLogFormatter())
    for f in (ExpectedRefusalFilter(), RedactSecretsFilter(), LogContextFilter()):
        handler.addFilter(f)
    root = logging.getLogger()
    before = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    root.setLevel(before)


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_settings_choose_the_json_formatter_with_one_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    import sfacal.web.settings as product_settings

    monkeypatch.setenv("SFACAL_LOG_FORMAT", "json")
    try:
        fresh = importlib.reload(product_settings)
        assert fresh.LOGGING["handlers"]["console"]["formatter"] == "json"
        assert "context" in fresh.LOGGING["handlers"]["console"]["filters"]
        monkeypatch.delenv("SFACAL_LOG_FORMAT")
        assert importlib.reload(product_settings).LOGGING["handlers"]["console"]["formatter"] == "plain"
    finally:
        monkeypatch.delenv("SFACAL_LOG_FORMAT", raising=False)
        importlib.reload(product_settings)


def test_one_json_object_per_line_with_fields(json_log: io.StringIO) -> None:
    log = logging.getLogger("sfacal.test")
    with logcontext.bound(request="req-1", job="job-9"):
        log.info("hello %s", "世界")
    log.warning("outside")
    first, second = lines(json_log)
    assert first["message"] == "hello 世界"
    assert first["level"] == "INFO" and first["logger"] == "sfacal.test"
    assert first["request_id"] == "req-1" and first["job_id"] == "job-9"
    assert first["time"].endswith("+00:00")
    assert second["request_id"] == "" and second["job_id"] == ""


def test_no_secret_in_message_traceback_or_extra_fields(json_log: io.StringIO) -> None:
    log = logging.getLogger("sfacal.test")
    log.info("called /hooks/justsfa/%s with Authorization: Bearer %s", SECRET, SECRET)
    try:
        raise ValueError(f"client_secret={SECRET}")
    except ValueError:
        log.exception("failed")
    log.info("extra", extra={"detail": f"token={SECRET}", "nested": {"u": f"/hooks/justsfa/{SECRET}"}})
    out = json_log.getvalue()
    assert SECRET not in out, out
    records = lines(json_log)
    assert len(records) == 3
    assert "***" in records[0]["message"]
    assert "ValueError" in records[1]["exc_info"]
    assert records[2]["detail"] == "token=***"


def test_bad_request_id_header_is_replaced() -> None:
    assert logcontext.clean_id("abc-DEF_1.2") == "abc-DEF_1.2"
    for bad in ("", None, "x" * 65, "a b", 'a"}\n{"level": "ERROR'):
        cleaned = logcontext.clean_id(bad)
        assert cleaned != bad and len(cleaned) == 32


@pytest.mark.django_db
def test_request_id_comes_back_and_is_on_the_request_lines(json_log: io.StringIO) -> None:
    client = Client()
    response = client.get("/no-such-page/", HTTP_X_REQUEST_ID="lb-1234")
    assert response.status_code == 404
    assert response["X-Request-ID"] == "lb-1234"
    not_found = [r for r in lines(json_log) if r["logger"] == "django.request"]
    assert not_found and all(r["request_id"] == "lb-1234" for r in not_found)
    fresh = client.get("/healthz")
    assert len(fresh["X-Request-ID"]) == 32


@pytest.mark.django_db
def test_request_id_travels_in_the_queued_task_to_the_job_lines(json_log: io.StringIO) -> None:
    """A job queued during a request is stored with the request id; the worker that runs it logs
    with that request id and the job's own id; the task function never sees the extra argument."""
    assert not HUEY.immediate
    HUEY.flush()
    with logcontext.bound(request="req-42"):
        tasks.run_job("no_such_job", {})  # logs a warning when it runs
    assert logcontext.current() == {"request_id": "", "job_id": ""}
    message = HUEY.storage.dequeue()
    task = HUEY.deserialize_task(message)  # as a worker process reads it
    HUEY.execute(task)
    records = lines(json_log)
    queued = next(r for r in records if r["message"].startswith("queued job"))
    ran = next(r for r in records if "unknown engine job" in r["message"])
    assert queued["request_id"] == "req-42"
    assert ran["request_id"] == "req-42"
    assert ran["job_id"] == task.id and task.id in queued["message"]
    assert logcontext.current() == {"request_id": "", "job_id": ""}


@pytest.mark.django_db
def test_periodic_job_runs_with_its_own_job_id_only(json_log: io.StringIO) -> None:
    HUEY.flush()
    tasks.run_job("no_such_job", {})
    task = HUEY.deserialize_task(HUEY.storage.dequeue())
    HUEY.execute(task)
    ran = next(r for r in lines(json_log) if "unknown engine job" in r["message"])
    assert ran["request_id"] == "" and ran["job_id"] == task.id
