"""Google Calendar (Google Workspace) through the Calendar API v3: a service account with
domain-wide delegation impersonates each employee (``google-auth`` signs the JWT-bearer
assertion), httpx carries the calls, batches and backoff.

Typical use::

    settings = GoogleSettings.from_key_text(key_json, domain="example.co.jp")
    async with GoogleCalendar.from_settings(settings) as cal:
        outcomes = await cal.apply("taro@example.co.jp", writes)

See ``docs/google-calendar.md`` for the setup, the tag, event ids, quotas and the error -> hint map.
"""

from .blocking import check_connection, check_mailbox
from .payload import MARK_PROPERTY, TAG_PROPERTY, TX_PROPERTY, event_body, event_id_for, parse_event
from .service import GoogleCalendar
from .settings import DEFAULT_API_BASE_URL, KEY_FIELD, SCOPES, GoogleSettings, ServiceAccountKey, parse_key

__all__ = [
    "DEFAULT_API_BASE_URL",
    "KEY_FIELD",
    "MARK_PROPERTY",
    "SCOPES",
    "TAG_PROPERTY",
    "TX_PROPERTY",
    "GoogleCalendar",
    "GoogleSettings",
    "ServiceAccountKey",
    "check_connection",
    "check_mailbox",
    "event_body",
    "event_id_for",
    "parse_event",
    "parse_key",
]
