"""Links to the demo's emulated mailboxes (``sfacal serve --demo`` only).

* The demo (:func:`sfacal.demo.start_demo`) sets :data:`VIEWER_ENV`
  (:data:`sfacal.config.DEMO_MAILBOX_VIEWER_ENV`) to the Microsoft 365
  emulator's read-only mailbox viewer and removes it when it stops; it is read at each request,
  since the demo starts after the settings are loaded.
* Without it (every real installation) there is no link: :func:`mailbox_view_url` and
  :func:`mailboxes_view_url` give ``None`` and the screens show nothing.
* Only ``http(s)`` URLs are linked.
"""

from __future__ import annotations

import os
from urllib.parse import quote

from sfacal.config import DEMO_MAILBOX_VIEWER_ENV as VIEWER_ENV

__all__ = ["VIEWER_ENV", "mailbox_view_url", "mailboxes_view_url"]


def mailboxes_view_url() -> str | None:
    """The viewer's list of every emulated mailbox, in demo mode."""
    base = os.environ.get(VIEWER_ENV, "").strip().rstrip("/")
    if not base.startswith(("https://", "http://")):
        return None
    return base


def mailbox_view_url(mailbox: str | None) -> str | None:
    """One emulated mailbox's calendars and events, in demo mode."""
    base = mailboxes_view_url()
    if base is None or not mailbox:
        return None
    return f"{base}/{quote(mailbox, safe='@')}"
