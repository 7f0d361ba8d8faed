"""Secrets of a refused submission, held in the session for "save without testing"."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.http import HttpRequest

from sfacal.web.companies import held_secrets

pytestmark = pytest.mark.django_db

PFX = b"\x30\x82pfx-bytes\x00\xff"


def request_with_session() -> HttpRequest:
    request = HttpRequest()
    request.session = SessionStore()  # type: ignore[attr-defined]
    return request


def test_held_values_come_back_only_with_their_token_and_company():
    request = request_with_session()
    token = held_secrets.hold(request, "form", 7, {"client_secret": "s3cret~value", "certificate_pfx": PFX})
    assert held_secrets.held(request, "form", 7, token) == {
        "client_secret": "s3cret~value",
        "certificate_pfx": PFX,
    }
    assert held_secrets.held(request, "other-form", 7, token) == {}
    assert held_secrets.held(request, "form", 8, token) == {}  # another company: and now dropped
    assert held_secrets.held(request, "form", 7, token) == {}


def test_held_values_are_encrypted_in_the_session():
    request = request_with_session()
    held_secrets.hold(request, "form", 1, {"api_key": "plain-api-key-123"})
    request.session.save()  # type: ignore[attr-defined]
    stored = SessionStore(session_key=request.session.session_key)  # type: ignore[attr-defined]
    dumped = json.dumps(dict(stored.items()))
    assert "plain-api-key-123" not in dumped and "sfacal.held_secrets" in dumped


def test_held_values_expire_and_can_be_released(monkeypatch):
    request = request_with_session()
    monkeypatch.setattr(held_secrets, "HOLD_FOR", timedelta(seconds=-1))
    token = held_secrets.hold(request, "form", 1, {"api_key": "k"})
    assert held_secrets.held(request, "form", 1, token) == {}
    monkeypatch.undo()
    token = held_secrets.hold(request, "form", 1, {"api_key": "k"})
    held_secrets.release(request, "form")
    assert held_secrets.held(request, "form", 1, token) == {}


def test_nothing_to_hold_gives_no_token():
    request = request_with_session()
    assert held_secrets.hold(request, "form", 1, {"client_secret": "", "certificate_pfx": None}) == ""
