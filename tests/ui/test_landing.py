"""Where each role lands (after sign-in, on ``/``), and that no "not allowed" page leads back to itself.

A super-administrator has no company: the dashboard is not theirs (403), so their landing page is the
companies list. Every link on a 403 or 404 page must lead to a page the account may open.
"""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.test import Client
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from sfacal.directory.companies.models import Role
from tests.ui.conftest import PASSWORD, make_user

pytestmark = pytest.mark.django_db

MAIN = re.compile(r"<main[^>]*>(.*?)</main>", re.S)
HREF = re.compile(r'href="(/[^"]*)"')


def sign_in(username: str) -> tuple[Client, str]:
    """Sign in through the form, as a browser does; the client and the URL it landed on."""
    client = Client(HTTP_ACCEPT_LANGUAGE="ja")
    response = client.post(reverse("login"), {"username": username, "password": PASSWORD}, follow=True)
    assert response.status_code == 200, response.status_code
    return client, response.request["PATH_INFO"]


def links_in_main(body: str) -> list[str]:
    match = MAIN.search(body)
    assert match is not None
    return HREF.findall(match.group(1))


def assert_every_link_opens(client: Client, page: str, status: int) -> None:
    response = client.get(page)
    assert response.status_code == status
    for href in links_in_main(response.content.decode()):
        followed = client.get(href, follow=True)
        assert followed.status_code == 200, (page, href, followed.status_code)
        assert followed.request["PATH_INFO"] != page, (page, href)


@pytest.fixture
def root() -> object:
    return make_user(None, "root", Role.SUPER_ADMIN)


def test_u1_super_admin_lands_on_the_companies_list_after_sign_in(root):
    _client, landed = sign_in("root")
    assert landed == reverse("companies")


def test_u1_super_admin_root_url_is_the_companies_list(root):
    client, _ = sign_in("root")
    response = client.get("/", follow=True)
    assert response.request["PATH_INFO"] == reverse("companies")


def test_u1_super_admin_brand_link_leads_to_the_companies_list(root):
    client, _ = sign_in("root")
    body = client.get(reverse("companies")).content.decode()
    brand = re.search(r'<a class="brand" href="([^"]+)"', body)
    assert brand is not None
    assert client.get(brand.group(1), follow=True).request["PATH_INFO"] == reverse("companies")


def test_u1_super_admin_forbidden_dashboard_links_to_the_companies_list(root):
    client, _ = sign_in("root")
    assert_every_link_opens(client, reverse("dashboard"), 403)
    assert_every_link_opens(client, reverse("company_settings"), 403)


def test_u1_super_admin_not_found_page_links_to_an_open_page(root):
    client, _ = sign_in("root")
    assert_every_link_opens(client, "/no-such-page/", 404)


def test_u1_company_admin_lands_on_the_dashboard(admin_user):
    client, landed = sign_in("admin")
    assert landed == reverse("dashboard")
    assert_every_link_opens(client, reverse("companies"), 403)


def test_u1_employee_forbidden_page_links_to_the_dashboard(employee):
    client, landed = sign_in("taro")
    assert landed == reverse("dashboard")
    assert_every_link_opens(client, reverse("company_settings"), 403)


def test_u1_account_without_company_gets_no_link_back_to_the_same_refusal(db):
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_user(username="nobody", password=PASSWORD)
    client = Client(HTTP_ACCEPT_LANGUAGE="ja")
    response = client.post(reverse("login"), {"username": "nobody", "password": PASSWORD}, follow=True)
    assert response.status_code == 403
    for href in links_in_main(response.content.decode()):
        assert client.get(href, follow=True).status_code != 403, href


def test_u1_accepted_invitation_of_a_super_admin_lands_on_the_companies_list(db):
    invited = make_user(None, "root2", Role.SUPER_ADMIN)
    uid = urlsafe_base64_encode(force_bytes(invited.pk))  # type: ignore[attr-defined]
    token = default_token_generator.make_token(invited)  # type: ignore[arg-type]
    client = Client(HTTP_ACCEPT_LANGUAGE="ja")
    url = reverse("accept_invitation", args=[uid, token])
    form = {"new_password1": "another-horse-battery-7", "new_password2": "another-horse-battery-7"}
    response = client.post(url, form, follow=True)
    assert response.request["PATH_INFO"] == reverse("companies")
