"""The write-back test: prove that JUST.SFA takes our updates before two-way is allowed (T1).

No public source documents JUST.SFA's update request: the only public example (``PUT …/records/``
with ``{"records": [{"recordId": N, "record": {...}}]}``) is marked unverified by its author, and
the ``recordKey`` form appears in no public code. So a JUST.SFA connection writes nothing back
until this test has passed with its current tenant, table and update form
(:meth:`~.settings.JustSfaSettings.writeback_proven`).

Guarantees of :func:`run_writeback_test` (each step is reported with exactly what JUST.SFA
answered: status and body text):

1. it touches one record, the one the administrator names (by ``recordId``, or by the record key
   value in the ``recordKey`` form), and only its content field (内容);
2. it reads the record first; a record that cannot be read exactly once is not written;
3. it writes the content with a marker appended, in the configured update form, and reads it
   back: the test passes only if the marker is there;
4. it always tries to restore the original content, and reads it back: a restore that fails is a
   failed test whose report holds the original content, so the administrator can put it back;
5. a 2xx answer without a body (e.g. 204) is success, like a 200 with ``{"recordIds": [...]}``.

:func:`record_writeback_test` stores the outcome in ``SourceConnection.config["writeback_test"]``
(with the settings fingerprint it proves).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sfacal.core.errors import InputError, SfacalError
from sfacal.core.text import clean_text

from .client import RecordItem, RecordsClient
from .parse import raw_field_text
from .settings import JustSfaSettings
from .source import address_item

__all__ = ["WritebackReport", "record_writeback_test", "run_writeback_test"]

MARKER = " [sfacal write-back test {at}]"


@dataclass
class WritebackReport:
    """The outcome, step by step (``steps``: ``{"step", "request", "status", "answer", "ok"}``)."""

    ok: bool = False
    form: str = ""
    record: str = ""
    steps: list[dict[str, Any]] = field(default_factory=list)
    original: str = ""
    message_ja: str = ""
    message_en: str = ""

    def message(self, lang: str = "ja") -> str:
        return self.message_ja if lang == "ja" else self.message_en

    def as_dict(self, fingerprint: str) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "form": self.form,
            "record": self.record,
            "fingerprint": fingerprint,
            "steps": self.steps,
            "original": self.original if not self.ok else "",
            "message_ja": self.message_ja,
            "message_en": self.message_en,
        }


def _same(a: str, b: str) -> bool:
    return a.replace("\r\n", "\n").strip() == b.replace("\r\n", "\n").strip()


class _Steps:
    def __init__(self, client: RecordsClient, report: WritebackReport) -> None:
        self.client = client
        self.report = report

    def add(self, step: str, request: str, *, ok: bool, error: SfacalError | None = None) -> None:
        status, answer = self.client.last_exchange
        if error is not None and not status:
            answer = error.detail
        self.report.steps.append(
            {
                "step": step,
                "request": request,
                "status": status,
                "answer": clean_text(answer)[:2000],
                "ok": ok,
            }
        )


def _read(
    settings: JustSfaSettings, client: RecordsClient, record: str, steps: _Steps, step: str
) -> RecordItem | None:
    if settings.writeback_form == "recordKey":
        request = f"GET …/records/?_{settings.key_field}={record}"
        call: Any = lambda: client.list_records(limit=2, params={f"_{settings.key_field}": record})  # noqa: E731
    else:
        request = f"GET …/records/{record}"
        call = lambda: client.get_record(record)  # noqa: E731
    try:
        items = call()
    except SfacalError as exc:
        steps.add(step, request, ok=False, error=exc)
        return None
    ok = len(items) == 1
    steps.add(step, request, ok=ok)
    return items[0] if ok else None


def _write(
    settings: JustSfaSettings, client: RecordsClient, record: str, content: str, steps: _Steps, step: str
) -> bool:
    item = {
        **address_item(settings, record, record),
        "record": {settings.content_field: content},
    }
    request = f'PUT …/records/ {{"records": [{_shown(item)}]}}'
    try:
        client.update_records([item])
    except SfacalError as exc:
        steps.add(step, request, ok=False, error=exc)
        return False
    steps.add(step, request, ok=True)
    return True


def _shown(item: Mapping[str, Any]) -> str:
    import json

    return json.dumps(item, ensure_ascii=False)[:500]


def run_writeback_test(settings: JustSfaSettings, record: str, client: RecordsClient) -> WritebackReport:
    """Run the test on ``record`` (a ``recordId``, or the record key value in the ``recordKey``
    form); see the module doc."""
    record = (record or "").strip()
    report = WritebackReport(form=settings.writeback_form, record=record)
    if not record:
        raise InputError(
            "writeback_record",
            "name a record to test with",
            reason_ja="テストに使うレコードを指定してください",
        )
    steps = _Steps(client, report)
    first = _read(settings, client, record, steps, "read")
    if first is None:
        report.message_ja = "レコードを読めませんでした（1件だけ見つかる必要があります）。指定したレコードと書き戻しのレコード指定方法を確認してください。何も書き込んでいません。"
        report.message_en = "The record could not be read (exactly one must be found). Check the record and the update form. Nothing was written."
        return report
    original = raw_field_text(first.record, settings.content_field)
    report.original = original
    marked = original + MARKER.format(at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%MZ"))
    written = _write(settings, client, record, marked, steps, "write")
    seen = _read(settings, client, record, steps, "read_back") if written else None
    took = seen is not None and _same(raw_field_text(seen.record, settings.content_field), marked)
    if written and seen is not None and not took:
        steps.report.steps[-1]["ok"] = False
    restored = _write(settings, client, record, original, steps, "restore") if written else True
    check = _read(settings, client, record, steps, "read_restored") if written and restored else None
    back = not written or (
        check is not None and _same(raw_field_text(check.record, settings.content_field), original)
    )
    if written and check is not None and not back:
        steps.report.steps[-1]["ok"] = False
    report.ok = bool(written and took and back)
    if report.ok:
        report.message_ja = f"書き戻しを確認しました（{settings.writeback_form} 形式、内容フィールドを書き換えて元に戻しました）。双方向連携を有効にできます。"
        report.message_en = f"Write-back proven ({settings.writeback_form} form: the content field was changed and restored). Two-way sync can be turned on."
    elif not back:
        report.message_ja = (
            "内容フィールドを元に戻せませんでした。下の「元の内容」を JUST.SFA で貼り付けて戻してください。"
        )
        report.message_en = "The content field could not be restored. Paste the original content shown below back in JUST.SFA."
    elif not written:
        report.message_ja = "JUST.SFA が更新を受け付けませんでした（下の応答を確認してください）。別のレコード指定方法を試してください。"
        report.message_en = "JUST.SFA refused the update (see its answer below). Try the other update form."
    else:
        report.message_ja = "JUST.SFA は更新に成功を返しましたが、読み直した内容に反映されていませんでした。別のレコード指定方法を試してください。"
        report.message_en = "JUST.SFA answered success, but the change was not there when read back. Try the other update form."
    return report


def record_writeback_test(
    connection: Any, record: str, *, client: RecordsClient | None = None
) -> WritebackReport:
    """Run the test for a stored ``SourceConnection`` and keep the outcome in its config."""
    settings = JustSfaSettings.from_connection(connection)
    own = client is None
    api = client if client is not None else RecordsClient(settings, max_wait=20.0)
    try:
        report = run_writeback_test(settings, record, api)
    finally:
        if own:
            api.close()
    config = dict(connection.config or {})
    config["writeback_test"] = report.as_dict(settings.writeback_fingerprint())
    connection.config = config
    connection.save(update_fields=["config"])
    return report
