"""Listening sockets for the emulators' background runners."""

from __future__ import annotations

import socket


def bind_listener(host: str, port: int, backlog: int = 1024) -> socket.socket:
    """A listening TCP socket on ``host:port`` (0: a free port), ready to hand to uvicorn.

    ``proto=IPPROTO_TCP`` matters: asyncio sets TCP_NODELAY only on accepted sockets
    whose protocol says TCP; without it a response written in two parts waits ~40 ms
    for the peer's delayed ACK (Nagle), which would swamp every latency we emulate.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(backlog)
    sock.setblocking(False)
    sock.set_inheritable(True)
    return sock
