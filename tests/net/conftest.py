"""Fixtures of the outbound-address tests: a resolver that knows test names, a bare listener."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from sfacal.net import ALLOW_ENV


@dataclass
class Names:
    """Test names and their answers: each lookup takes the next answer; the last one repeats."""

    answers: dict[str, list[list[str]]] = field(default_factory=dict)
    lookups: list[str] = field(default_factory=list)

    def add(self, name: str, *answers: list[str]) -> None:
        self.answers[name] = list(answers)


@pytest.fixture
def names(monkeypatch: pytest.MonkeyPatch) -> Names:
    """``socket.getaddrinfo`` answering the names added to it (others resolve as usual)."""
    table = Names()
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
        key = host.decode() if isinstance(host, bytes) else host
        if key not in table.answers:
            return real(host, port, *args, **kwargs)
        table.lookups.append(key)
        queue = table.answers[key]
        addresses = queue.pop(0) if len(queue) > 1 else queue[0]
        return [
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (a, int(port or 0), 0, 0))
            if ":" in a
            else (socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, int(port or 0)))
            for a in addresses
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return table


@pytest.fixture
def public_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """The default rule: nothing allowed besides public addresses."""
    monkeypatch.delenv(ALLOW_ENV, raising=False)


class Listener:
    """A TCP port on 127.0.0.1 that accepts nothing by itself: :meth:`connections` counts the
    connections that reached it."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = int(self.sock.getsockname()[1])

    def connections(self) -> int:
        self.sock.setblocking(False)
        count = 0
        while True:
            try:
                conn, _ = self.sock.accept()
            except BlockingIOError:
                return count
            conn.close()
            count += 1


@pytest.fixture
def listener() -> Iterator[Listener]:
    opened = Listener()
    try:
        yield opened
    finally:
        opened.sock.close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
