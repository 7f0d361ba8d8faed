"""The lean HTTP/1.1 client of the Graph connector (:mod:`sfacal.calendars.msgraph.wire`) against a
raw local server: bodies by length, chunked and gzip; keep-alive reuse; a kept-alive connection
closed by the server; errors raised as the matching ``httpx`` exceptions."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import Awaitable, Callable

import httpx
import pytest

from sfacal.calendars.msgraph.auth import network_error_from
from sfacal.calendars.msgraph.wire import WirePool

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _read_request(reader: asyncio.StreamReader) -> tuple[bytes, dict[bytes, bytes], bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    headers = {}
    for line in lines[1:]:
        if line:
            k, _, v = line.partition(b":")
            headers[k.strip().lower()] = v.strip()
    body = await reader.readexactly(int(headers.get(b"content-length", b"0")))
    return lines[0], headers, body


async def _serve(handler: Handler) -> tuple[asyncio.Server, int]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


def _pool(port: int, **kw: float) -> WirePool:
    return WirePool(
        "http",
        "127.0.0.1",
        port,
        ssl_context=None,
        connect_timeout=kw.get("connect_timeout", 5.0),
        read_timeout=kw.get("read_timeout", 5.0),
        max_connections=int(kw.get("max_connections", 4)),
        default_headers={"Accept": "application/json"},
    )


def test_bodies_by_length_chunked_and_gzip_over_one_kept_alive_connection() -> None:
    connections = 0
    seen: list[tuple[bytes, dict[bytes, bytes], bytes]] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        while True:
            try:
                line, headers, body = await _read_request(reader)
            except asyncio.IncompleteReadError:
                break
            seen.append((line, headers, body))
            if line.startswith(b"POST /len"):
                writer.write(
                    b"HTTP/1.1 201 Created\r\nContent-Length: 11\r\nRetry-After: 3\r\n\r\nhello world"
                )
            elif line.startswith(b"GET /chunked"):
                writer.write(
                    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                    b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n"
                )
            elif line.startswith(b"GET /gzip"):
                data = gzip.compress(b'{"a": 1}')
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: "
                    + str(len(data)).encode()
                    + b"\r\n\r\n"
                    + data
                )
            else:
                writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
            await writer.drain()
        writer.close()

    async def main() -> None:
        server, port = await _serve(handler)
        pool = _pool(port)
        try:
            r1 = await pool.request("POST", "/len?x=1", {"Content-Type": "application/json"}, b'{"k":1}')
            assert (r1.status, r1.content, r1.headers["retry-after"]) == (201, b"hello world", "3")
            r2 = await pool.request("GET", "/chunked", {}, None)
            assert (r2.status, r2.content) == (200, b"hello world")
            r3 = await pool.request("GET", "/gzip", {}, None)
            assert r3.content == b'{"a": 1}'
            r4 = await pool.request("DELETE", "/x", {}, None)
            assert (r4.status, r4.content) == (204, b"")
        finally:
            await pool.aclose()
            server.close()
            await server.wait_closed()

    asyncio.run(main())
    assert connections == 1  # every request reused the kept-alive connection
    line, headers, body = seen[0]
    assert line == b"POST /len?x=1 HTTP/1.1"
    assert headers[b"host"] == f"127.0.0.1:{headers[b'host'].split(b':')[1].decode()}".encode()
    assert headers[b"content-length"] == b"7" and body == b'{"k":1}'
    assert headers[b"accept"] == b"application/json"


def test_a_kept_alive_connection_closed_by_the_server_is_replaced_without_an_error() -> None:
    connections = 0

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await _read_request(reader)
        # Answers as if keeping the connection, then closes it (an idle timeout on the server).
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        writer.close()

    async def main() -> None:
        server, port = await _serve(handler)
        pool = _pool(port)
        try:
            assert (await pool.request("GET", "/a", {}, None)).content == b"ok"
            await asyncio.sleep(0.05)  # let the close arrive
            assert (await pool.request("GET", "/b", {}, None)).content == b"ok"
        finally:
            await pool.aclose()
            server.close()
            await server.wait_closed()

    asyncio.run(main())
    assert connections == 2


def test_connection_close_and_the_pool_limit() -> None:
    active = 0
    peak = 0

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await _read_request(reader)
        await asyncio.sleep(0.01)
        writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx")
        await writer.drain()
        writer.close()
        active -= 1

    async def main() -> None:
        server, port = await _serve(handler)
        pool = _pool(port, max_connections=2)
        try:
            answers = await asyncio.gather(*(pool.request("GET", f"/{i}", {}, None) for i in range(6)))
            assert [a.content for a in answers] == [b"x"] * 6
        finally:
            await pool.aclose()
            server.close()
            await server.wait_closed()

    asyncio.run(main())
    assert peak <= 2


def test_failures_are_httpx_errors_that_name_their_kind() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        await asyncio.sleep(2)
        writer.close()

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.close()

    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b"SMTP ready\r\n\r\n")
        await writer.drain()
        writer.close()

    async def main() -> None:
        server, port = await _serve(silent)
        pool = _pool(port, read_timeout=0.1)
        with pytest.raises(httpx.ReadTimeout) as timeout:
            await pool.request("GET", "/", {}, None)
        assert network_error_from(timeout.value, "h").params["kind"] == "timeout"
        await pool.aclose()
        server.close()

        server, port = await _serve(hang_up)
        pool = _pool(port)
        with pytest.raises(httpx.RemoteProtocolError) as reset:
            await pool.request("GET", "/", {}, None)
        assert network_error_from(reset.value, "h").params["kind"] == "reset"
        await pool.aclose()
        server.close()

        server, port = await _serve(garbage)
        pool = _pool(port)
        with pytest.raises(httpx.RemoteProtocolError):
            await pool.request("GET", "/", {}, None)
        await pool.aclose()
        server.close()
        await server.wait_closed()

        pool = _pool(port)  # nothing listens there any more
        with pytest.raises(httpx.ConnectError) as refused:
            await pool.request("GET", "/", {}, None)
        assert network_error_from(refused.value, "h").params["kind"] == "refused"
        await pool.aclose()
        with pytest.raises(httpx.LocalProtocolError):
            await _pool(port).request("GET", "/", {"X-Evil": "a\r\nInjected: 1"}, None)

    asyncio.run(main())


def test_large_answers_over_tls_with_the_smaller_read_buffer(tmp_path) -> None:
    """Each TLS connection reads through a 16 KiB buffer (not asyncio's 256 KiB); answers several
    times that size still arrive whole, in both directions."""
    from asyncio import sslproto

    from sfacal.calendars.msgraph.wire import TLS_READ_BUFFER
    from sfacal.emulators.tls import ensure_tls_files

    tls = ensure_tls_files(tmp_path)
    big = bytes(range(256)) * 1200  # ~300 KB: several buffers full each way

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        _, _, body = await _read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: " + str(len(body) * 2).encode() + b"\r\n\r\n")
        writer.write(body + body)
        await writer.drain()
        writer.close()

    async def main() -> bytes:
        server = await asyncio.start_server(handler, "127.0.0.1", 0, ssl=tls.server_context())
        port = server.sockets[0].getsockname()[1]
        pool = WirePool(
            "https",
            "127.0.0.1",
            port,
            ssl_context=tls.client_context(),
            connect_timeout=5.0,
            read_timeout=5.0,
            max_connections=1,
        )
        try:
            assert sslproto.SSLProtocol.max_size == TLS_READ_BUFFER
            response = await pool.request("POST", "/echo", {}, big)
            return response.content
        finally:
            await pool.aclose()
            server.close()
            await server.wait_closed()

    assert asyncio.run(main()) == big + big


def test_new_tls_connections_resume_the_kept_session_and_fall_back_to_a_full_handshake(tmp_path) -> None:
    """A pool keeps the session of its first TLS connection; the next connections resume it (no
    certificate exchange). A server that does not know the ticket (restarted with new keys) gets a
    full handshake instead, and its own session is kept from then on."""
    import ssl

    from sfacal.emulators.tls import ensure_tls_files

    tls = ensure_tls_files(tmp_path)
    reused: list[bool] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        reused.append(writer.get_extra_info("ssl_object").session_reused)
        await _read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        await writer.drain()
        writer.close()

    async def run(client_context: ssl.SSLContext, server_context: ssl.SSLContext) -> None:
        server = await asyncio.start_server(handler, "127.0.0.1", 0, ssl=server_context)
        port = server.sockets[0].getsockname()[1]
        pool = WirePool(
            "https", "127.0.0.1", port, ssl_context=client_context,
            connect_timeout=5.0, read_timeout=5.0, max_connections=1,
        )  # fmt: skip
        try:
            for _ in range(3):  # "Connection: close": a new connection each time
                assert (await pool.request("GET", "/", {}, None)).content == b"ok"
        finally:
            await pool.aclose()
            server.close()
            await server.wait_closed()

    client = tls.client_context()
    asyncio.run(run(client, tls.server_context()))
    assert reused == [False, True, True]
    reused.clear()
    asyncio.run(run(client, tls.server_context()))  # the same client, a server with new ticket keys
    assert reused == [False, True, True]
