"""Connection settings of the Microsoft Graph connector (C6), as plain data.

The engine and the web screens build :class:`GraphSettings` from the company's stored settings;
this module imports no web framework. :func:`parse_token_endpoint` accepts the OAuth 2.0 token
endpoint in its v1 (``https://login.microsoftonline.com/{tenant}/oauth2/token``) and v2
(``…/oauth2/v2.0/token``) forms and takes the tenant and the authority host from it, so national
clouds and the local emulator work the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from urllib.parse import urlsplit

from sfacal.core.errors import InputError
from sfacal.core.schedule import DEFAULT_TIMEZONE

__all__ = [
    "DEFAULT_GRAPH_BASE_URL",
    "DEFAULT_GRAPH_SCOPE",
    "AuthMethod",
    "GraphSettings",
    "TokenEndpoint",
    "graph_scope_for",
    "parse_token_endpoint",
]

DEFAULT_GRAPH_BASE_URL = "https://graph.microsoft.com/v1.0"
DEFAULT_GRAPH_SCOPE = "https://graph.microsoft.com/.default"

# Graph hosts of the national clouds: their token scope is the host itself.
_NATIONAL_GRAPH_HOSTS = frozenset(
    {
        "graph.microsoft.com",
        "graph.microsoft.us",
        "dod-graph.microsoft.us",
        "microsoftgraph.chinacloudapi.cn",
    }
)
_MULTI_TENANT_NAMES = frozenset({"common", "organizations", "consumers"})
_TENANT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.\-]{0,253}$")
_FIELD = "token_endpoint"


class AuthMethod(StrEnum):
    CERTIFICATE = "certificate"
    SECRET = "secret"


@dataclass(frozen=True)
class TokenEndpoint:
    """A parsed token endpoint: ``https://{host}/{tenant}/oauth2[/v2.0]/token``."""

    url: str
    host: str  # may include a port
    tenant: str
    version: str  # "v1" or "v2"

    @property
    def authority(self) -> str:
        """The MSAL authority (``https://{host}/{tenant}``)."""
        return f"https://{self.host}/{self.tenant}"


def _bad(reason: str, reason_ja: str) -> InputError:
    return InputError(_FIELD, reason, reason_ja=reason_ja)


def parse_token_endpoint(value: str | None) -> TokenEndpoint:
    """The tenant and authority host named by a v1 or v2 token endpoint (see module docstring).

    A bare authority (``https://login.microsoftonline.com/{tenant}``) is accepted too. Anything
    else raises :class:`~sfacal.core.errors.InputError` naming ``token_endpoint``.
    """
    text = (value or "").strip().strip("\u200e\u200f\ufeff")
    if not text:
        raise _bad("the OAuth 2.0 token endpoint is required", "OAuth 2.0 トークンエンドポイントは必須です")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise _bad("not a valid URL", "URL の形式が正しくありません") from exc
    if parts.scheme.lower() != "https" or not parts.hostname:
        raise _bad(
            "must be an https:// URL such as https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token",
            "https://login.microsoftonline.com/<テナント>/oauth2/v2.0/token の形式で入力してください",
        )
    if parts.query or parts.fragment or parts.username or parts.password:
        raise _bad("must not contain a query, fragment or user name", "クエリや # を含めないでください")
    segments = [s for s in parts.path.split("/") if s]
    if len(segments) == 1:
        version = "v2"
    elif len(segments) == 3 and [s.lower() for s in segments[1:]] == ["oauth2", "token"]:
        version = "v1"
    elif len(segments) == 4 and [s.lower() for s in segments[1:]] == ["oauth2", "v2.0", "token"]:
        version = "v2"
    else:
        raise _bad(
            "expected https://<host>/<tenant>/oauth2/token or https://<host>/<tenant>/oauth2/v2.0/token",
            "https://<ホスト>/<テナント>/oauth2/token または …/oauth2/v2.0/token の形式で入力してください",
        )
    tenant = segments[0]
    if not _TENANT_RE.match(tenant):
        raise _bad(
            "the tenant part is not a tenant ID or domain",
            "テナント部分がテナントIDまたはドメイン名ではありません",
        )
    if tenant.lower() in _MULTI_TENANT_NAMES:
        raise _bad(
            f"'{tenant}' is not a tenant: use the endpoint that names your tenant ID or domain",
            f"「{tenant}」はテナントではありません。テナントIDまたはドメイン名を含むエンドポイントを入力してください",
        )
    host = parts.hostname.lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    if port is not None and port != 443:
        host = f"{host}:{port}"
    return TokenEndpoint(url=text, host=host, tenant=tenant, version=version)


def graph_scope_for(graph_base_url: str) -> str:
    """The ``.default`` scope for the Graph at ``graph_base_url`` (national clouds use their own
    host; any other host, such as a local emulator, uses the worldwide Graph resource)."""
    host = (urlsplit(graph_base_url).hostname or "").lower()
    if host in _NATIONAL_GRAPH_HOSTS:
        return f"https://{host}/.default"
    return DEFAULT_GRAPH_SCOPE


@dataclass(frozen=True)
class GraphSettings:
    """Everything the connector needs to reach one company's Microsoft 365 (C6).

    Secrets (``pfx``, ``pfx_password``, ``client_secret``) never appear in ``repr``.

    Timeouts are in seconds. ``max_in_flight_per_mailbox`` is Graph's Outlook concurrency limit
    (4); ``max_connections`` the size of the connection pool (all mailboxes of the company);
    ``batch_size`` the number of requests per JSON batch (at most 20); ``max_attempts`` the
    tries per request on throttling / unavailability / connection resets before the error is
    returned to the caller (who retries later). ``app_request_limit`` requests per ``app_window_s``
    is Graph's limit per application across all tenants (130,000 per 10 s), which every worker
    process keeps together (:mod:`.app_budget`).
    """

    client_id: str
    token_endpoint: str
    auth_method: AuthMethod = AuthMethod.CERTIFICATE
    pfx: bytes | None = field(default=None, repr=False)
    pfx_password: str | None = field(default=None, repr=False)
    thumbprint: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    secret_expires_at: datetime | None = None
    domain: str | None = None
    graph_base_url: str = DEFAULT_GRAPH_BASE_URL
    graph_scope: str | None = None
    ca_bundle: str | None = None
    timezone: str = DEFAULT_TIMEZONE
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 30.0
    max_attempts: int = 6
    max_backoff_s: float = 60.0
    max_in_flight_per_mailbox: int = 4
    batch_size: int = 20
    max_connections: int = 800
    app_request_limit: int = 130_000
    app_window_s: float = 10.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "client_id", (self.client_id or "").strip())
        try:
            object.__setattr__(self, "auth_method", AuthMethod(self.auth_method))
        except ValueError as exc:
            raise InputError(
                "auth_method", f"unknown method {self.auth_method!r}", reason_ja="認証方式が正しくありません"
            ) from exc
        base = (self.graph_base_url or DEFAULT_GRAPH_BASE_URL).strip().rstrip("/")
        if urlsplit(base).scheme.lower() != "https" or not urlsplit(base).hostname:
            raise InputError(
                "graph_base_url",
                "must be an https:// URL",
                reason_ja="https:// で始まる URL を入力してください",
            )
        object.__setattr__(self, "graph_base_url", base)
        if not 1 <= self.batch_size <= 20:
            raise InputError("batch_size", "must be between 1 and 20", reason_ja="1〜20 にしてください")
        if not 1 <= self.max_in_flight_per_mailbox <= 64:
            raise InputError(
                "max_in_flight_per_mailbox", "must be between 1 and 64", reason_ja="1〜64 にしてください"
            )
        if self.app_request_limit < 1 or self.app_window_s <= 0:
            raise InputError(
                "app_request_limit",
                "must be at least 1 per positive window",
                reason_ja="1 以上にしてください",
            )
        if self.max_attempts < 1:
            raise InputError("max_attempts", "must be at least 1", reason_ja="1 以上にしてください")
        if self.connect_timeout_s <= 0 or self.read_timeout_s <= 0:
            raise InputError("timeout", "must be positive", reason_ja="正の値にしてください")

    @property
    def scope(self) -> str:
        return self.graph_scope or graph_scope_for(self.graph_base_url)

    @property
    def secrets(self) -> tuple[str, ...]:
        """Secret strings to redact from anything logged."""
        return tuple(s for s in (self.pfx_password, self.client_secret) if s)
