"""A small typed adapter over MSAL's ``ConfidentialClientApplication`` (client credentials).

:class:`GraphAuth` checks everything it can locally when it is built -- the token endpoint's
form, the ``.pfx`` (format, password, RSA key, expiry) and the thumbprint -- so those mistakes get
their hint before any network call. :meth:`GraphAuth.acquire` then gets an app-only token for
Microsoft Graph; MSAL caches it and returns it from memory until shortly before it expires.

Certificate credentials stay in memory: MSAL gets the key and certificate as PEM strings (it signs
the client assertion PS256 with an ``x5t#S256`` header); no key file is written.

Every failure becomes a :mod:`sfacal.core.errors` type (see :func:`error_from_token_response`):
AADSTS codes in the token response, discovery failures (unknown tenant), and network failures
(DNS, TLS verification, refused connections, timeouts). Secrets never reach messages or logs.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msal
import requests

from sfacal.core.classify import classify_token_error
from sfacal.core.errors import (
    CredentialError,
    InputError,
    NetworkError,
    PfxUnreadableError,
    ServiceUnavailableError,
    SfacalError,
    TenantNotFoundError,
    redact,
)
from sfacal.core.expiry import CredentialKind, ExpiringCredentialWarning, credential_expiry_warning
from sfacal.net.requests_adapter import mount_guarded

from .credentials import PfxCertificate, load_pfx
from .settings import AuthMethod, GraphSettings, TokenEndpoint, parse_token_endpoint

__all__ = ["AccessToken", "GraphAuth", "error_from_token_response", "network_error_from"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, repr=False)
class AccessToken:
    """An app-only access token. ``expires_at`` is a Unix time; ``roles`` the granted app roles
    (empty when the token could not be read)."""

    token: str
    expires_at: float
    roles: frozenset[str] | None = None  # None: the token could not be read (not a JWT)
    source: str = ""
    lifetime_s: float = 3600.0

    def __repr__(self) -> str:
        roles = sorted(self.roles) if self.roles is not None else None
        return f"AccessToken(expires_at={self.expires_at:.0f}, roles={roles}, source={self.source!r})"

    def expires_within(self, seconds: float, now: float | None = None) -> bool:
        return self.expires_at - (time.time() if now is None else now) <= seconds


def _roles_of(token: str) -> frozenset[str] | None:
    """The ``roles`` claim of a JWT access token, read without verification (it is ours);
    ``None`` when the token is not a readable JWT."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError, TypeError):
        return None
    if not isinstance(claims, dict):
        return None
    roles = claims.get("roles", [])
    return frozenset(str(r) for r in roles) if isinstance(roles, list) else frozenset()


def error_from_token_response(
    result: Mapping[str, Any], secrets: tuple[str, ...] = (), http_status: int | None = None
) -> SfacalError:
    """The core error for an identity platform error response (``error``, ``error_codes``,
    ``error_description``): one table for every connector, in :mod:`sfacal.core.classify`."""
    return classify_token_error(http_status, result, secrets=secrets)


_DNS_MARKERS = (
    "nameresolutionerror",
    "name or service not known",
    "temporary failure in name resolution",
    "nodename nor servname",
    "getaddrinfo failed",
    "no address associated",
    "failed to resolve",
)
_TLS_MARKERS = ("certificate_verify_failed", "certificate verify failed", "ssl", "tls", "hostname mismatch")
_REFUSED_MARKERS = ("connection refused", "errno 111", "actively refused", "connectrefused")
_TIMEOUT_MARKERS = ("timed out", "timeout")
_RESET_MARKERS = (
    "connection reset",
    "errno 104",
    "remote end closed",
    "remoteprotocolerror",
    "server disconnected",
)


def _chain_text(exc: BaseException) -> str:
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen and len(parts) < 8:
        seen.add(id(current))
        parts.append(f"{type(current).__name__}: {current}")
        for arg in getattr(current, "args", ()):
            if isinstance(arg, BaseException):
                parts.append(f"{type(arg).__name__}: {arg}")
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException):
            parts.append(f"{type(reason).__name__}: {reason}")
        current = current.__cause__ or current.__context__
    return " | ".join(parts)


def network_error_from(exc: BaseException, host: str, secrets: tuple[str, ...] = ()) -> NetworkError:
    """A :class:`NetworkError` naming ``host`` and the kind of failure (dns, tls, refused,
    timeout, reset) found anywhere in the exception's chain."""
    text = _chain_text(exc)
    low = text.lower()
    if "certificate_verify_failed" in low or "certificate verify failed" in low:
        kind = "tls"
    elif any(m in low for m in _DNS_MARKERS):
        kind = "dns"
    elif any(m in low for m in _REFUSED_MARKERS):
        kind = "refused"
    elif any(m in low for m in _TIMEOUT_MARKERS):
        kind = "timeout"
    elif any(m in low for m in _RESET_MARKERS):
        kind = "reset"
    elif any(m in low for m in _TLS_MARKERS):
        kind = "tls"
    else:
        kind = "connect"
    err = NetworkError(f"{kind}: {text[:800]}", secrets=secrets, host=host, kind=kind)
    return err


class _Session(requests.Session):
    """A requests session for MSAL: a default timeout, and -- when the company configured a CA
    bundle -- that bundle even if ``REQUESTS_CA_BUNDLE`` is set in the environment (which would
    otherwise override ``Session.verify``). Proxy variables keep working. Every connection (token
    endpoint, its discovery, redirects) goes only to addresses the outbound address rule allows
    (:mod:`sfacal.net`): an endpoint on a private or local address raises
    :class:`~sfacal.core.errors.AddressNotAllowedError`."""

    def __init__(self, ca_bundle: str | None, timeout: tuple[float, float]) -> None:
        super().__init__()
        mount_guarded(self)
        self._ca_bundle = ca_bundle
        self._timeout = timeout
        self.last_status: int | None = None
        if ca_bundle:
            self.verify = ca_bundle

    def merge_environment_settings(
        self, url: str, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> dict[str, Any]:
        merged: dict[str, Any] = super().merge_environment_settings(url, proxies, stream, verify, cert)
        if self._ca_bundle and verify in (None, True):
            merged["verify"] = self._ca_bundle
        return merged

    def request(self, method: Any, url: Any, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("timeout", self._timeout)
        self.last_status = None
        response = super().request(method, url, *args, **kwargs)
        self.last_status = int(response.status_code)
        return response


class GraphAuth:
    """App-only tokens for Microsoft Graph for one company's credentials (thread-safe).

    Building it runs the local checks and raises :class:`~sfacal.core.errors.InputError`,
    :class:`~sfacal.core.errors.PfxUnreadableError`,
    :class:`~sfacal.core.errors.ThumbprintMismatchError` or
    :class:`~sfacal.core.errors.CertificateExpiredError` without touching the network.
    """

    def __init__(self, settings: GraphSettings) -> None:
        self.settings = settings
        if not settings.client_id:
            raise InputError(
                "client_id", "the client (application) ID is required", reason_ja="クライアントIDは必須です"
            )
        self.endpoint: TokenEndpoint = parse_token_endpoint(settings.token_endpoint)
        self.certificate: PfxCertificate | None = None
        self._secrets = settings.secrets
        if settings.auth_method is AuthMethod.CERTIFICATE:
            self.certificate = load_pfx(settings.pfx, settings.pfx_password)
            self.certificate.check_thumbprint(settings.thumbprint)
            self.certificate.check_valid()
        elif not (settings.client_secret or "").strip():
            raise InputError(
                "client_secret",
                "the client secret is required",
                reason_ja="クライアントシークレットは必須です",
            )
        self._lock = threading.Lock()
        self._app: Any = None
        self._session: _Session | None = None

    def __repr__(self) -> str:
        return (
            f"GraphAuth(client_id={self.settings.client_id!r}, method={self.settings.auth_method.value}, "
            f"authority={self.endpoint.authority!r})"
        )

    @property
    def authority_host(self) -> str:
        return self.endpoint.host.split(":")[0].strip("[]")

    @property
    def certificate_expires_at(self) -> datetime | None:
        return self.certificate.not_valid_after if self.certificate is not None else None

    @property
    def secret_expires_at(self) -> datetime | None:
        if self.settings.auth_method is not AuthMethod.SECRET:
            return None
        return self.settings.secret_expires_at

    def expiry_warnings(self, now: datetime | None = None) -> tuple[ExpiringCredentialWarning, ...]:
        """Warnings for a certificate or client secret expiring within 30 days (L2, L3)."""
        now = now or datetime.now(UTC)
        out: list[ExpiringCredentialWarning] = []
        tz = self.settings.timezone
        cert = credential_expiry_warning(
            self.certificate_expires_at, now, kind=CredentialKind.CERTIFICATE, timezone=tz
        )
        if cert is not None:
            out.append(cert)
        secret_at = self.secret_expires_at
        if secret_at is not None and secret_at.tzinfo is None:
            secret_at = secret_at.replace(tzinfo=UTC)
        secret = credential_expiry_warning(secret_at, now, kind=CredentialKind.CLIENT_SECRET, timezone=tz)
        if secret is not None:
            out.append(secret)
        return tuple(out)

    def _credential(self) -> Any:
        if self.certificate is not None:
            return {
                "private_key": self.certificate.private_key_pem(),
                "public_certificate": self.certificate.certificate_pem(),
            }
        return (self.settings.client_secret or "").strip()

    def _build_app(self) -> Any:
        timeout = (self.settings.connect_timeout_s, self.settings.read_timeout_s)
        self._session = _Session(self.settings.ca_bundle, timeout)
        return msal.ConfidentialClientApplication(
            self.settings.client_id,
            client_credential=self._credential(),
            authority=self.endpoint.authority,
            instance_discovery=False,
            http_client=self._session,
            token_cache=msal.TokenCache(),
        )

    def acquire(self) -> AccessToken:
        """A valid access token (from MSAL's cache while it lasts), or a core error."""
        with self._lock:
            try:
                if self._app is None:
                    self._app = self._build_app()
                result = self._app.acquire_token_for_client(scopes=[self.settings.scope])
            except SfacalError:
                raise
            except requests.exceptions.RequestException as exc:
                raise network_error_from(exc, self.authority_host, self._secrets) from None
            except OSError as exc:
                raise network_error_from(exc, self.authority_host, self._secrets) from None
            except json.JSONDecodeError as exc:
                raise ServiceUnavailableError(
                    f"the token endpoint answered something that is not JSON: {exc}", status="token endpoint"
                ) from None
            except ValueError as exc:
                raise self._discovery_error(exc) from None
            except Exception as exc:  # MSAL may raise anything on a malformed answer
                log.warning("token request failed unexpectedly: %s", redact(repr(exc), self._secrets))
                raise ServiceUnavailableError(
                    redact(f"{type(exc).__name__}: {exc}", self._secrets), status="token endpoint"
                ) from None
        if not isinstance(result, dict):
            raise ServiceUnavailableError("the token endpoint gave no answer", status="token endpoint")
        token = result.get("access_token")
        if not token:
            status = self._session.last_status if self._session is not None else None
            err = error_from_token_response(result, self._secrets, http_status=status)
            log.info("token request refused: %s (%s)", err.code, err.detail)
            raise err
        try:
            expires_in = float(result.get("expires_in", 3599))
        except (TypeError, ValueError):
            expires_in = 3599.0
        return AccessToken(
            token=str(token),
            expires_at=time.time() + expires_in,
            roles=_roles_of(str(token)),
            source=str(result.get("token_source", "")),
            lifetime_s=expires_in,
        )

    def _discovery_error(self, exc: ValueError) -> SfacalError:
        """MSAL raises ``ValueError`` when the tenant discovery fails (an unknown tenant answers
        4xx with AADSTS90002) or when it rejects a credential while building the app."""
        text = redact(str(exc), self._secrets)
        match = re.search(r"Error: (\{.*\})", text, re.DOTALL)
        if match:
            try:
                body = json.loads(match.group(1))
            except ValueError:
                body = None
            if isinstance(body, dict) and (body.get("error") or body.get("error_codes")):
                err = error_from_token_response(body, self._secrets)
                if type(err) is not CredentialError:
                    return err
        if "authority configuration" in text or "OIDC Discovery" in text or "tenant" in text.lower():
            return TenantNotFoundError(text[:800], tenant=self.endpoint.tenant)
        if "private key" in text.lower() or "pfx" in text.lower() or "certificate" in text.lower():
            return PfxUnreadableError(text[:800])
        return CredentialError(text[:800])

    def invalidate(self) -> None:
        """Forget cached tokens (after Graph rejected one)."""
        with self._lock:
            if self._app is not None:
                self._app.token_cache = msal.TokenCache()

    def close(self) -> None:
        with self._lock:
            if self._session is not None:
                self._session.close()
            self._session = None
            self._app = None
