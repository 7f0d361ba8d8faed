"""Secrets never reach a log line."""

from __future__ import annotations

import logging

from sfacal.web.logfilters import RedactSecretsFilter, redact


def test_redact_key_value_and_bearer():
    text = 'client_secret=abc123&x=1 "password": "pw" Authorization: Bearer eyJ.abc.def'
    out = redact(text)
    assert "abc123" not in out and '"pw"' not in out and "eyJ.abc.def" not in out
    assert "x=1" in out


def test_filter_rewrites_the_record():
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "token %s", ("api_key=SECRET",), None)
    RedactSecretsFilter().filter(record)
    assert "SECRET" not in record.getMessage()
