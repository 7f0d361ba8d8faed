"""The push API fuzzed from its own OpenAPI document: never a 5xx, and every answer conforms
(status codes, content types and bodies as documented). In-process through WSGI; bounded and
derandomized so it runs the same way in CI."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.generation.modes import GenerationMode

from sfacal.directory.companies.provisioning import ensure_company
from sfacal.directory.connections.models import ApiToken
from sfacal.directory.employees.models import Employee

pytestmark = pytest.mark.django_db

EXAMPLES_PER_OPERATION = 12
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def in_process() -> Iterator[None]:
    # As Django's test client does: keep the test's database connection across WSGI requests.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def _run(strategy: Any, check: Callable[[Any], None]) -> None:
    @given(case=strategy)
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        check(case)

    run()


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_push_api_fuzzed_from_openapi_has_no_5xx_and_conforms(in_process, mode):
    from sfacal.web.wsgi import application

    company = ensure_company("acme", "ACME")
    Employee.objects.create(company=company, login_id="tanaka", state="on", user_id="tanaka@example.com")
    _, token = ApiToken.issue(company, "fuzz")
    auth = {"Authorization": f"Bearer {token}"}
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 12

    def check(case: Any) -> None:
        response = case.call(headers=auth)
        case.validate_response(response, checks=CHECKS)

    fuzzed = 0
    for operation in operations:
        try:
            _run(operation.as_strategy(mode, headers=auth), check)
        except Unsatisfiable:
            # Nothing to make invalid (e.g. a GET without parameters): only in negative mode.
            assert mode is GenerationMode.NEGATIVE, operation.label
            continue
        fuzzed += 1
    assert fuzzed >= (len(operations) if mode is GenerationMode.POSITIVE else 6)
