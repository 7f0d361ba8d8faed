"""The SFA's side of the push write-back: an HTTP endpoint that keeps what sfacal POSTs to it.

Guarantees: every POST is kept whole (headers and body) in arrival order and answered 200;
:meth:`Receiver.wait` returns the first kept request that matches, or fails after a timeout.
It stands for the customer's receiver, outside the product; nothing of sfacal is replaced.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Delivery:
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []
        kept = self.deliveries

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                kept.append(
                    Delivery({k.lower(): v for k, v in self.headers.items()}, self.rfile.read(length))
                )
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="push-receiver", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/sfa/write-back"

    def wait(self, match: Callable[[Delivery], bool], timeout: float = 30) -> Delivery:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for delivery in list(self.deliveries):
                if match(delivery):
                    return delivery
            time.sleep(0.1)
        raise AssertionError(f"no matching delivery in {timeout} s; got {self.deliveries!r}")

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
