"""Secrets are encrypted at rest with a key from the environment or a 0600 key file."""

from __future__ import annotations

import stat

import pytest
from cryptography.fernet import Fernet

from sfacal.directory import crypto


@pytest.fixture
def fresh_key(monkeypatch, tmp_path):
    monkeypatch.setenv("SFACAL_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("SFACAL_SECRET_KEY", raising=False)
    crypto.reset_key_cache()
    yield tmp_path
    crypto.reset_key_cache()


def test_key_file_is_generated_once_with_0600(fresh_key):
    token = crypto.encrypt_text("s3cret")
    key_file = fresh_key / crypto.KEY_FILE_NAME
    assert key_file.exists()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    first = key_file.read_text()
    crypto.reset_key_cache()
    assert crypto.decrypt_text(token) == "s3cret"
    assert key_file.read_text() == first


def test_ciphertext_does_not_contain_the_secret(fresh_key):
    token = crypto.encrypt_text("client-secret-value")
    assert "client-secret-value" not in token
    assert crypto.decrypt_text(token) == "client-secret-value"


def test_env_passphrase_is_stretched_into_a_key(monkeypatch, fresh_key):
    monkeypatch.setenv("SFACAL_SECRET_KEY", "a long passphrase chosen by the operator")
    crypto.reset_key_cache()
    token = crypto.encrypt_text("x")
    assert crypto.decrypt_text(token) == "x"
    assert not (fresh_key / crypto.KEY_FILE_NAME).exists()


def test_rotation_old_tokens_still_decrypt_and_rotate_to_new_key(monkeypatch, fresh_key):
    old = Fernet.generate_key().decode()
    new = Fernet.generate_key().decode()
    monkeypatch.setenv("SFACAL_SECRET_KEY", old)
    crypto.reset_key_cache()
    token = crypto.encrypt_text("pfx-password")
    monkeypatch.setenv("SFACAL_SECRET_KEY", f"{new},{old}")
    crypto.reset_key_cache()
    assert crypto.decrypt_text(token) == "pfx-password"
    rotated = crypto.rotate(token)
    monkeypatch.setenv("SFACAL_SECRET_KEY", new)
    crypto.reset_key_cache()
    assert crypto.decrypt_text(rotated) == "pfx-password"
    with pytest.raises(crypto.SecretDecryptionError):
        crypto.decrypt_text(token)


def test_wrong_key_gives_a_clear_error(monkeypatch, fresh_key):
    monkeypatch.setenv("SFACAL_SECRET_KEY", Fernet.generate_key().decode())
    crypto.reset_key_cache()
    token = crypto.encrypt_text("x")
    monkeypatch.setenv("SFACAL_SECRET_KEY", Fernet.generate_key().decode())
    crypto.reset_key_cache()
    with pytest.raises(crypto.SecretDecryptionError, match="SFACAL_SECRET_KEY"):
        crypto.decrypt_text(token)
