"""Google's batch endpoint (``POST /batch/calendar/v3``, ``multipart/mixed``).

Each part is an ``application/http`` request (request line, headers, blank line, body); the outer
request's headers (``Authorization``) apply to every part that does not set its own. Each part is
answered by :meth:`~.api.CalendarApi.handle` exactly as if it had come alone (quota included, so
items of a batch can be throttled on their own), in a part whose ``Content-ID`` is
``response-`` + the request part's. More than 1000 parts is ``400``.
"""

from __future__ import annotations

import secrets
from http import HTTPStatus
from urllib.parse import parse_qsl, urlsplit

import orjson

from .api import ApiResponse, CalendarApi, google_error

__all__ = ["MAX_PARTS", "handle_batch"]

MAX_PARTS = 1000


def _parse_parts(content_type: str, body: bytes) -> list[tuple[str, bytes]]:
    """``(Content-ID, the part's body)`` of each part, split on the boundary (RFC 2046)."""
    if not content_type.lower().startswith("multipart/"):
        raise ValueError("not multipart")
    boundary = ""
    for piece in content_type.split(";")[1:]:
        name, _, value = piece.strip().partition("=")
        if name.lower() == "boundary":
            boundary = value.strip('"')
    if not boundary:
        raise ValueError("no boundary")
    parts = []
    for chunk in body.split(b"--" + boundary.encode())[1:]:
        if chunk.startswith(b"--"):
            break
        outer, _, inner = chunk.replace(b"\r\n", b"\n").strip(b"\n").partition(b"\n\n")
        cid = ""
        for line in outer.split(b"\n"):
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "content-id":
                cid = value.strip()
        parts.append((cid, inner))
    return parts


def _one(api: CalendarApi, raw: bytes, outer: dict[str, str]) -> ApiResponse:
    head, _, body = raw.replace(b"\r\n", b"\n").partition(b"\n\n")
    lines = head.decode("utf-8").split("\n")
    verb, target, *_ = lines[0].split(" ")
    headers = dict(outer)
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    url = urlsplit(target)
    query = parse_qsl(url.query, keep_blank_values=True)
    return api.handle(verb.upper(), url.path, query, headers, body.strip())


def handle_batch(api: CalendarApi, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body answering one batch request."""
    api.state.counters["batches"] += 1
    try:
        parts = _parse_parts(headers.get("content-type", ""), body)
    except (ValueError, UnicodeDecodeError):
        parts = []
    if not parts or len(parts) > MAX_PARTS:
        error = google_error(400, "badRequest", "Invalid batch request." if parts else "Empty batch request.")
        return 400, {"content-type": "application/json; charset=UTF-8"}, orjson.dumps(error.body)
    outer = {k: v for k, v in headers.items() if k in ("authorization",)}
    boundary = "batch_" + secrets.token_hex(12)
    out = bytearray()
    for content_id, raw in parts:
        try:
            response = _one(api, raw, outer)
        except (ValueError, IndexError):
            response = google_error(400, "badRequest", "Invalid batch part.")
        reason = HTTPStatus(response.status).phrase
        payload = orjson.dumps(response.body) if response.body is not None else b""
        out += f"--{boundary}\r\nContent-Type: application/http\r\n".encode()
        if content_id:
            cid = content_id.strip("<>")
            out += f"Content-ID: <response-{cid}>\r\n".encode()
        out += f"\r\nHTTP/1.1 {response.status} {reason}\r\n".encode()
        if payload:
            out += b"Content-Type: application/json; charset=UTF-8\r\n"
        out += f"Content-Length: {len(payload)}\r\n\r\n".encode() + payload + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return 200, {"content-type": f"multipart/mixed; boundary={boundary}"}, bytes(out)
