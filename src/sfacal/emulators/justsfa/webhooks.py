"""Asynchronous webhook delivery with retries and a delivery log.

A single background thread works through a queue ordered by due time, so the API call that
caused an event never waits for the receiver. Each attempt is logged; a failed attempt
(connection error, timeout, non-2xx answer) is retried after the configured delays.
"""

from __future__ import annotations

import heapq
import itertools
import json
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

USER_AGENT = "JUST.SFA-Webhook/1.0 (sfacal emulator)"


@dataclass
class WebhookSettings:
    max_attempts: int = 3
    retry_delays: list[float] = field(default_factory=lambda: [0.5, 2.0])
    timeout: float = 10.0
    verify: bool = True  # verify the receiver's certificate (system store + ``ca_file``)
    ca_file: str | None = None


@dataclass
class Delivery:
    delivery_id: int
    tenant: str
    table_id: str
    webhook_id: str
    url: str
    headers: dict[str, str]
    body: Any  # an object, or a list wrapping one (the ``array_body`` variant)
    attempts: list[dict[str, Any]] = field(default_factory=list)
    state: str = "pending"  # pending | delivered | failed

    def _inner(self) -> dict[str, Any]:
        body = self.body
        if isinstance(body, list) and body and isinstance(body[0], dict):
            body = body[0].get("body", body[0])
        return body if isinstance(body, dict) else {}

    def describe(self) -> dict[str, Any]:
        return {
            "deliveryId": self.delivery_id,
            "tenant": self.tenant,
            "tableId": self.table_id,
            "webhookId": self.webhook_id,
            "url": self.url,
            "type": self._inner().get("type"),
            "recordId": self._inner().get("recordId"),
            "body": self.body,
            "headers": dict(self.headers),
            "state": self.state,
            "attempts": [dict(a) for a in self.attempts],
        }


class WebhookDispatcher:
    def __init__(self, settings: WebhookSettings, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self._clock = clock
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Delivery]] = []
        self._seq = itertools.count(1)
        self._log: list[Delivery] = []
        self._in_flight = 0
        self._stop = False
        self._thread: threading.Thread | None = None
        # Trusted besides the system store and ``settings.ca_file`` (the emulators' own CA).
        self.default_ca_file: str | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        with self._cond:
            if self._thread is not None:
                return
            self._stop = False
            self._thread = threading.Thread(target=self._run, name="justsfa-webhooks", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()
            thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)

    def clear(self) -> None:
        with self._cond:
            self._heap.clear()
            self._log.clear()

    # ------------------------------------------------------------------ queue
    def enqueue(
        self,
        tenant: str,
        table_id: str,
        webhook_id: str,
        url: str,
        headers: dict[str, str],
        body: Any,
    ) -> int:
        self.start()
        with self._cond:
            d = Delivery(next(self._seq), tenant, table_id, webhook_id, url, dict(headers), body)
            self._log.append(d)
            heapq.heappush(self._heap, (time.monotonic(), d.delivery_id, d))
            self._cond.notify_all()
            return d.delivery_id

    def deliveries(self) -> list[dict[str, Any]]:
        with self._cond:
            return [d.describe() for d in self._log]

    def idle(self) -> bool:
        with self._cond:
            return not self._heap and self._in_flight == 0

    def wait_idle(self, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.idle():
                return True
            time.sleep(0.01)
        return self.idle()

    # ------------------------------------------------------------------ worker
    def _verify(self) -> bool | ssl.SSLContext:
        s = self.settings
        if not s.verify:
            return False
        ctx = ssl.create_default_context()
        for ca in (self.default_ca_file, s.ca_file):
            if ca and Path(ca).exists():
                ctx.load_verify_locations(cafile=ca)
        return ctx

    def _run(self) -> None:
        client: httpx.Client | None = None
        client_key: tuple[bool, str | None, str | None, float] | None = None
        try:
            while True:
                with self._cond:
                    while not self._stop and (not self._heap or self._heap[0][0] > time.monotonic()):
                        wait = None if not self._heap else max(0.0, self._heap[0][0] - time.monotonic())
                        self._cond.wait(wait)
                    if self._stop:
                        return
                    _, _, d = heapq.heappop(self._heap)
                    self._in_flight += 1
                    key = (
                        self.settings.verify,
                        self.settings.ca_file,
                        self.default_ca_file,
                        self.settings.timeout,
                    )
                try:
                    if client is None or key != client_key:
                        if client is not None:
                            client.close()
                        client = httpx.Client(verify=self._verify(), timeout=key[3], trust_env=False)
                        client_key = key
                    self._attempt(client, d)
                finally:
                    with self._cond:
                        self._in_flight -= 1
        finally:
            if client is not None:
                client.close()

    def _attempt(self, client: httpx.Client, d: Delivery) -> None:
        started = time.monotonic()
        entry: dict[str, Any] = {"attempt": len(d.attempts) + 1, "at": self._clock()}
        try:
            resp = client.post(
                d.url,
                content=json.dumps(d.body, ensure_ascii=False).encode("utf-8"),
                headers={
                    "Content-Type": "application/json; charset=utf-8",
                    "User-Agent": USER_AGENT,
                    **d.headers,
                },
            )
            entry["status"] = resp.status_code
            ok = 200 <= resp.status_code < 300
            if not ok:
                entry["error"] = f"HTTP {resp.status_code}"
        except httpx.HTTPError as exc:
            entry["status"] = None
            entry["error"] = f"{type(exc).__name__}: {exc}"
            ok = False
        entry["durationMs"] = round((time.monotonic() - started) * 1000, 1)
        with self._cond:
            d.attempts.append(entry)
            if ok:
                d.state = "delivered"
                return
            n = len(d.attempts)
            if n >= max(1, self.settings.max_attempts):
                d.state = "failed"
                return
            delays = self.settings.retry_delays or [1.0]
            delay = delays[min(n - 1, len(delays) - 1)]
            heapq.heappush(self._heap, (time.monotonic() + delay, d.delivery_id, d))
            self._cond.notify_all()
