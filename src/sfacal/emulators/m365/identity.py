"""Microsoft Entra ID (identity platform) stand-in: discovery documents and the token endpoints.

Implements the client credentials grant of the v1 (``/{tenant}/oauth2/token`` with
``resource=``) and v2 (``/{tenant}/oauth2/v2.0/token`` with ``scope=…/.default``)
endpoints, by client secret or by a certificate-signed client assertion, and issues
RS256-signed access tokens that the Graph part of the emulator validates.
"""

from __future__ import annotations

import asyncio
import base64
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .errors import aad_error, invalid_token
from .state import App, EmulatorState, Tenant

GRAPH_RESOURCE = "https://graph.microsoft.com"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
_GRAPH_RESOURCES = {GRAPH_RESOURCE, GRAPH_RESOURCE + "/", GRAPH_APP_ID}
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
CLOCK_SKEW_S = 300
_SERVICE_PRINCIPAL_NS = uuid.UUID("6f0f7a0e-5bd4-4c51-9d9e-6d8f3f1c5a10")


def _b64url_decode(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def _iso_z(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")


class Identity:
    """Token issuing and validation; one signing key per emulator process."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._public = self._key.public_key()
        self.kid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        self._key_pem = self._key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        self._verified: dict[str, dict[str, Any]] = {}

    # -- discovery ---------------------------------------------------------------------------------
    async def openid_configuration(self, request: Request) -> Response:
        tenant_ref = request.path_params["tenant"]
        v2 = request.url.path.split("/")[2] == "v2.0"
        tenant = self.state.find_tenant(tenant_ref)
        if tenant is None:
            status, body = aad_error(90002, tenant=tenant_ref)
            return JSONResponse(body, status_code=status)
        base = str(request.base_url).rstrip("/")
        t = tenant.id
        if v2:
            doc = {
                "token_endpoint": f"{base}/{t}/oauth2/v2.0/token",
                "token_endpoint_auth_methods_supported": [
                    "client_secret_post",
                    "private_key_jwt",
                    "client_secret_basic",
                ],
                "jwks_uri": f"{base}/{t}/discovery/v2.0/keys",
                "response_modes_supported": ["query", "fragment", "form_post"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
                "scopes_supported": ["openid", "profile", "email", "offline_access"],
                "issuer": f"{base}/{t}/v2.0",
                "request_uri_parameter_supported": False,
                "userinfo_endpoint": "https://graph.microsoft.com/oidc/userinfo",
                "authorization_endpoint": f"{base}/{t}/oauth2/v2.0/authorize",
                "device_authorization_endpoint": f"{base}/{t}/oauth2/v2.0/devicecode",
                "http_logout_supported": True,
                "frontchannel_logout_supported": True,
                "end_session_endpoint": f"{base}/{t}/oauth2/v2.0/logout",
                "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nonce", "tid", "ver"],
                "tenant_region_scope": "AS",
                "cloud_instance_name": "microsoftonline.com",
                "cloud_graph_host_name": "graph.windows.net",
                "msgraph_host": "graph.microsoft.com",
            }
        else:
            doc = {
                "token_endpoint": f"{base}/{t}/oauth2/token",
                "token_endpoint_auth_methods_supported": [
                    "client_secret_post",
                    "private_key_jwt",
                    "client_secret_basic",
                ],
                "jwks_uri": f"{base}/{t}/discovery/keys",
                "response_modes_supported": ["query", "fragment", "form_post"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "response_types_supported": ["code", "id_token", "code id_token", "token id_token", "token"],
                "scopes_supported": ["openid"],
                "issuer": f"https://sts.windows.net/{t}/",
                "authorization_endpoint": f"{base}/{t}/oauth2/authorize",
                "http_logout_supported": True,
                "frontchannel_logout_supported": True,
                "end_session_endpoint": f"{base}/{t}/oauth2/logout",
                "tenant_region_scope": "AS",
                "cloud_instance_name": "microsoftonline.com",
                "cloud_graph_host_name": "graph.windows.net",
                "msgraph_host": "graph.microsoft.com",
            }
        return JSONResponse(doc)

    async def jwks(self, request: Request) -> Response:
        if self.state.find_tenant(request.path_params["tenant"]) is None:
            status, body = aad_error(90002, tenant=request.path_params["tenant"])
            return JSONResponse(body, status_code=status)
        jwk = jwt.algorithms.RSAAlgorithm.to_jwk(self._public, as_dict=True)
        jwk.update({"kid": self.kid, "use": "sig", "alg": "RS256"})
        return JSONResponse({"keys": [jwk]})

    # -- token endpoint ----------------------------------------------------------------------------
    async def token(self, request: Request) -> Response:
        self.state.counters.token_requests += 1
        if self.state.knobs.token_latency_ms > 0:
            await asyncio.sleep(self.state.knobs.token_latency_ms / 1000)
        v2 = "/v2.0/" in request.url.path
        tenant_ref = request.path_params["tenant"]
        try:
            form = await request.form()
            fields = {k: str(v) for k, v in form.items()}
        except Exception:  # a body that is not a form
            fields = {}
        status, body = self._token_response(request, tenant_ref, fields, v2)
        self.state.journal.append(
            {
                "time": time.time(),
                "method": "POST",
                "path": request.url.path,
                "status": status,
                "app": fields.get("client_id"),
                "mailbox": None,
                "kind": "token",
            }
        )
        return JSONResponse(body, status_code=status, headers={"Cache-Control": "no-store, no-cache"})

    def _token_response(
        self, request: Request, tenant_ref: str, fields: dict[str, str], v2: bool
    ) -> tuple[int, dict[str, Any]]:
        tenant = self.state.find_tenant(tenant_ref)
        if tenant is None:
            return aad_error(90002, tenant=tenant_ref)
        grant_type = fields.get("grant_type")
        if not grant_type:
            return aad_error(900144, parameter="grant_type")
        if grant_type != "client_credentials":
            return aad_error(70003, grant_type=grant_type)
        client_id = fields.get("client_id", "").strip().lower()
        if not client_id:
            return aad_error(900144, parameter="client_id")
        app = self.state.apps.get(client_id)
        if app is None or app.tenant_id != tenant.id:
            return aad_error(700016, client_id=fields.get("client_id", ""), directory=tenant.display_name)
        if v2:
            scope = fields.get("scope")
            if not scope:
                return aad_error(900144, parameter="scope")
            scopes = scope.split()
            if len(scopes) != 1 or not scopes[0].endswith("/.default"):
                return aad_error(1002012, scope=scope)
            resource = scopes[0][: -len("/.default")].rstrip("/")
        else:
            resource = fields.get("resource", "")
            if not resource:
                return aad_error(900144, parameter="resource")
        if resource not in _GRAPH_RESOURCES and resource.rstrip("/") not in _GRAPH_RESOURCES:
            return aad_error(500011, resource=resource, directory=tenant.display_name)

        if fields.get("client_assertion"):
            if fields.get("client_assertion_type") != JWT_BEARER:
                return aad_error(900144, parameter="client_assertion_type")
            failure = self._check_assertion(request, tenant, app, fields["client_assertion"])
            if failure is not None:
                return failure
            appidacr = "2"
        elif fields.get("client_secret"):
            failure = self._check_secret(app, fields["client_secret"])
            if failure is not None:
                return failure
            appidacr = "1"
        else:
            return aad_error(7000216)
        return 200, self._issue(tenant, app, appidacr, v2)

    def _check_secret(self, app: App, value: str) -> tuple[int, dict[str, Any]] | None:
        now = datetime.now(UTC)
        matches = [s for s in app.secrets if s.value == value]
        if not matches:
            return aad_error(7000215, client_id=app.client_id)
        if all(s.expires <= now for s in matches):
            return aad_error(7000222, client_id=app.client_id)
        return None

    def _check_assertion(
        self, request: Request, tenant: Tenant, app: App, assertion: str
    ) -> tuple[int, dict[str, Any]] | None:
        try:
            header = jwt.get_unverified_header(assertion)
        except jwt.PyJWTError:
            return aad_error(50027)
        alg = header.get("alg")
        if alg not in ("RS256", "PS256"):
            return aad_error(50012, detail=f"The client assertion uses an unsupported algorithm '{alg}'.")
        thumb_sha256 = header.get("x5t#S256")
        thumb_sha1 = header.get("x5t")
        try:
            if thumb_sha256:
                wanted = _b64url_decode(str(thumb_sha256))
                cert = next((c for c in app.certificates if c.sha256 == wanted), None)
            elif thumb_sha1:
                wanted = _b64url_decode(str(thumb_sha1))
                cert = next((c for c in app.certificates if c.sha1 == wanted), None)
            else:
                return aad_error(50012, detail="No certificate thumbprint specified in token header.")
        except (ValueError, TypeError):
            return aad_error(50027)
        if cert is None:
            return aad_error(
                700027,
                reason="The key was not found.",
                thumbprint=wanted.hex().upper(),
                client_id=app.client_id,
            )
        try:
            claims = jwt.decode(
                assertion,
                cert.public_key,
                algorithms=[alg],
                options={"verify_aud": False, "verify_exp": False, "verify_nbf": False, "verify_iat": False},
            )
        except jwt.InvalidSignatureError:
            return aad_error(
                700027,
                reason="The provided signature value did not match the expected signature value.",
                thumbprint=wanted.hex().upper(),
                client_id=app.client_id,
            )
        except jwt.PyJWTError:
            return aad_error(50027)
        if (
            str(claims.get("iss", "")).lower() != app.client_id
            or str(claims.get("sub", "")).lower() != app.client_id
        ):
            return aad_error(700021)
        base = str(request.base_url).rstrip("/")
        accepted = set()
        for t in [tenant.id, *tenant.domains]:
            for path in ("oauth2/v2.0/token", "oauth2/token"):
                accepted.add(f"{base}/{t}/{path}".lower())
        aud = claims.get("aud")
        auds = aud if isinstance(aud, list) else [aud]
        if not any(isinstance(a, str) and a.lower().rstrip("/") in accepted for a in auds):
            return aad_error(700023)
        now = time.time()
        try:
            exp = float(claims["exp"])
            nbf = float(claims.get("nbf", claims.get("iat", now)))
        except (KeyError, TypeError, ValueError):
            return aad_error(50027)
        if exp < now - CLOCK_SKEW_S or nbf > now + CLOCK_SKEW_S:
            return aad_error(
                700024,
                now=_iso_z(now),
                nbf=_iso_z(nbf),
                exp=_iso_z(exp),
            )
        return None

    def _issue(self, tenant: Tenant, app: App, appidacr: str, v2: bool) -> dict[str, Any]:
        lifetime = int(self.state.knobs.access_token_lifetime_s)
        now = int(time.time())
        oid = str(uuid.uuid5(_SERVICE_PRINCIPAL_NS, app.client_id))
        claims = {
            "aud": GRAPH_RESOURCE,
            "iss": f"https://sts.windows.net/{tenant.id}/",
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
            "app_displayname": app.display_name,
            "appid": app.client_id,
            "appidacr": appidacr,
            "idp": f"https://sts.windows.net/{tenant.id}/",
            "idtyp": "app",
            "oid": oid,
            "roles": sorted(app.permissions),
            "sub": oid,
            "tid": tenant.id,
            "uti": base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("="),
            "ver": "1.0",
        }
        token = jwt.encode(
            claims, self._key_pem, algorithm="RS256", headers={"kid": self.kid, "x5t": self.kid}
        )
        if v2:
            return {
                "token_type": "Bearer",
                "expires_in": lifetime,
                "ext_expires_in": lifetime,
                "access_token": token,
            }
        return {
            "token_type": "Bearer",
            "expires_in": str(lifetime),
            "ext_expires_in": str(lifetime),
            "expires_on": str(now + lifetime),
            "not_before": str(now),
            "resource": GRAPH_RESOURCE,
            "access_token": token,
        }

    # -- Graph side --------------------------------------------------------------------------------
    def validate_bearer(self, authorization: str | None) -> dict[str, Any]:
        """Claims of a valid access token, or a :class:`GraphError` 401."""
        if not authorization or not authorization.strip():
            raise invalid_token("Access token is empty.")
        scheme, _, token = authorization.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise invalid_token("Access token is empty.")
        claims = self._verified.get(token)
        if claims is None:
            if token.count(".") != 2:
                raise invalid_token("IDX14100: JWT is not well formed, there are no dots (.).")
            try:
                claims = jwt.decode(
                    token,
                    self._public,
                    algorithms=["RS256"],
                    audience=[GRAPH_RESOURCE, GRAPH_RESOURCE + "/", GRAPH_APP_ID],
                    options={"verify_exp": False, "verify_nbf": False},
                )
            except jwt.InvalidAudienceError as exc:
                raise invalid_token("Access token validation failure. Invalid audience.") from exc
            except jwt.PyJWTError as exc:
                raise invalid_token("Access token validation failure.") from exc
            if len(self._verified) > 10_000:
                self._verified.clear()
            self._verified[token] = claims
        now = time.time()
        if float(claims["exp"]) <= now or float(claims["nbf"]) > now + CLOCK_SKEW_S:
            raise invalid_token("Access token has expired or is not yet valid.")
        return claims
