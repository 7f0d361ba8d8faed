"""The push connection as a :class:`~sfacal.sources.base.Source`.

Changes arrive through the API (nothing to poll). Write-back (T1) goes to the connection's callback
URL (:mod:`.writeback`); "Save and test" sends a signed ``ping`` to it.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import httpx

from sfacal.core.errors import CallbackNotConfiguredError
from sfacal.core.schedule import Schedule
from sfacal.core.twoway import ScheduleEdit, apply_edit
from sfacal.directory.connections.models import SourceConnection
from sfacal.sources.base import CheckResult
from sfacal.sources.push.writeback import (
    callback_client,
    callback_error,
    deliver_write_back,
    payload_from_edit,
    post_signed,
)

PING_EVENT = "ping"


class PushSource:
    """One push connection (``SourceConnection.kind == "push"``)."""

    kind = "push"
    supports_poll = False

    def __init__(
        self,
        connection: SourceConnection,
        *,
        client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_attempts: int = 5,
    ) -> None:
        self.connection = connection
        self.client = client
        self.sleep = sleep
        self.max_attempts = max_attempts

    @property
    def supports_write_back(self) -> bool:
        return bool(self.connection.callback_url)

    def check_connection(self) -> CheckResult:
        """Send a signed ``ping`` to the callback URL (when one is configured)."""
        if not self.connection.callback_url:
            return CheckResult(
                ok=True,
                details={"callback_url": ""},
                summary_ja="プッシュ API は利用できます（書き戻し先 URL は未設定です）。",
                summary_en="The push API is ready (no write-back callback URL is set).",
            )
        body = json.dumps(
            {"type": PING_EVENT, "occurred_at": datetime.now(UTC).isoformat()}, separators=(",", ":")
        ).encode()
        own = self.client is None
        client = self.client or callback_client()
        try:
            attempt = post_signed(client, self.connection, body, uuid.uuid4().hex, PING_EVENT)
        finally:
            if own:
                client.close()
        if attempt.ok:
            return CheckResult(
                ok=True,
                details={"callback_url": self.connection.callback_url, "status": attempt.status_code},
                summary_ja="書き戻し先 URL に接続できました。",
                summary_en="The write-back callback URL answered.",
            )
        return CheckResult.failure([callback_error(attempt, self.connection.callback_url)])

    def write_back(
        self,
        schedule: Schedule,
        edit: ScheduleEdit,
        *,
        event_id: str = "",
        mailbox: str = "",
        login_id: str = "",
    ) -> None:
        """T1: deliver ``edit`` of ``schedule`` (as stored) to the callback URL, with retries.

        Raises the :class:`~sfacal.core.errors.CallbackError` of the last attempt when it was not
        delivered (retryable ones are also :class:`~sfacal.core.errors.TransientError`), or
        :class:`~sfacal.core.errors.AddressNotAllowedError` when the URL leads to a refused address.
        """
        if not self.connection.callback_url:
            raise CallbackNotConfiguredError(
                "no write-back callback URL is configured for the push connection"
            )
        payload = payload_from_edit(
            apply_edit(schedule, edit), edit, event_id=event_id, mailbox=mailbox, login_id=login_id
        )
        result = deliver_write_back(
            self.connection, payload, client=self.client, sleep=self.sleep, max_attempts=self.max_attempts
        )
        if not result.delivered:
            raise callback_error(result.attempts[-1], self.connection.callback_url)

    def poll(self) -> int:
        """Nothing to poll: push sources are only pushed to."""
        return 0
