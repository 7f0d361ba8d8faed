"""Real MSAL against the emulator over TLS: both authentication methods, and each failure's hint (C6, C7, L2)."""

from __future__ import annotations

import base64
import logging
import socket
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from sfacal.calendars.msgraph import GraphAuth, GraphSettings, MicrosoftGraphCalendar
from sfacal.calendars.msgraph.blocking import check_connection
from sfacal.core.errors import (
    AccessDeniedError,
    AppNotFoundError,
    CertificateExpiredError,
    InputError,
    InvalidSignatureError,
    NetworkError,
    PfxUnreadableError,
    SecretExpiredError,
    SecretInvalidError,
    TenantNotFoundError,
    ThumbprintMismatchError,
)

from .helpers import M365, make_certificate


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _token_requests(m365: M365) -> int:
    return int(m365.control.counters()["token_requests"])


def test_c6_token_by_client_secret_v2_endpoint(m365: M365) -> None:
    auth = GraphAuth(m365.secret_settings())
    token = auth.acquire()
    assert token.token.count(".") == 2
    assert token.roles == frozenset({"Calendars.ReadWrite"})
    assert token.expires_at > datetime.now(UTC).timestamp() + 600


def test_c6_v1_token_endpoint_with_domain_tenant_works(m365: M365) -> None:
    v1 = m365.emu.token_url(m365.tenant.domain, v2=False)
    auth = GraphAuth(m365.secret_settings(token_endpoint=v1))
    assert auth.endpoint.version == "v1"
    assert auth.endpoint.tenant == m365.tenant.domain
    assert auth.acquire().roles == frozenset({"Calendars.ReadWrite"})


def test_c6_token_reused_until_expiry(m365: M365) -> None:
    auth = GraphAuth(m365.secret_settings())
    before = _token_requests(m365)
    first = auth.acquire()
    second = auth.acquire()
    assert first.token == second.token
    assert _token_requests(m365) - before == 1


def test_c6_token_by_certificate_in_password_protected_pfx_base64_thumbprint(m365: M365) -> None:
    cert = make_certificate("秘密-pass")
    thumb_b64 = base64.b64encode(cert.sha1).decode()  # the first manual's base64Thumbprint.txt
    auth = GraphAuth(m365.certificate_settings(cert, thumbprint=thumb_b64))
    assert auth.acquire().roles == frozenset({"Calendars.ReadWrite"})
    assert auth.certificate_expires_at == cert.not_valid_after


def test_c6_certificate_hex_thumbprint_with_separators_and_v1_endpoint(m365: M365) -> None:
    cert = make_certificate()
    hex_thumb = "\u200e" + " ".join(cert.sha1.hex()[i : i + 2] for i in range(0, 40, 2)).lower()
    settings = m365.certificate_settings(
        cert, thumbprint=hex_thumb, token_endpoint=m365.emu.token_url(m365.tenant.id, v2=False)
    )
    assert GraphAuth(settings).acquire().token


def test_c6_pfx_without_password(m365: M365) -> None:
    cert = make_certificate("")
    assert GraphAuth(m365.certificate_settings(cert, pfx_password=None)).acquire().token


def test_l2_wrong_client_id_hint(m365: M365) -> None:
    settings = replace(m365.secret_settings(), client_id="11111111-2222-3333-4444-555555555555")
    with pytest.raises(AppNotFoundError) as info:
        GraphAuth(settings).acquire()
    assert info.value.upstream_code == "AADSTS700016"
    assert "クライアントID" in info.value.hint("ja")
    assert "client ID" in info.value.hint("en")


def test_l2_certificate_differs_from_uploaded_invalid_signature(m365: M365) -> None:
    uploaded = make_certificate()
    other = make_certificate()
    settings = replace(m365.certificate_settings(uploaded), pfx=other.pfx, pfx_password=other.password)
    with pytest.raises(InvalidSignatureError) as info:
        GraphAuth(settings).acquire()
    assert info.value.upstream_code in ("AADSTS700027", "AADSTS50012")
    assert "証明書" in info.value.hint("ja")


def test_l2_wrong_pfx_password_hint_before_network_call(m365: M365) -> None:
    cert = make_certificate("right")
    settings = replace(
        m365.certificate_settings(cert),
        pfx_password="Wr0ngPassXYZ",
        token_endpoint=f"https://127.0.0.1:{_closed_port()}/{m365.tenant.id}/oauth2/v2.0/token",
    )
    with pytest.raises(PfxUnreadableError) as info:
        GraphAuth(settings)
    assert "パスワード" in info.value.hint("ja")
    assert "Wr0ngPassXYZ" not in str(info.value) and "Wr0ngPassXYZ" not in info.value.user_message("en")


def test_l2_pfx_wrong_format_hint_before_network_call(m365: M365) -> None:
    settings = replace(
        m365.certificate_settings(),
        pfx=b"-----BEGIN CERTIFICATE-----\nnot a pfx\n",
        token_endpoint="https://login.nonexistent-host.invalid/t/oauth2/v2.0/token",
    )
    with pytest.raises(PfxUnreadableError):
        GraphAuth(settings)


def test_l2_wrong_thumbprint_hint_before_network_call(m365: M365) -> None:
    before = _token_requests(m365)
    settings = m365.certificate_settings(thumbprint=base64.b64encode(b"\x01" * 20).decode())
    with pytest.raises(ThumbprintMismatchError) as info:
        GraphAuth(settings)
    assert "拇印" in info.value.hint("ja")
    assert _token_requests(m365) == before
    result = check_connection(settings)
    assert not result.ok and result.code == "thumbprint_mismatch"
    assert _token_requests(m365) == before


def test_l2_thumbprint_that_is_not_a_thumbprint(m365: M365) -> None:
    with pytest.raises(ThumbprintMismatchError):
        GraphAuth(m365.certificate_settings(thumbprint="not-a-thumbprint"))


def test_l2_expired_certificate_detected_locally(m365: M365) -> None:
    cert = make_certificate(days=-1, not_before_days=30)
    with pytest.raises(CertificateExpiredError) as info:
        GraphAuth(m365.certificate_settings(cert))
    assert cert.not_valid_after.date().isoformat() in info.value.user_message("en")


def test_l2_wrong_tenant_token_endpoint_90002(m365: M365) -> None:
    settings = m365.secret_settings(token_endpoint=m365.emu.token_url("nonexistent.onmicrosoft.com"))
    with pytest.raises(TenantNotFoundError) as info:
        GraphAuth(settings).acquire()
    assert "トークンエンドポイント" in info.value.hint("ja")


@pytest.mark.parametrize(
    "endpoint",
    [
        "",
        "http://login.microsoftonline.com/t/oauth2/token",
        "https://login.microsoftonline.com/t/oauth2/authorize",
        "https://login.microsoftonline.com/common/oauth2/v2.0/token",
        "login.microsoftonline.com/t/oauth2/token",
    ],
)
def test_c6_invalid_token_endpoint_names_the_field(m365: M365, endpoint: str) -> None:
    with pytest.raises(InputError) as info:
        GraphAuth(m365.secret_settings(token_endpoint=endpoint))
    assert info.value.field == "token_endpoint"


def test_l2_connection_refused_network_hint(m365: M365) -> None:
    port = _closed_port()
    settings = m365.secret_settings(
        token_endpoint=f"https://127.0.0.1:{port}/{m365.tenant.id}/oauth2/v2.0/token"
    )
    with pytest.raises(NetworkError) as info:
        GraphAuth(settings).acquire()
    assert info.value.params["kind"] == "refused"
    assert "443" in info.value.hint("ja")


def test_l2_dns_failure_network_hint(m365: M365) -> None:
    settings = m365.secret_settings(
        token_endpoint="https://login.nonexistent-host.invalid/t1/oauth2/v2.0/token"
    )
    with pytest.raises(NetworkError) as info:
        GraphAuth(settings).acquire()
    assert info.value.params["kind"] == "dns"
    assert info.value.params["host"] == "login.nonexistent-host.invalid"


def test_l2_tls_verification_failure_network_hint(m365: M365, tmp_path: object) -> None:
    import trustme

    other_ca = trustme.CA()
    path = f"{tmp_path}/other-ca.pem"
    other_ca.cert_pem.write_to_path(path)
    with pytest.raises(NetworkError) as info:
        GraphAuth(m365.secret_settings(ca_bundle=path)).acquire()
    assert info.value.params["kind"] == "tls"
    assert "TLS" in info.value.hint("en")


def test_l2_client_secret_wrong_7000215(m365: M365) -> None:
    settings = replace(m365.secret_settings(), client_secret="not-the-secret-value")
    with pytest.raises(SecretInvalidError) as info:
        GraphAuth(settings).acquire()
    assert "値" in info.value.hint("ja")
    assert "not-the-secret-value" not in str(info.value)


def test_l2_client_secret_expired_7000222(m365: M365) -> None:
    app = m365.control.create_app(m365.tenant.id, secret_expires=datetime.now(UTC) - timedelta(days=1))
    settings = replace(m365.secret_settings(), client_id=app.client_id, client_secret=app.secret)
    with pytest.raises(SecretExpiredError):
        GraphAuth(settings).acquire()


def test_l2_access_denied_without_calendars_readwrite(m365: M365) -> None:
    settings = m365.secret_settings(permissions=("Calendars.Read",))
    result = check_connection(settings)
    assert not result.ok
    assert isinstance(result.error, AccessDeniedError)
    assert "Calendars.ReadWrite" in result.hint("ja")
    assert "管理者の同意" in result.hint("ja")


def test_l2_secrets_never_in_errors_logs_or_repr(m365: M365, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "Zz8Q~very-secret-value-123"
    settings = replace(m365.secret_settings(), client_secret=secret)
    with pytest.raises(SecretInvalidError) as info:
        GraphAuth(settings).acquire()
    err = info.value
    texts = [str(err), repr(err), err.detail, err.user_message("en"), err.hint("en"), repr(settings)]
    texts.append(repr(GraphAuth(settings)))
    texts.append(caplog.text)
    for text in texts:
        assert secret not in text
    cert = make_certificate("pfx-secret-777")
    cert_settings = m365.certificate_settings(cert)
    assert "pfx-secret-777" not in repr(cert_settings)
    assert "PRIVATE KEY" not in repr(GraphAuth(cert_settings).certificate)


def test_l2_expiry_warnings_for_certificate_and_secret(m365: M365) -> None:
    cert = make_certificate(days=10)
    auth = GraphAuth(m365.certificate_settings(cert))
    [warning] = auth.expiry_warnings()
    assert warning.kind.value == "certificate" and 8 <= warning.days_left <= 10
    soon = datetime.now(UTC) + timedelta(days=5)
    secret_auth = GraphAuth(m365.secret_settings(secret_expires_at=soon))
    [secret_warning] = secret_auth.expiry_warnings()
    assert secret_warning.kind.value == "client_secret"
    assert GraphAuth(m365.secret_settings()).expiry_warnings() == ()


def test_c7_check_connection_ok_by_certificate_reports_details(m365: M365) -> None:
    cert = make_certificate(days=20)
    settings = m365.certificate_settings(cert)
    result = check_connection(settings)
    assert result.ok, result.to_dict("en")
    data = result.to_dict("ja")
    assert data["details"]["certificate"]["thumbprint_hex"] == cert.sha1.hex().upper()
    assert data["details"]["roles"] == ["Calendars.ReadWrite"]
    assert data["warnings"] and data["warnings"][0]["code"] == "credential_expiring_soon"


def test_c7_check_connection_reports_local_error_without_raising(m365: M365) -> None:
    settings = replace(m365.certificate_settings(), pfx=b"garbage")
    service = MicrosoftGraphCalendar.from_settings(settings)
    assert isinstance(service.setup_error, PfxUnreadableError)
    result = check_connection(settings)
    assert not result.ok and result.code == "pfx_unreadable"
    assert result.message("en") and result.hint("ja")


def test_c6_settings_validate_fields() -> None:
    with pytest.raises(InputError) as info:
        GraphSettings(client_id="x", token_endpoint="x", graph_base_url="http://graph.example")
    assert info.value.field == "graph_base_url"
    with pytest.raises(InputError):
        GraphSettings(client_id="x", token_endpoint="x", batch_size=21)
    with pytest.raises(InputError):
        GraphAuth(
            GraphSettings(client_id="", token_endpoint="https://login.microsoftonline.com/t/oauth2/token")
        )
