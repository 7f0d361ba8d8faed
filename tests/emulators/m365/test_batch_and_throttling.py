"""JSON batching, per-mailbox throttling and failure injection."""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

import httpx
import pytest

from .conftest import UNKNOWN_ID, World, event_body


def batch(world: World, requests: list[dict[str, Any]]) -> httpx.Response:
    return world.post("$batch", json={"requests": requests})


def test_batch_runs_items_and_honours_depends_on(world: World) -> None:
    create = {
        "id": "1",
        "method": "POST",
        "url": f"/users/{world.upn}/calendar/events",
        "headers": {"Content-Type": "application/json"},
        "body": event_body(transactionId="b-1"),
    }
    r = batch(
        world,
        [
            create,
            {"id": "2", "method": "GET", "url": f"/users/{world.upn}/events?$top=5", "dependsOn": ["1"]},
            {"id": "3", "method": "DELETE", "url": f"/users/{world.upn}/events/{UNKNOWN_ID}"},
            {"id": "4", "method": "GET", "url": f"/users/{world.upn}/calendar", "dependsOn": ["3"]},
        ],
    )
    assert r.status_code == 200, r.text
    by_id = {x["id"]: x for x in r.json()["responses"]}
    assert by_id["1"]["status"] == 201 and by_id["1"]["body"]["transactionId"] == "b-1"
    assert by_id["2"]["status"] == 200 and len(by_id["2"]["body"]["value"]) == 1
    assert by_id["3"]["status"] == 404 and by_id["3"]["body"]["error"]["code"] == "ErrorItemNotFound"
    assert by_id["4"]["status"] == 424
    journal = [
        e for e in world.handle.control.journal() if e.get("batch_id") and e["app"] == world.app.client_id
    ]
    assert len(journal) == 3  # items run individually; the failed dependency never ran


def test_batch_validation(world: World) -> None:
    many = [{"id": str(i), "method": "GET", "url": f"/users/{world.upn}/calendar"} for i in range(21)]
    r = batch(world, many)
    assert r.status_code == 400 and r.json()["error"]["code"] == "BadRequest"
    r = batch(world, [{"id": "1", "method": "GET", "url": "/me"}, {"id": "1", "method": "GET", "url": "/me"}])
    assert r.status_code == 400
    r = batch(
        world, [{"id": "1", "method": "POST", "url": f"/users/{world.upn}/events", "body": {"subject": "x"}}]
    )
    assert r.status_code == 400 and "Content-Type" in r.json()["error"]["message"]
    r = batch(world, [{"id": "1", "method": "GET", "url": "/x", "dependsOn": ["9"]}])
    assert r.status_code == 400
    cycle = [
        {"id": "1", "method": "GET", "url": "/x", "dependsOn": ["2"]},
        {"id": "2", "method": "GET", "url": "/x", "dependsOn": ["1"]},
    ]
    assert batch(world, cycle).status_code == 400


def test_batch_runs_at_most_four_outlook_requests_at_once(world: World) -> None:
    world.handle.control.set_knobs(latency_ms=60)
    items = [{"id": str(i), "method": "GET", "url": f"/users/{world.upn}/calendar"} for i in range(12)]
    r = batch(world, items)
    assert r.status_code == 200
    assert all(x["status"] == 200 for x in r.json()["responses"])
    assert world.handle.control.counters()["peak_concurrency"][world.user.id] == 4


async def _concurrent(world: World, n: int, path: str) -> list[httpx.Response]:
    ctx = ssl.create_default_context(cafile=str(world.handle.ca_pem))
    limits = httpx.Limits(max_connections=n + 2)
    async with httpx.AsyncClient(verify=ctx, trust_env=False, limits=limits, timeout=30) as client:
        headers = {"Authorization": f"Bearer {world.token}"}
        return list(await asyncio.gather(*(client.get(world.url(path), headers=headers) for _ in range(n))))


def test_fifth_concurrent_request_to_a_mailbox_gets_429(world: World) -> None:
    world.handle.control.set_knobs(latency_ms=300)
    responses = asyncio.run(_concurrent(world, 8, f"users/{world.upn}/calendar"))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 4 + [429] * 4
    for r in responses:
        if r.status_code == 429:
            assert r.headers["Retry-After"].isdigit()
            assert r.json()["error"]["code"] == "ApplicationThrottled"
            assert r.json()["error"]["message"] == "Application is over its MailboxConcurrency limit."
    other = world.new_user()
    # A different mailbox has its own budget.
    responses = asyncio.run(_concurrent(world, 4, f"users/{other.upn}/calendar"))
    assert all(r.status_code == 200 for r in responses)


def test_rate_limit_per_app_and_mailbox_counts_batch_items(world: World) -> None:
    world.handle.control.set_knobs(rate_limit=5)
    for _ in range(3):
        assert world.get(f"users/{world.upn}/calendar").status_code == 200
    items = [{"id": str(i), "method": "GET", "url": f"/users/{world.upn}/calendar"} for i in range(4)]
    r = batch(world, items)
    statuses = sorted(x["status"] for x in r.json()["responses"])
    assert statuses == [200, 200, 429, 429]
    throttled = [x for x in r.json()["responses"] if x["status"] == 429]
    assert int(throttled[0]["headers"]["Retry-After"]) > 0
    r = world.get(f"users/{world.upn}/calendar")
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    other = world.new_user()
    assert world.get(f"users/{other.upn}/calendar").status_code == 200
    assert world.handle.control.counters()["throttled"] >= 3


@pytest.mark.parametrize(
    ("knob", "status"),
    [("failure_rate_429", 429), ("failure_rate_503", 503), ("failure_rate_504", 504)],
)
def test_failure_knobs(world: World, knob: str, status: int) -> None:
    world.handle.control.set_knobs(**{knob: 1.0})
    r = world.get(f"users/{world.upn}/calendar")
    assert r.status_code == status
    assert "error" in r.json()
    if status in (429, 503):
        assert r.headers["Retry-After"].isdigit()


def test_connection_reset_knob_closes_without_response(world: World) -> None:
    world.handle.control.set_knobs(failure_rate_reset=1.0)
    with pytest.raises(httpx.TransportError):
        world.get(f"users/{world.upn}/calendar")
    world.handle.control.set_knobs(failure_rate_reset=0.0)
    world.http.close()
    world.http = httpx.Client(
        verify=ssl.create_default_context(cafile=str(world.handle.ca_pem)), trust_env=False
    )
    assert world.get(f"users/{world.upn}/calendar").status_code == 200


def test_504_after_write_leaves_the_event_and_transaction_id_recovers_it(world: World) -> None:
    world.handle.control.set_knobs(failure_rate_504_after_write=1.0)
    body = event_body(transactionId="lost-response")
    r = world.post(f"users/{world.upn}/calendar/events", json=body)
    assert r.status_code == 504
    world.handle.control.set_knobs(failure_rate_504_after_write=0.0)
    r = world.post(f"users/{world.upn}/calendar/events", json=body)
    assert r.status_code == 201
    stored = world.handle.control.events(world.upn)
    assert len(stored) == 1 and stored[0]["restId"] == r.json()["id"]  # no IdType preference: the REST id
