"""Secrets typed into a settings form whose connection test failed, held for the next submission.

When new credentials fail their connection test, nothing is saved and the page is shown again
with what the administrator typed -- except secrets, which are never written back into a page.
So that "Save without testing" (or another test after correcting some other field) does not
make them type the secret or choose the ``.pfx`` file again, the refused submission's secrets
are held here, and the page carries only a random token that names them.

Guarantees (each has a test):

* Values are held server-side in the user's session, each encrypted with the keys of the stored
  secrets (:mod:`sfacal.directory.crypto`); neither the page nor the session cookie holds them.
* One holding per form and session; holding again replaces it. :func:`held` hands the values
  out only for the token the page was given, the same company, and for :data:`HOLD_FOR` after
  they were held; otherwise it drops them and answers ``{}``.
* :func:`release` drops them: the settings were saved, or the page was opened afresh.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from django.http import HttpRequest
from django.utils import timezone

from sfacal.directory import crypto

__all__ = ["HOLD_FOR", "held", "hold", "release"]

HOLD_FOR = timedelta(minutes=30)
_SESSION_KEY = "sfacal.held_secrets"

Secret = str | bytes


def _store(request: HttpRequest) -> dict[str, Any]:
    found = request.session.get(_SESSION_KEY)
    return dict(found) if isinstance(found, dict) else {}


def hold(request: HttpRequest, form: str, company_id: int, values: Mapping[str, Secret | None]) -> str:
    """Hold the non-empty ``values`` for ``form``; returns the token for the page ("" if none)."""
    kept = {name: value for name, value in values.items() if value}
    if not kept:
        release(request, form)
        return ""
    token = secrets.token_urlsafe(18)
    store = _store(request)
    store[form] = {
        "token": token,
        "company": company_id,
        "until": (timezone.now() + HOLD_FOR).timestamp(),
        "values": {
            name: ["bytes", crypto.encrypt_bytes(value)]
            if isinstance(value, bytes)
            else ["text", crypto.encrypt_text(value)]
            for name, value in kept.items()
        },
    }
    request.session[_SESSION_KEY] = store
    return token


def held(request: HttpRequest, form: str, company_id: int, token: str) -> dict[str, Secret]:
    """The values held for ``form`` under ``token`` (decrypted), or ``{}``."""
    entry = _store(request).get(form)
    if not token or not isinstance(entry, dict):
        return {}
    valid = (
        hmac.compare_digest(str(entry.get("token", "")), token)
        and entry.get("company") == company_id
        and float(entry.get("until", 0)) > timezone.now().timestamp()
    )
    if not valid:
        release(request, form)
        return {}
    values: dict[str, Secret] = {}
    try:
        for name, (kind, sealed) in entry["values"].items():
            values[name] = crypto.decrypt_bytes(sealed) if kind == "bytes" else crypto.decrypt_text(sealed)
    except (crypto.SecretDecryptionError, KeyError, TypeError, ValueError):
        release(request, form)
        return {}
    return values


def release(request: HttpRequest, form: str) -> None:
    """Drop what is held for ``form`` (nothing happens when nothing is)."""
    store = _store(request)
    if form in store:
        del store[form]
        request.session[_SESSION_KEY] = store
