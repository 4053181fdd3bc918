"""allauth's pages inside the site layout: labelled controls, announced errors, nothing inline (CSP)."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from accounts.tests.factories import VerifiedUserFactory
from accounts.tests.helpers import Page

pytestmark = pytest.mark.django_db

SIGNED_OUT_PAGES = ["account_login", "account_signup", "account_reset_password"]


def assert_accessible_form_page(html: str) -> Page:
    page = Page(html)
    assert [main.get("id") for main in page.find_all("main")] == ["main"]
    assert page.find_all("header"), "not inside the site layout"
    assert page.find_all("footer"), "not inside the site layout"
    labelled = {label["for"] for label in page.find_all("label") if label.get("for")}
    controls = [
        attrs
        for tag in ("input", "select", "textarea")
        for attrs in page.find_all(tag)
        if attrs.get("type") not in {"hidden", "submit", "button"}
    ]
    assert controls
    for control in controls:
        assert control.get("id") in labelled, f"unlabelled control: {control}"
    assert not [attrs for _, attrs in page.tags if "style" in attrs], "inline style attribute"
    assert not [attrs for attrs in page.find_all("script") if "src" not in attrs], "inline script"
    assert not re.search(r"<style[\s>]", html), "inline <style> element"
    return page


@pytest.mark.parametrize("url_name", SIGNED_OUT_PAGES)
def test_signed_out_pages_render_in_the_site_layout(url_name: str) -> None:
    response = Client().get(reverse(url_name))

    assert response.status_code == 200
    assert "base.html" in [t.name for t in response.templates]
    assert_accessible_form_page(response.content.decode())
    title = re.search(r"<title>(.*?)</title>", response.content.decode(), re.S)
    assert title
    assert title.group(1).strip().endswith("· Grasshopper")


def test_a_failed_login_is_announced_and_tied_to_the_form() -> None:
    VerifiedUserFactory(email="someone@example.com")

    response = Client().post(reverse("account_login"), {"login": "someone@example.com", "password": "nope"})

    assert response.status_code == 200
    html = response.content.decode()
    page = assert_accessible_form_page(html)
    assert [attrs for attrs in page.find_all("div") if attrs.get("role") == "alert"]
    assert re.search(r"<title>\s*Error:", html)
    assert "not correct" in html


def test_field_errors_are_tied_to_their_controls() -> None:
    response = Client().post(
        reverse("account_signup"), {"email": "not-an-address", "password1": "x", "password2": "y"}
    )

    assert response.status_code == 200
    page = assert_accessible_form_page(response.content.decode())
    [email] = [attrs for attrs in page.find_all("input") if attrs.get("name") == "email"]
    assert email.get("aria-invalid") == "true"
    error_id = f"{email['id']}_error"
    assert error_id in email.get("aria-describedby", "").split()
    assert [attrs for attrs in page.find_all("ul") if attrs.get("id") == error_id]
    assert [attrs for attrs in page.find_all("a") if attrs.get("href") == f"#{email['id']}"]


def test_the_429_page_is_the_site_page() -> None:
    client = Client(REMOTE_ADDR="192.0.2.200")
    for n in range(6):
        response = client.post(reverse("account_reset_password"), {"email": f"x{n}@example.com"})

    assert response.status_code == 429
    assert "429.html" in [t.name for t in response.templates]
    assert "base.html" in [t.name for t in response.templates]
