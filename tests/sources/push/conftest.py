"""Fixtures of the push API tests: a company, its token, and a client that sends it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from sfacal.directory.companies.models import Company
from sfacal.directory.companies.provisioning import ensure_company
from sfacal.directory.connections.models import ApiToken


@dataclass
class Api:
    client: Client
    token: str
    company: Company

    def _headers(self, headers: dict[str, str] | None) -> dict[str, str]:
        out = {"HTTP_AUTHORIZATION": f"Bearer {self.token}"}
        for name, value in (headers or {}).items():
            out["HTTP_" + name.upper().replace("-", "_")] = value
        return out

    def put(self, path: str, body: Any, headers: dict[str, str] | None = None) -> Any:
        data = body if isinstance(body, str | bytes) else json.dumps(body)
        return self.client.put(
            "/api/v1" + path, data=data, content_type="application/json", **self._headers(headers)
        )

    def post(self, path: str, body: Any, headers: dict[str, str] | None = None) -> Any:
        data = body if isinstance(body, str | bytes) else json.dumps(body)
        return self.client.post(
            "/api/v1" + path, data=data, content_type="application/json", **self._headers(headers)
        )

    def get(self, path: str, headers: dict[str, str] | None = None) -> Any:
        return self.client.get("/api/v1" + path, **self._headers(headers))

    def delete(self, path: str, headers: dict[str, str] | None = None) -> Any:
        return self.client.delete("/api/v1" + path, **self._headers(headers))


@pytest.fixture
def company(db: None) -> Company:
    return ensure_company("acme", "ACME")


@pytest.fixture
def api(company: Company) -> Api:
    _, token = ApiToken.issue(company, "sfa")
    return Api(Client(), token, company)


def meeting(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "商談",
        "status": "予定",
        "purpose": "定期訪問",
        "customer_name": "赤木電機",
        "customer_address": "東京都千代田区",
        "title": "定例",
        "content": "見積もりの説明",
        "participants": ["tanaka"],
        "start": "2026-11-24T10:00:00+09:00",
        "end": "2026-11-24T11:00:00+09:00",
    }
    body.update(overrides)
    return body
