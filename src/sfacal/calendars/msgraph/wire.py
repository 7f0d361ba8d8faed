"""A lean HTTP/1.1 client for Graph's hot path: keep-alive connections over asyncio streams.

The engine sends thousands of JSON batches per pass; a general-purpose client spends most of its
time in layers this traffic does not need (about 0.6 ms of CPU per request, over 1 ms with many
requests in flight, against well under 0.1 ms here). :class:`WirePool` speaks just what Graph
needs: HTTP/1.1 over TLS (or plain HTTP for a local service), keep-alive, ``Content-Length`` and
chunked bodies, ``gzip``/``deflate`` answers, a connect timeout and a response timeout.

:class:`~.client.GraphClient` uses it when nothing else is in the way; with a proxy configured in
the environment (``HTTPS_PROXY``…) or a test transport it keeps using ``httpx``. Failures are
raised as the matching ``httpx`` exceptions (``ConnectError``, ``ConnectTimeout``, ``ReadTimeout``,
``ReadError``, ``WriteError``, ``RemoteProtocolError``) chained to the socket error, so retries and
error messages are the same whichever client sent the request.

Each new connection resolves the host once under the outbound address rule
(:func:`sfacal.net.allowed_addresses_async`) and connects to a permitted address, the name kept for
the ``Host`` header, SNI and the certificate check; a Graph URL that leads to a private or local
address raises :class:`~sfacal.core.errors.AddressNotAllowedError` before any connection is opened.
"""

from __future__ import annotations

import asyncio
import ssl
import time
import zlib
from asyncio import sslproto
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

import httpx

from sfacal.core.frozen import quick_init
from sfacal.net.resolver import allowed_addresses_async

__all__ = ["WirePool", "WireResponse"]

_LINE_LIMIT = 1 << 20  # longest head (status line + headers) accepted
_NO_BODY = frozenset({204, 304})

TLS_READ_BUFFER = 16 * 1024
"""The read buffer of a TLS connection. asyncio gives each one ``SSLProtocol.max_size`` bytes
(256 KiB, zero-filled, so resident): with a connection per mailbox in flight, a pass over 200
mailboxes held 50 MB of them (12.5 MB at 64 KiB). 16 KiB is the largest a TLS record carries, so
each read still takes whole records; an answer of a JSON batch (~43 KB) takes three reads."""


def limit_tls_read_buffer() -> None:
    """Lower asyncio's per-connection TLS read buffer to :data:`TLS_READ_BUFFER` (process-wide;
    only the size of each read changes)."""
    if getattr(sslproto.SSLProtocol, "max_size", 0) > TLS_READ_BUFFER:
        sslproto.SSLProtocol.max_size = TLS_READ_BUFFER


class _ResumingSSLObject(ssl.SSLObject):
    """A client TLS connection that offers the last session its pool kept for the server, so the
    handshake is a resumption (no certificate chain to send and verify). A pass over 200 mailboxes
    opens 200 connections; with asyncio's own set-up counted, a new connection costs the client
    about 0.9 ms of CPU resumed against 1.0–1.2 ms in full, and the server less too (measured
    against the emulator, docs/performance.md).

    Installed through ``SSLContext.sslobject_class`` (the documented hook for a custom SSLObject);
    each context gets its own subclass with its own ``sessions`` (server name -> session)."""

    sessions: ClassVar[dict[str, ssl.SSLSession]]

    def do_handshake(self) -> None:
        if not self.__dict__.get("offered"):
            self.__dict__["offered"] = True
            session = self.sessions.get(self.server_hostname or "") if not self.server_side else None
            if session is not None:
                try:
                    self.session = session
                except (ValueError, ssl.SSLError):  # not for this context after all: a full handshake
                    self.sessions.pop(self.server_hostname or "", None)
        super().do_handshake()


def _session_store(context: ssl.SSLContext) -> dict[str, ssl.SSLSession]:
    """The sessions kept for ``context`` (installing the resuming SSLObject class once)."""
    current = context.sslobject_class
    if isinstance(current, type) and issubclass(current, _ResumingSSLObject):
        return current.sessions
    if current is not ssl.SSLObject:  # someone else's class: leave it alone, no resumption
        return {}
    sessions: dict[str, ssl.SSLSession] = {}
    context.sslobject_class = type("ResumingSSLObject", (_ResumingSSLObject,), {"sessions": sessions})
    return sessions


@quick_init
@dataclass(frozen=True)
class WireResponse:
    status: int
    headers: dict[str, str]  # names lower-cased; repeated headers joined with ", "
    content: bytes


class _Conn:
    __slots__ = ("idle_since", "reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.idle_since = time.monotonic()

    def usable(self, expiry: float) -> bool:
        return (
            not self.reader.at_eof()
            and not self.writer.transport.is_closing()
            and time.monotonic() - self.idle_since < expiry
        )

    def close(self) -> None:
        try:
            self.writer.close()
        except Exception:  # noqa: S110 -- closing a broken connection must not fail the caller
            pass


class _Stale(Exception):
    """A kept-alive connection turned out closed before any byte of the answer arrived."""


class WirePool:
    """Keep-alive HTTP/1.1 connections to one origin (one event loop)."""

    def __init__(
        self,
        scheme: str,
        host: str,
        port: int,
        *,
        ssl_context: ssl.SSLContext | None,
        connect_timeout: float,
        read_timeout: float,
        max_connections: int,
        keepalive_expiry: float = 30.0,
        default_headers: Mapping[str, str] | None = None,
    ) -> None:
        self.scheme = scheme
        self.host = host
        self.port = port
        self._ssl = ssl_context if scheme == "https" else None
        self._sessions: dict[str, ssl.SSLSession] = {}
        if self._ssl is not None:
            limit_tls_read_buffer()
            self._sessions = _session_store(self._ssl)
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._max = max(1, max_connections)
        self._expiry = keepalive_expiry
        default_port = 443 if scheme == "https" else 80
        host_header = host if ":" not in host else f"[{host}]"
        if port != default_port:
            host_header = f"{host_header}:{port}"
        fixed = {"Host": host_header, **(default_headers or {})}
        self._fixed = "".join(f"{k}: {v}\r\n" for k, v in fixed.items())
        self._idle: list[_Conn] = []
        self._open = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._closed = False

    # -- connections --------------------------------------------------------------------------------
    async def _open_to(self, address: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection(
            address,
            self.port,
            ssl=self._ssl,
            server_hostname=self.host if self._ssl is not None else None,
            limit=_LINE_LIMIT,
        )

    async def _connect(self) -> _Conn:
        try:
            async with asyncio.timeout(self._connect_timeout):
                *others, last = await allowed_addresses_async(self.host, self.port)
                for address in others:  # the resolver's order; the last one's failure is raised
                    try:
                        reader, writer = await self._open_to(address)
                        return _Conn(reader, writer)
                    except ssl.SSLError:
                        raise  # the certificate: the same at every address
                    except OSError:
                        continue  # refused, unreachable: the next address
                reader, writer = await self._open_to(last)
        except TimeoutError as exc:
            raise httpx.ConnectTimeout(f"connecting to {self.host}:{self.port} timed out") from exc
        except OSError as exc:  # refused, DNS, TLS verification (ssl.SSLError is an OSError)
            raise httpx.ConnectError(f"{type(exc).__name__}: {exc}") from exc
        return _Conn(reader, writer)

    async def _checkout(self) -> tuple[_Conn, bool]:
        """A connection (``True`` when it is a kept-alive one); waits while the pool is full."""
        while True:
            while self._idle:
                conn = self._idle.pop()
                if conn.usable(self._expiry):
                    return conn, True
                self._discard(conn)
            if self._open < self._max:
                self._open += 1
                try:
                    return await self._connect(), False
                except BaseException:
                    self._open -= 1
                    self._wake()
                    raise
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            except BaseException:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
                elif waiter.done() and not waiter.cancelled():
                    self._wake()  # pass the wake-up on
                raise

    def _wake(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def _discard(self, conn: _Conn) -> None:
        conn.close()
        self._open -= 1
        self._wake()

    def _checkin(self, conn: _Conn) -> None:
        if self._closed:
            self._discard(conn)
            return
        conn.idle_since = time.monotonic()
        self._idle.append(conn)
        self._wake()

    def _keep_session(self, conn: _Conn) -> None:
        """After a new connection's first answer (TLS 1.3 session tickets arrive after the
        handshake), keep its session for the next connection to resume."""
        obj = conn.writer.get_extra_info("ssl_object")
        session = getattr(obj, "session", None)
        if session is not None and session.has_ticket:
            self._sessions[self.host] = session

    async def aclose(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        for conn in idle:
            self._discard(conn)
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)

    # -- requests -----------------------------------------------------------------------------------
    async def request(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes | None
    ) -> WireResponse:
        """Send one request (``target``: the encoded path and query) and read the whole answer."""
        if self._closed:
            raise httpx.ConnectError("the connection pool is closed")
        head = [f"{method} {target} HTTP/1.1\r\n", self._fixed]
        for key, value in headers.items():
            if "\r" in value or "\n" in value or "\r" in key or "\n" in key:
                raise httpx.LocalProtocolError(f"invalid header {key!r}")
            head.append(f"{key}: {value}\r\n")
        if body is not None or method in ("POST", "PUT", "PATCH"):
            head.append(f"Content-Length: {len(body or b'')}\r\n")
        head.append("\r\n")
        data = "".join(head).encode("latin-1")
        if body:
            data += body
        for _ in range(2):
            conn, reused = await self._checkout()
            try:
                response, keep = await self._exchange(conn, method, data, reused)
            except _Stale:
                self._discard(conn)
                continue  # the server had closed the kept-alive connection: once more, afresh
            except BaseException:
                self._discard(conn)
                raise
            if not reused and self._ssl is not None:
                self._keep_session(conn)
            if keep:
                self._checkin(conn)
            else:
                self._discard(conn)
            return response
        raise httpx.RemoteProtocolError("the server closed every connection before answering")

    async def _exchange(
        self, conn: _Conn, method: str, data: bytes, reused: bool
    ) -> tuple[WireResponse, bool]:
        reader, writer = conn.reader, conn.writer
        try:
            writer.write(data)
        except (ConnectionError, RuntimeError) as exc:
            if reused:
                raise _Stale from exc
            raise httpx.WriteError(f"{type(exc).__name__}: {exc}") from exc
        try:
            async with asyncio.timeout(self._read_timeout):
                try:
                    line = await reader.readuntil(b"\r\n")
                except asyncio.IncompleteReadError as exc:
                    if reused and not exc.partial:
                        raise _Stale from exc
                    raise httpx.RemoteProtocolError(
                        "Server disconnected without sending a response."
                    ) from exc
                except ConnectionResetError as exc:
                    if reused:
                        raise _Stale from exc
                    raise
                return await self._read_rest(reader, method, line)
        except TimeoutError as exc:
            raise httpx.ReadTimeout("the service did not answer in time (read timed out)") from exc
        except asyncio.IncompleteReadError as exc:
            raise httpx.RemoteProtocolError(
                "Server disconnected while sending the response (peer closed connection)"
            ) from exc
        except asyncio.LimitOverrunError as exc:
            raise httpx.RemoteProtocolError("the response head is too long") from exc
        except ssl.SSLError as exc:
            raise httpx.ReadError(f"TLS error: {exc}") from exc
        except OSError as exc:  # connection reset and the like
            raise httpx.ReadError(f"{type(exc).__name__}: {exc}") from exc

    async def _read_rest(
        self, reader: asyncio.StreamReader, method: str, status_line: bytes
    ) -> tuple[WireResponse, bool]:
        parts = status_line.split(None, 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
            raise httpx.RemoteProtocolError(f"malformed status line {status_line[:80]!r}")
        version, status = parts[0], int(parts[1])
        headers: dict[str, str] = {}
        while True:
            raw = await reader.readuntil(b"\r\n")
            if raw == b"\r\n":
                break
            name, sep, value = raw.partition(b":")
            if not sep:
                raise httpx.RemoteProtocolError(f"malformed header line {raw[:80]!r}")
            key = name.strip().lower().decode("latin-1")
            text = value.strip().decode("latin-1")
            headers[key] = f"{headers[key]}, {text}" if key in headers else text
        if 100 <= status < 200:  # an interim answer (100 Continue): the real one follows
            line = await reader.readuntil(b"\r\n")
            return await self._read_rest(reader, method, line)
        connection = headers.get("connection", "").lower()
        keep = "close" not in connection and (version != b"HTTP/1.0" or "keep-alive" in connection)
        if method == "HEAD" or status in _NO_BODY:
            content = b""
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            content = await _read_chunked(reader)
        elif "content-length" in headers:
            try:
                length = int(headers["content-length"].split(",")[0])
            except ValueError as exc:
                raise httpx.RemoteProtocolError("malformed Content-Length") from exc
            content = await reader.readexactly(length) if length else b""
        else:
            content = await reader.read()  # until the server closes
            keep = False
        encoding = headers.get("content-encoding", "").lower().strip()
        if encoding in ("gzip", "deflate") and content:
            try:
                content = zlib.decompress(
                    content, 16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS
                )
            except zlib.error:
                try:
                    content = zlib.decompress(content, -zlib.MAX_WBITS)
                except zlib.error as exc:
                    raise httpx.DecodingError(f"cannot decode the {encoding} body") from exc
        return WireResponse(status, headers, content), keep


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    out = bytearray()
    while True:
        size_line = await reader.readuntil(b"\r\n")
        try:
            size = int(size_line.split(b";", 1)[0].strip(), 16)
        except ValueError as exc:
            raise httpx.RemoteProtocolError("malformed chunk size") from exc
        if size == 0:
            while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailers
                pass
            return bytes(out)
        out += await reader.readexactly(size)
        if await reader.readexactly(2) != b"\r\n":
            raise httpx.RemoteProtocolError("malformed chunk")
