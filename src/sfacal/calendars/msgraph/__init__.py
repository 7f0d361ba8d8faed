"""Microsoft 365 calendars through Microsoft Graph (MSAL for tokens, httpx for Graph).

Typical use::

    settings = GraphSettings(client_id=..., token_endpoint=..., auth_method=AuthMethod.SECRET,
                             client_secret=..., domain=...)
    async with MicrosoftGraphCalendar.from_settings(settings) as cal:
        outcomes = await cal.apply("user@example.com", writes)

    with BlockingGraphCalendar(settings) as cal:          # from synchronous code
        result = cal.check_mailbox("user@example.com", "営業")

See ``docs/msgraph.md`` for authentication, the tag, transaction ids, concurrency, batching,
backoff and the error -> hint mapping.
"""

from .auth import AccessToken, GraphAuth
from .blocking import BlockingGraphCalendar, check_connection, check_mailbox
from .credentials import PfxCertificate, Thumbprint, load_pfx, parse_thumbprint
from .payload import TAG_GUID, TAG_NAME, TAG_PROPERTY_ID, event_body, parse_event
from .service import REQUIRED_ROLES, MicrosoftGraphCalendar
from .settings import (
    DEFAULT_GRAPH_BASE_URL,
    AuthMethod,
    GraphSettings,
    TokenEndpoint,
    parse_token_endpoint,
)
from .throttle import MailboxSlots, backoff_delay, mailbox_slots

__all__ = [
    "DEFAULT_GRAPH_BASE_URL",
    "REQUIRED_ROLES",
    "TAG_GUID",
    "TAG_NAME",
    "TAG_PROPERTY_ID",
    "AccessToken",
    "AuthMethod",
    "BlockingGraphCalendar",
    "GraphAuth",
    "GraphSettings",
    "MailboxSlots",
    "MicrosoftGraphCalendar",
    "PfxCertificate",
    "Thumbprint",
    "TokenEndpoint",
    "backoff_delay",
    "check_connection",
    "check_mailbox",
    "event_body",
    "load_pfx",
    "mailbox_slots",
    "parse_event",
    "parse_thumbprint",
    "parse_token_endpoint",
]
