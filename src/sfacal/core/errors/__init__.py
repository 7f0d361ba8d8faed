"""The error taxonomy of sfacal, documented in one place.

Every failure the product reports is one of these types. Each carries:

* ``code`` -- a stable string stored in the log (``ERROR_TYPES[code]`` gives the class back, so a
  stored log line can re-hydrate its message and hint in any language);
* ``retryable`` -- ``True`` when the same operation may succeed later without anybody changing a
  setting (the engine retries it with backoff); ``False`` when a person must act;
* ``detail`` -- an internal detail for operators (upstream error text, request ids), with secret
  values removed (see :func:`redact`);
* ``params`` -- non-secret strings shown to the user (a mailbox, a calendar name, a field);
* ``user_message(lang)`` and ``hint(lang)`` -- what happened and what to check, where (``"ja"``
  default, ``"en"``).

The tree (``*`` = ``retryable``)::

    SfacalError                          unexpected_error
    ├── ConfigurationError               configuration_error     (an administrator must fix a setting)
    │   ├── CredentialError              credential_error
    │   │   ├── AppNotFoundError         app_not_found           AADSTS700016 / AADSTS70001
    │   │   ├── InvalidSignatureError    invalid_signature       AADSTS700027 / AADSTS50012
    │   │   ├── PfxUnreadableError       pfx_unreadable          wrong .pfx format or password
    │   │   ├── ThumbprintMismatchError  thumbprint_mismatch     AADSTS50064 / local check
    │   │   ├── TenantNotFoundError      tenant_not_found        AADSTS90002 / AADSTS900023
    │   │   ├── SecretInvalidError       secret_invalid          AADSTS7000215
    │   │   ├── SecretExpiredError       secret_expired          AADSTS7000222
    │   │   ├── ClockSkewError           clock_skew              AADSTS700024 (server clock / NTP)
    │   │   ├── CertificateExpiredError  certificate_expired     certificate past its end date
    │   │   ├── GoogleKeyInvalidError    google_key_invalid      service account key unreadable / revoked
    │   │   └── GoogleDelegationMissingError google_delegation_missing  unauthorized_client / scopes not granted
    │   ├── AccessDeniedError            access_denied           403 ErrorAccessDenied
    │   ├── GoogleApiDisabledError       google_api_disabled     403 accessNotConfigured
    │   ├── MailboxError                 mailbox_error
    │   │   ├── MailboxNotFoundError     mailbox_not_found       ErrorInvalidUser / ErrorNonExistentMailbox
    │   │   ├── MailboxNotRestEnabledError mailbox_not_rest_enabled  MailboxNotEnabledForRESTAPI
    │   │   ├── GoogleUserNotFoundError  google_user_not_found   invalid_grant "Invalid email or User ID"
    │   │   ├── CalendarNotFoundError    calendar_not_found      calendar name not in the mailbox
    │   │   └── CalendarReadOnlyError    calendar_read_only      the calendar's canEdit is false
    │   ├── UnknownParticipantError      unknown_participant     no employee has the participant's login ID
    │   ├── MailboxUnresolvedError       mailbox_unresolved      no user ID and no domain (E2)
    │   ├── AppNotConfiguredError        app_not_configured      a required C6 setting is empty
    │   ├── CalendarServiceUnavailableError calendar_service_unavailable  the chosen service is not installed
    │   ├── AddressNotAllowedError       address_not_allowed     an entered URL leads to a private address (SSRF)
    │   ├── SourceAuthError (+SourceError)        source_auth_failed      SFA API key rejected
    │   ├── SourceIdentifierError (+SourceError)  source_identifier_invalid  table/panel/field/filter wrong
    │   └── SourceTenantNotFoundError (+SourceError) source_tenant_not_found
    ├── SourceError                      source_error            (any SFA-side failure)
    │   ├── SourceRateLimitedError* (+ThrottledError) source_rate_limited  request budget exhausted
    │   └── CallbackError                callback_error          push write-back callback (T1)
    │       ├── CallbackNotConfiguredError (+ConfigurationError)  callback_not_configured
    │       ├── CallbackRejectedError (+ConfigurationError)       callback_rejected    other 3xx/4xx
    │       │   └── CallbackUnauthorizedError                     callback_unauthorized  401 / 403
    │       ├── CallbackUnreachableError* (+NetworkError)         callback_unreachable
    │       ├── CallbackUnavailableError* (+ServiceUnavailableError)  callback_unavailable  5xx/408/425
    │       └── CallbackRateLimitedError* (+ThrottledError)       callback_rate_limited  429
    ├── DeliveryRefusedError             delivery_refused        a delivery the JUST.SFA webhook refused
    │   ├── DeliveryUnauthorizedError (+ConfigurationError)  unauthorized    secret request header wrong
    │   ├── DeliveryTooLargeError        body_too_large
    │   ├── DeliveryInvalidJsonError     invalid_json
    │   ├── DeliveryInvalidBodyError     invalid_body            not a JSON object
    │   ├── DeliveryUnknownTypeError     unknown_type            not ADD/UPDATE/DELETE_RECORD or a test
    │   └── DeliverySettingsIncompleteError (+ConfigurationError)  settings_incomplete
    ├── InputError (also ValueError)     input_invalid           bad input; names the field
    ├── TransientError*                  transient_error
    │   ├── NetworkError*                network_error           could not connect (kind unknown)
    │   │   ├── NetworkDnsError*         network_dns             name not resolved
    │   │   ├── NetworkTlsError*         network_tls             certificate not trusted (proxy / inspection)
    │   │   ├── NetworkRefusedError*     network_refused         port 443 refused (firewall / proxy)
    │   │   ├── NetworkTimeoutError*     network_timeout         no answer in time
    │   │   └── NetworkResetError*       network_reset           connection cut
    │   ├── ThrottledError*              throttled               429, carries retry_after
    │   │   └── GoogleThrottledError*    google_throttled        403/429 rateLimitExceeded (Google)
    │   ├── ServiceUnavailableError*     service_unavailable     500/502/503/504
    │   └── ResyncRequiredError*         resync_required         delta token expired (410)
    │   (CalDAV: CalDavAuthError (+CredentialError) caldav_auth_failed 401;
    │    CalDavForbiddenError (+ConfigurationError) caldav_forbidden 403;
    │    CalDavNotConfiguredError (+ConfigurationError) caldav_not_configured no server URL)
    ├── ConflictError*                   conflict                412 stale change key: re-read, retry
    └── NotFoundError                    not_found               the item is gone (404)

``NetworkError(detail, kind=...)`` with a kind of :data:`NETWORK_KINDS` (``dns``, ``tls``, ``refused``,
``timeout``, ``reset``) gives that kind's subclass, so every connector that names the kind gets the
kind's hint; :func:`sfacal.core.classify.classify_network_error` finds the kind in an exception's text.

The classes are defined by family -- :mod:`.base` (``SfacalError``, ``ConflictError``,
``NotFoundError``, redaction, log parameters), :mod:`.configuration`, :mod:`.sources`,
:mod:`.input`, :mod:`.transient`, :mod:`.google`, :mod:`.services` -- and imported from here (``from sfacal.core.errors import …``).

Ahead-of-time warnings (not exceptions) live in :mod:`sfacal.core.expiry`
(``ExpiringCredentialWarning``, code ``credential_expiring_soon``).
"""

from __future__ import annotations

from collections.abc import Mapping

from .base import (
    LANGS,
    LOG_PARAM_MAX,
    REDACTED,
    ConflictError,
    NotFoundError,
    SfacalError,
    log_params,
    normalize_lang,
    redact,
)
from .caldav import CalDavAuthError, CalDavForbiddenError, CalDavNotConfiguredError
from .configuration import (
    AccessDeniedError,
    AddressNotAllowedError,
    AppNotConfiguredError,
    AppNotFoundError,
    CalendarNotFoundError,
    CalendarReadOnlyError,
    CertificateExpiredError,
    ClockSkewError,
    ConfigurationError,
    CredentialError,
    InvalidSignatureError,
    MailboxError,
    MailboxNotFoundError,
    MailboxNotRestEnabledError,
    MailboxUnresolvedError,
    PfxUnreadableError,
    SecretExpiredError,
    SecretInvalidError,
    TenantNotFoundError,
    ThumbprintMismatchError,
    UnknownParticipantError,
)
from .deliveries import (
    DeliveryInvalidBodyError,
    DeliveryInvalidJsonError,
    DeliveryRefusedError,
    DeliverySettingsIncompleteError,
    DeliveryTooLargeError,
    DeliveryUnauthorizedError,
    DeliveryUnknownTypeError,
)
from .google import (
    GoogleApiDisabledError,
    GoogleDelegationMissingError,
    GoogleKeyInvalidError,
    GoogleThrottledError,
    GoogleUserNotFoundError,
)
from .input import (
    InputError,
)
from .services import CalendarServiceUnavailableError
from .sources import (
    CallbackError,
    CallbackNotConfiguredError,
    CallbackRateLimitedError,
    CallbackRejectedError,
    CallbackUnauthorizedError,
    CallbackUnavailableError,
    CallbackUnreachableError,
    SourceAuthError,
    SourceError,
    SourceIdentifierError,
    SourceRateLimitedError,
    SourceTenantNotFoundError,
    WriteBackUnprovenError,
    WriteBackUnsupportedError,
)
from .transient import (
    NETWORK_KINDS,
    NetworkDnsError,
    NetworkError,
    NetworkRefusedError,
    NetworkResetError,
    NetworkTimeoutError,
    NetworkTlsError,
    ResyncRequiredError,
    ServiceUnavailableError,
    ThrottledError,
    TransientError,
)

__all__ = [
    "ERROR_TYPES",
    "LANGS",
    "LOG_PARAM_MAX",
    "NETWORK_KINDS",
    "REDACTED",
    "AccessDeniedError",
    "AddressNotAllowedError",
    "AppNotConfiguredError",
    "AppNotFoundError",
    "CalDavAuthError",
    "CalDavForbiddenError",
    "CalDavNotConfiguredError",
    "CalendarNotFoundError",
    "CalendarReadOnlyError",
    "CalendarServiceUnavailableError",
    "CallbackError",
    "CallbackNotConfiguredError",
    "CallbackRateLimitedError",
    "CallbackRejectedError",
    "CallbackUnauthorizedError",
    "CallbackUnavailableError",
    "CallbackUnreachableError",
    "CertificateExpiredError",
    "ClockSkewError",
    "ConfigurationError",
    "ConflictError",
    "CredentialError",
    "DeliveryInvalidBodyError",
    "DeliveryInvalidJsonError",
    "DeliveryRefusedError",
    "DeliverySettingsIncompleteError",
    "DeliveryTooLargeError",
    "DeliveryUnauthorizedError",
    "DeliveryUnknownTypeError",
    "GoogleApiDisabledError",
    "GoogleDelegationMissingError",
    "GoogleKeyInvalidError",
    "GoogleThrottledError",
    "GoogleUserNotFoundError",
    "InputError",
    "InvalidSignatureError",
    "MailboxError",
    "MailboxNotFoundError",
    "MailboxNotRestEnabledError",
    "MailboxUnresolvedError",
    "NetworkDnsError",
    "NetworkError",
    "NetworkRefusedError",
    "NetworkResetError",
    "NetworkTimeoutError",
    "NetworkTlsError",
    "NotFoundError",
    "PfxUnreadableError",
    "ResyncRequiredError",
    "SecretExpiredError",
    "SecretInvalidError",
    "ServiceUnavailableError",
    "SfacalError",
    "SourceAuthError",
    "SourceError",
    "SourceIdentifierError",
    "SourceRateLimitedError",
    "SourceTenantNotFoundError",
    "TenantNotFoundError",
    "ThrottledError",
    "ThumbprintMismatchError",
    "TransientError",
    "UnknownParticipantError",
    "WriteBackUnprovenError",
    "WriteBackUnsupportedError",
    "error_from_code",
    "log_params",
    "normalize_lang",
    "redact",
]


def _all_subclasses(cls: type[SfacalError]) -> list[type[SfacalError]]:
    out: list[type[SfacalError]] = [cls]
    for sub in cls.__subclasses__():
        for found in _all_subclasses(sub):
            if found not in out:
                out.append(found)
    return out


ERROR_TYPES: dict[str, type[SfacalError]] = {cls.code: cls for cls in _all_subclasses(SfacalError)}
"""Every error class by its stable ``code``."""


def error_from_code(code: str, params: Mapping[str, str] | None = None, detail: str = "") -> SfacalError:
    """Re-hydrate an error stored in the log; an unknown code gives the generic error."""
    cls = ERROR_TYPES.get(code, SfacalError)
    return cls.from_params(params or {}, detail)
