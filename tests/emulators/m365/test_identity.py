"""Identity: real MSAL against the emulator's token endpoints, and every documented failure body."""

from __future__ import annotations

import base64
import hashlib
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import msal
import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from sfacal.emulators.m365 import EmulatorHandle

from .conftest import World, make_world, tls_context

GRAPH_SCOPE = ["https://graph.microsoft.com/.default"]


def make_cert(cn: str = "sfacal-test") -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    return key, cert


def cert_pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def key_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


class RecordingSession(requests.Session):
    """A requests session that keeps the form bodies MSAL posts (to inspect its client assertion)."""

    def __init__(self, ca: Path) -> None:
        super().__init__()
        self.verify = str(ca)
        self.trust_env = False  # the machine's REQUESTS_CA_BUNDLE would override verify
        self.posted: list[Any] = []

    def request(self, method: Any, url: Any, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if str(method).upper() == "POST":
            self.posted.append(kwargs.get("data"))
        return super().request(method, url, *args, **kwargs)


def msal_app(
    handle: EmulatorHandle, tenant: str, client_id: str, credential: Any
) -> tuple[msal.ConfidentialClientApplication, RecordingSession]:
    session = RecordingSession(handle.ca_pem)
    app = msal.ConfidentialClientApplication(
        client_id,
        authority=handle.authority(tenant),
        client_credential=credential,
        instance_discovery=False,
        http_client=session,
        token_cache=msal.TokenCache(),
    )
    return app, session


def posted_assertion_header(session: RecordingSession) -> dict[str, Any]:
    for data in session.posted:
        if isinstance(data, dict) and data.get("client_assertion"):
            return dict(jwt.get_unverified_header(data["client_assertion"]))
    raise AssertionError("MSAL posted no client assertion")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def own_assertion(
    client_id: str, aud: str, key: rsa.RSAPrivateKey, cert: x509.Certificate, **claims: Any
) -> str:
    der = cert.public_bytes(serialization.Encoding.DER)
    now = time.time()
    payload = {
        "aud": aud,
        "iss": client_id,
        "sub": client_id,
        "jti": str(uuid.uuid4()),
        "nbf": now,
        "exp": now + 600,
    }
    payload.update(claims)
    return jwt.encode(
        payload, key_pem(key), algorithm="RS256", headers={"x5t": b64url(hashlib.sha1(der).digest())}
    )


def raw_token(
    handle: EmulatorHandle, tenant: str, data: dict[str, str], *, v2: bool = True
) -> httpx.Response:
    with httpx.Client(verify=tls_context(handle), trust_env=False) as http:
        return http.post(handle.token_url(tenant, v2=v2), data=data)


def assert_aad_error(r: httpx.Response, status: int, error: str, code: int) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["error"] == error
    assert body["error_codes"] == [code]
    desc = body["error_description"]
    assert desc.startswith(f"AADSTS{code}: ")
    for part in ("Trace ID: ", "Correlation ID: ", "Timestamp: "):
        assert part in desc
    assert body["trace_id"] in desc and body["correlation_id"] in desc
    assert body["timestamp"] in desc
    assert body["error_uri"].endswith(f"code={code}")


def graph_ok(world: World, token: str) -> None:
    with httpx.Client(verify=tls_context(world.handle), trust_env=False) as http:
        r = http.get(world.url(f"users/{world.upn}/calendar"), headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text


# -- MSAL ---------------------------------------------------------------------------------------


def test_msal_client_secret_with_domain_authority(world: World) -> None:
    app, _ = msal_app(world.handle, world.domain, world.app.client_id, world.app.secret)
    result = app.acquire_token_for_client(scopes=GRAPH_SCOPE)
    assert "access_token" in result, result
    assert result["token_type"] == "Bearer" and result["expires_in"] > 3000
    graph_ok(world, result["access_token"])


def test_msal_pfx_certificate_signs_ps256_with_sha256_thumbprint(world: World, tmp_path: Path) -> None:
    key, cert = make_cert()
    world.handle.control.add_certificate(world.app.client_id, cert_pem(cert))
    pfx = tmp_path / "app.pfx"
    pfx.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"app", key, cert, None, serialization.BestAvailableEncryption(b"p@ss")
        )
    )
    app, session = msal_app(
        world.handle,
        world.tenant_id,
        world.app.client_id,
        {"private_key_pfx_path": str(pfx), "passphrase": "p@ss"},
    )
    result = app.acquire_token_for_client(scopes=GRAPH_SCOPE)
    assert "access_token" in result, result
    header = posted_assertion_header(session)
    assert header["alg"] == "PS256" and "x5t#S256" in header
    assert jwt.decode(result["access_token"], options={"verify_signature": False})["appidacr"] == "2"
    graph_ok(world, result["access_token"])


def test_msal_private_key_and_sha1_thumbprint_signs_rs256(world: World) -> None:
    key, cert = make_cert()
    world.handle.control.add_certificate(world.app.client_id, cert_pem(cert))
    thumb = hashlib.sha1(cert.public_bytes(serialization.Encoding.DER)).hexdigest()
    app, session = msal_app(
        world.handle, world.domain, world.app.client_id, {"private_key": key_pem(key), "thumbprint": thumb}
    )
    result = app.acquire_token_for_client(scopes=GRAPH_SCOPE)
    assert "access_token" in result, result
    header = posted_assertion_header(session)
    assert header["alg"] == "RS256" and "x5t" in header
    graph_ok(world, result["access_token"])


def test_msal_unknown_tenant_fails_discovery_with_90002(emulator: EmulatorHandle) -> None:
    with pytest.raises(ValueError, match="double check your tenant") as info:
        app, _ = msal_app(emulator, "nosuch.onmicrosoft.com", str(uuid.uuid4()), "x")
        app.acquire_token_for_client(scopes=GRAPH_SCOPE)
    cause = info.value.__cause__ or info.value.__context__
    assert cause is not None and "HTTP status: 400" in str(cause) and "AADSTS90002" in str(cause)


def test_msal_reports_bad_secret_codes(world: World) -> None:
    app, _ = msal_app(world.handle, world.domain, world.app.client_id, "wrong-secret")
    result = app.acquire_token_for_client(scopes=GRAPH_SCOPE)
    assert result["error"] == "invalid_client" and result["error_codes"] == [7000215]


def test_msal_reports_unknown_certificate(world: World, tmp_path: Path) -> None:
    key, cert = make_cert()  # never registered on the app
    thumb = hashlib.sha1(cert.public_bytes(serialization.Encoding.DER)).hexdigest()
    app, _ = msal_app(
        world.handle, world.domain, world.app.client_id, {"private_key": key_pem(key), "thumbprint": thumb}
    )
    result = app.acquire_token_for_client(scopes=GRAPH_SCOPE)
    assert result["error_codes"] == [700027]
    assert thumb.upper() in result["error_description"]


# -- the token endpoints directly ----------------------------------------------------------------


def test_discovery_documents_name_the_tenant_guid(world: World) -> None:
    with httpx.Client(verify=tls_context(world.handle), trust_env=False) as http:
        v2 = http.get(f"{world.handle.base_url}/{world.domain}/v2.0/.well-known/openid-configuration").json()
        v1 = http.get(f"{world.handle.base_url}/{world.tenant_id}/.well-known/openid-configuration").json()
        keys = http.get(v2["jwks_uri"]).json()
    assert v2["token_endpoint"] == f"{world.handle.base_url}/{world.tenant_id}/oauth2/v2.0/token"
    assert v1["token_endpoint"] == f"{world.handle.base_url}/{world.tenant_id}/oauth2/token"
    assert keys["keys"][0]["kty"] == "RSA"


def test_v1_endpoint_with_resource_by_secret_and_certificate(world: World) -> None:
    r = raw_token(
        world.handle,
        world.domain,
        {
            "grant_type": "client_credentials",
            "client_id": world.app.client_id,
            "client_secret": world.app.secret,
            "resource": "https://graph.microsoft.com",
        },
        v2=False,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["resource"] == "https://graph.microsoft.com" and body["expires_in"].isdigit()
    graph_ok(world, body["access_token"])

    key, cert = make_cert()
    world.handle.control.add_certificate(world.app.client_id, cert_pem(cert))
    aud = world.handle.token_url(world.tenant_id, v2=False)
    r = raw_token(
        world.handle,
        world.tenant_id,
        {
            "grant_type": "client_credentials",
            "client_id": world.app.client_id,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": own_assertion(world.app.client_id, aud, key, cert),
            "resource": "https://graph.microsoft.com",
        },
        v2=False,
    )
    assert r.status_code == 200, r.text


def _secret_form(world: World, **overrides: str) -> dict[str, str]:
    form = {
        "grant_type": "client_credentials",
        "client_id": world.app.client_id,
        "client_secret": world.app.secret,
        "scope": "https://graph.microsoft.com/.default",
    }
    form.update(overrides)
    return form


def test_unknown_tenant_is_90002(world: World) -> None:
    r = raw_token(world.handle, "nosuch.onmicrosoft.com", _secret_form(world))
    assert_aad_error(r, 400, "invalid_tenant", 90002)
    assert "Tenant 'nosuch.onmicrosoft.com' not found" in r.json()["error_description"]


def test_unknown_app_is_700016(world: World) -> None:
    r = raw_token(world.handle, world.domain, _secret_form(world, client_id=str(uuid.uuid4())))
    assert_aad_error(r, 400, "unauthorized_client", 700016)


def test_app_of_another_tenant_is_700016(emulator: EmulatorHandle, world: World) -> None:
    other = make_world(emulator)
    try:
        r = raw_token(emulator, other.domain, _secret_form(world))
        assert_aad_error(r, 400, "unauthorized_client", 700016)
    finally:
        other.http.close()


def test_bad_secret_is_7000215(world: World) -> None:
    r = raw_token(world.handle, world.domain, _secret_form(world, client_secret="nope"))
    assert_aad_error(r, 401, "invalid_client", 7000215)
    assert world.app.client_id in r.json()["error_description"]


def test_expired_secret_is_7000222(world: World) -> None:
    old = world.handle.control.add_secret(world.app.client_id, expires=datetime.now(UTC) - timedelta(days=1))
    assert old.value
    r = raw_token(world.handle, world.domain, _secret_form(world, client_secret=old.value))
    assert_aad_error(r, 401, "invalid_client", 7000222)


def _assertion_form(world: World, assertion: str) -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "client_id": world.app.client_id,
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": assertion,
        "scope": "https://graph.microsoft.com/.default",
    }


def test_assertion_signed_by_another_key_is_700027(world: World) -> None:
    _, cert = make_cert()
    other_key, _ = make_cert()
    world.handle.control.add_certificate(world.app.client_id, cert_pem(cert))
    aud = world.handle.token_url(world.tenant_id)
    assertion = own_assertion(world.app.client_id, aud, other_key, cert)  # thumbprint of cert, key of another
    r = raw_token(world.handle, world.tenant_id, _assertion_form(world, assertion))
    assert_aad_error(r, 401, "invalid_client", 700027)
    assert "did not match the expected signature value" in r.json()["error_description"]


def test_assertion_with_unregistered_certificate_is_700027(world: World) -> None:
    key, cert = make_cert()
    aud = world.handle.token_url(world.tenant_id)
    r = raw_token(
        world.handle,
        world.tenant_id,
        _assertion_form(world, own_assertion(world.app.client_id, aud, key, cert)),
    )
    assert_aad_error(r, 401, "invalid_client", 700027)
    assert "The key was not found." in r.json()["error_description"]


def test_assertion_without_thumbprint_is_50012(world: World) -> None:
    key, _ = make_cert()
    now = time.time()
    assertion = jwt.encode(
        {
            "aud": world.handle.token_url(world.tenant_id),
            "iss": world.app.client_id,
            "sub": world.app.client_id,
            "nbf": now,
            "exp": now + 60,
        },
        key_pem(key),
        algorithm="RS256",
    )
    r = raw_token(world.handle, world.tenant_id, _assertion_form(world, assertion))
    assert_aad_error(r, 401, "invalid_client", 50012)


def test_assertion_checks_audience_issuer_and_lifetime(world: World) -> None:
    key, cert = make_cert()
    world.handle.control.add_certificate(world.app.client_id, cert_pem(cert))
    aud = world.handle.token_url(world.tenant_id)
    cases = [
        (own_assertion(world.app.client_id, "https://example.com/token", key, cert), 700023),
        (own_assertion(world.app.client_id, aud, key, cert, iss=str(uuid.uuid4())), 700021),
        (
            own_assertion(
                world.app.client_id, aud, key, cert, nbf=time.time() - 7200, exp=time.time() - 3600
            ),
            700024,
        ),
    ]
    for assertion, code in cases:
        r = raw_token(world.handle, world.tenant_id, _assertion_form(world, assertion))
        assert_aad_error(r, 401, "invalid_client", code)
    # a float exp/nbf and the domain-name audience are fine
    ok = own_assertion(
        world.app.client_id, world.handle.token_url(world.domain), key, cert, exp=time.time() + 300.5
    )
    assert raw_token(world.handle, world.domain, _assertion_form(world, ok)).status_code == 200


def test_scope_must_be_dot_default(world: World) -> None:
    r = raw_token(world.handle, world.domain, _secret_form(world, scope="Calendars.ReadWrite"))
    assert_aad_error(r, 400, "invalid_scope", 1002012)


# -- Graph's side of tokens ----------------------------------------------------------------------


def test_graph_rejects_missing_malformed_and_expired_tokens(world: World) -> None:
    path = world.url(f"users/{world.upn}/calendar")
    with httpx.Client(verify=tls_context(world.handle), trust_env=False) as http:
        for headers in (
            {},
            {"Authorization": "Bearer not-a-jwt"},
            {"Authorization": f"Bearer {world.token}x"},
        ):
            r = http.get(path, headers=headers)
            assert r.status_code == 401
            err = r.json()["error"]
            assert err["code"] == "InvalidAuthenticationToken"
            assert set(err["innerError"]) >= {"date", "request-id", "client-request-id"}
        world.handle.control.set_knobs(access_token_lifetime_s=0)
        r = raw_token(world.handle, world.domain, _secret_form(world))
        assert r.json()["expires_in"] == 0
        r = http.get(path, headers={"Authorization": f"Bearer {r.json()['access_token']}"})
        assert r.status_code == 401
        assert r.json()["error"]["message"] == "Access token has expired or is not yet valid."


def test_app_without_calendar_permission_gets_access_denied(emulator: EmulatorHandle) -> None:
    w = make_world(emulator, permissions=["Calendars.Read"])
    try:
        assert w.get(f"users/{w.upn}/calendar/events").status_code == 200
        r = w.post(f"users/{w.upn}/calendar/events", json={"subject": "x"})
        assert r.status_code == 403
        assert r.json()["error"]["code"] == "ErrorAccessDenied"
        assert r.json()["error"]["message"] == "Access is denied. Check credentials and try again."
    finally:
        w.http.close()
    w = make_world(emulator, permissions=[])
    try:
        r = w.get(f"users/{w.upn}/calendar/events")
        assert r.status_code == 403 and r.json()["error"]["code"] == "ErrorAccessDenied"
    finally:
        w.http.close()
