"""Layout measured in Chromium: the dashboard's stat cards keep their distance from the panel below."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model

from sfacal.directory.companies.models import Membership, Role
from sfacal.directory.companies.provisioning import ensure_company
from tests.e2e.test_walk import PASSWORD, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def admin(db: Any) -> str:
    company = ensure_company("acme", "ACME")
    user = get_user_model().objects.create_user("admin", password=PASSWORD)
    Membership.objects.create(user=user, company=company, role=Role.COMPANY_ADMIN)
    return "admin"


@pytest.mark.parametrize("phone", [False, True])
def test_l3_stat_cards_do_not_touch_the_panel_below(live_server, admin, new_page, phone):
    page = new_page(phone=phone)
    sign_in(page, live_server.url, admin)
    gap = page.evaluate(
        """() => {
            const grid = document.querySelector("main .grid");
            const next = grid.nextElementSibling;
            return next.getBoundingClientRect().top - grid.getBoundingClientRect().bottom;
        }"""
    )
    panel_gap = page.evaluate(
        """() => {
            const panel = document.querySelector("main section.panel");
            return parseFloat(getComputedStyle(panel).marginBottom);
        }"""
    )
    assert gap >= panel_gap > 0  # the same breathing space as between two panels
