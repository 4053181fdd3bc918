"""Error pages as visitors get them: DEBUG off, the real handlers, our templates.

The failing views live in grasshopper/tests/urls.py, a copy of the real URLconf plus those views.
"""

import pytest
from django.conf import settings
from django.template.loader import render_to_string
from django.test import Client, RequestFactory
from django.urls import reverse

from grasshopper import views
from grasshopper.tests.pagecheck import Element, parse

pytestmark = [pytest.mark.django_db, pytest.mark.urls("grasshopper.tests.urls")]


def _assert_error_page(document: Element, *, heading: str, title: str) -> None:
    """Our layout (skip link, main landmark), one clear heading, and a way back home."""
    assert document.find("a", {"class": "skip-link"}).attrs["href"] == "#main"
    main = document.find("main", {"id": "main"})
    assert [h.text for h in main.find_all("h1")] == [heading]
    assert title in document.find("title").text
    assert any(a.attrs.get("href") == "/" for a in main.find_all("a")), "no link home"


def test_debug_is_off() -> None:
    assert settings.DEBUG is False


def test_unknown_url_gets_the_404_page(client: Client) -> None:
    response = client.get("/this-does-not-exist/")

    assert response.status_code == 404
    assert response.templates[0].name == "errors/404.html"
    _assert_error_page(parse(response.content), heading="We can't find that page", title="Page not found")


def test_permission_denied_gets_the_403_page(client: Client) -> None:
    response = client.get("/__test__/permission-denied/")

    assert response.status_code == 403
    document = parse(response.content)
    _assert_error_page(document, heading="You don't have permission to see this page", title="Access denied")
    assert "expired" not in document.find("main").text


def test_csrf_failure_gets_the_expired_page() -> None:
    response = Client(enforce_csrf_checks=True).post("/__test__/form/")

    assert response.status_code == 403
    document = parse(response.content)
    _assert_error_page(document, heading="This page has expired", title="Page expired")
    assert "reload the page and try again" in document.find("main").text


def test_suspicious_request_gets_the_400_page(client: Client) -> None:
    response = client.get("/__test__/suspicious/")

    assert response.status_code == 400
    _assert_error_page(
        parse(response.content), heading="Sorry, we couldn't handle that request", title="Bad request"
    )


def test_unhandled_exception_gets_the_500_page() -> None:
    response = Client(raise_request_exception=False).get("/__test__/broken/")

    assert response.status_code == 500
    _assert_error_page(
        parse(response.content), heading="Something went wrong on our side", title="Server error"
    )


def test_500_page_leaves_out_the_account_menu_and_messages(client: Client, django_user_model) -> None:
    # The session, the user and the messages may be what broke; the 500 page must not touch them.
    client.force_login(django_user_model.objects.create_user(email="fan@example.com"))
    client.raise_request_exception = False

    response = client.get("/__test__/broken/")

    assert response.status_code == 500
    document = parse(response.content)
    assert "fan@example.com" not in response.content.decode()
    assert not document.find_all("form")
    assert document.find("div", {"id": "messages"}).children == []


def test_500_falls_back_to_a_bare_page_when_the_template_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_render(*args: object, **kwargs: object) -> None:
        raise RuntimeError("test: the template engine is broken too")

    monkeypatch.setattr(views, "render", broken_render)

    response = views.server_error(RequestFactory().get("/anything/"))

    assert response.status_code == 500
    assert "Something went wrong on our side" in response.content.decode()


def test_rate_limited_request_gets_the_429_page(client: Client) -> None:
    # django-ratelimit's middleware turns Ratelimited into settings.RATELIMIT_VIEW.
    response = client.get("/__test__/ratelimited/")

    assert response.status_code == 429
    assert response.headers["Retry-After"] == "60"
    _assert_error_page(
        parse(response.content),
        heading="Too many attempts — please wait a minute and try again",
        title="Too many attempts",
    )


def test_ratelimited_view_answers_429_with_retry_after(rf: RequestFactory) -> None:
    request = rf.post("/accounts/login/")

    response = views.ratelimited(request)

    assert response.status_code == 429
    assert response.headers["Retry-After"] == "60"
    assert "please wait a minute" in response.content.decode()


@pytest.mark.parametrize("template", ["400", "403", "404", "429", "500"])
def test_error_templates_render_without_a_request(template: str) -> None:
    # No request, no context processors, no `user`: the layout must still render.
    html = render_to_string(f"errors/{template}.html")

    document = parse(html)
    assert len(document.find("main").find_all("h1")) == 1
    assert document.find("a", {"class": "brand"}).attrs["href"] == reverse("home")
