"""Google's OAuth 2.0 token endpoint for the JWT-bearer grant (service accounts, RFC 7523).

Order of checks (as Google answers them):

1. ``grant_type`` must be ``urn:ietf:params:oauth:grant-type:jwt-bearer`` -> ``400 unsupported_grant_type``.
2. The assertion's ``kid`` names a key of a known service account, not revoked, and the RS256
   signature verifies with that key's public half -> else ``400 invalid_grant "Invalid JWT Signature."``.
3. ``iss`` is that account, ``aud`` is Google's token endpoint (or this one), ``iat``/``exp`` span at most an hour
   around now -> else ``400 invalid_grant``.
4. ``scope`` is present; with ``sub`` (domain-wide delegation): every requested scope is granted to
   the account's client id in the Admin console -> else ``401 unauthorized_client``; the user exists
   in the account's Workspace domain -> else ``400 invalid_grant "Invalid email or User ID"``.
"""

from __future__ import annotations

import time
from typing import Any

import jwt
from starlette.requests import Request
from starlette.responses import JSONResponse

from .state import EmulatorState

__all__ = ["JWT_BEARER", "TokenEndpoint"]

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
GOOGLE_AUDIENCES = ("https://oauth2.googleapis.com/token", "https://www.googleapis.com/oauth2/v4/token")
"""The audiences Google accepts in an assertion (``google-auth`` always sends the first); the
emulator accepts its own token URL too."""


def _error(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


class TokenEndpoint:
    def __init__(self, state: EmulatorState) -> None:
        self.state = state

    async def token(self, request: Request) -> JSONResponse:
        form = await request.form()
        if form.get("grant_type") != JWT_BEARER:
            return _error(400, "unsupported_grant_type", "Invalid grant_type: " + str(form.get("grant_type")))
        assertion = str(form.get("assertion") or "")
        audience = str(request.url.replace(query="")).rstrip("/")
        with self.state.lock:
            self.state.counters["token_requests"] += 1
            return self._grant(assertion, audience)

    def _grant(self, assertion: str, audience: str) -> JSONResponse:
        try:
            header = jwt.get_unverified_header(assertion)
        except jwt.PyJWTError:
            return _error(400, "invalid_grant", "Invalid JWT Signature.")
        account = self.state.account_by_key(str(header.get("kid", "")))
        if account is None or account.key_revoked:
            return _error(400, "invalid_grant", "Invalid JWT Signature.")
        try:
            claims: dict[str, Any] = jwt.decode(
                assertion,
                account.public_pem,
                algorithms=["RS256"],
                audience=[audience, *GOOGLE_AUDIENCES],
                issuer=account.client_email,
                options={"require": ["iss", "aud", "iat", "exp"]},
                leeway=60,
            )
        except jwt.InvalidSignatureError:
            return _error(400, "invalid_grant", "Invalid JWT Signature.")
        except jwt.PyJWTError as exc:
            return _error(
                400,
                "invalid_grant",
                "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable "
                f"timeframe. Check your iat and exp values in the JWT claim. ({exc})",
            )
        now = time.time()
        if int(claims["exp"]) - int(claims["iat"]) > 3600 or int(claims["iat"]) > now + 60:
            return _error(
                400,
                "invalid_grant",
                "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable "
                "timeframe. Check your iat and exp values in the JWT claim.",
            )
        scopes = frozenset(str(claims.get("scope", "")).split())
        if not scopes:
            return _error(400, "invalid_scope", "Invalid OAuth scope or ID token audience provided.")
        subject = claims.get("sub")
        if subject and subject != account.client_email:
            if not scopes <= account.delegated_scopes:
                return _error(
                    401,
                    "unauthorized_client",
                    "Client is unauthorized to retrieve access tokens using this method, or client "
                    "not authorized for any of the scopes requested.",
                )
            user = self.state.users.get(str(subject).lower())
            if user is None or not user.email.endswith("@" + account.domain):
                return _error(400, "invalid_grant", "Invalid email or User ID")
            subject = user.email
        else:
            subject = None
        token = self.state.issue_token(account, subject, scopes)
        return JSONResponse(
            {
                "access_token": token.value,
                "expires_in": self.state.knobs.token_lifetime_s,
                "token_type": "Bearer",
            }
        )
