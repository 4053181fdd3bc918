"""The site layout (templates/base.html) and the home page, read as HTML."""

import pytest
from django.test import Client
from django.urls import reverse

from grasshopper.tests.pagecheck import parse

pytestmark = pytest.mark.django_db

_FOCUSABLE = {"a", "button", "input", "select", "textarea", "summary"}


def test_layout_basics(client: Client) -> None:
    document = parse(client.get("/").content)

    assert document.find("html").attrs["lang"] == "en"
    assert (
        document.find("meta", {"name": "viewport"}).attrs["content"] == "width=device-width, initial-scale=1"
    )
    stylesheets = [link.attrs["href"] for link in document.find_all("link", {"rel": "stylesheet"})]
    assert stylesheets == ["/static/vendor/pico-2.1.1/pico.min.css", "/static/css/site.css"]
    assert document.find("footer").text.startswith("©")
    assert "Grasshopper" in document.find("footer").text


def test_skip_link_is_the_first_focusable_element_and_targets_main(client: Client) -> None:
    document = parse(client.get("/").content)

    focusable = [el for el in document.find("body").iter() if el.tag in _FOCUSABLE]
    assert focusable[0].attrs == {"class": "skip-link", "href": "#main"}
    assert focusable[0].text == "Skip to main content"
    main = document.find("main")
    assert main.attrs["id"] == "main"
    assert main.attrs["tabindex"] == "-1"


def test_anonymous_visitor_is_offered_log_in_and_sign_up(client: Client) -> None:
    nav = parse(client.get("/").content).find("nav", {"aria-label": "Main"})

    links = {a.text: a.attrs["href"] for a in nav.find_all("a")}
    assert links["Log in"] == reverse("account_login")
    assert links["Sign up"] == reverse("account_signup")
    assert not nav.find_all("form")
    assert "Admin" not in links


def test_signed_in_user_sees_their_email_and_a_logout_button(client: Client, django_user_model) -> None:
    client.force_login(django_user_model.objects.create_user(email="fan@example.com"))

    nav = parse(client.get("/").content).find("nav", {"aria-label": "Main"})

    assert "Signed in as fan@example.com" in nav.text
    form = nav.find("form")
    assert form.attrs["method"] == "post"
    assert form.attrs["action"] == reverse("account_logout")
    assert form.find("input", {"name": "csrfmiddlewaretoken"}).attrs["value"]
    assert form.find("button", {"type": "submit"}).text == "Log out"
    link_texts = [a.text for a in nav.find_all("a")]
    assert "Log in" not in link_texts
    assert "Admin" not in link_texts


def test_staff_see_a_link_to_the_admin(client: Client, django_user_model) -> None:
    client.force_login(django_user_model.objects.create_user(email="staff@example.com", is_staff=True))

    nav = parse(client.get("/").content).find("nav", {"aria-label": "Main"})

    assert nav.find("a", {"href": reverse("admin:index")}).text == "Admin"


@pytest.mark.urls("grasshopper.tests.urls")
def test_messages_are_announced_with_their_level(client: Client) -> None:
    region = parse(client.get("/__test__/messages/").content).find("div", {"id": "messages"})

    assert region.attrs["role"] == "status"
    assert region.attrs["aria-live"] == "polite"
    items = {li.text: li.attrs["class"] for li in region.find_all("li")}
    assert items == {
        "Your tickets are on their way.": "message message-success",
        "That card was declined.": "message message-error",
    }


def test_messages_region_is_present_even_when_empty(client: Client) -> None:
    region = parse(client.get("/").content).find("div", {"id": "messages"})

    assert region.attrs["role"] == "status"
    assert region.children == []


def test_home_page_has_a_labelled_event_search(client: Client) -> None:
    response = client.get(reverse("home"))

    assert response.status_code == 200
    main = parse(response.content).find("main")
    assert [h.text for h in main.find_all("h1")] == ["Live music, fair tickets."]
    form = main.find("search").find("form")
    assert form.attrs["method"] == "get"
    assert form.attrs["action"] == "/events/"
    field = form.find("input", {"name": "q"})
    assert field.attrs["type"] == "search"
    assert form.find("label", {"for": field.attrs["id"]}).text == "Search by artist, venue or city"


def test_home_page_says_no_events_are_on_sale_yet(client: Client) -> None:
    main = parse(client.get("/").content).find("main")

    section = main.find("section", {"aria-labelledby": "upcoming-title"})
    assert section.find("h2").text == "Upcoming events"
    assert "No events are on sale yet." in section.text


def test_header_links_to_the_event_list_and_marks_it_current_there(client: Client) -> None:
    home = client.get("/").content.decode()
    events = client.get(reverse("events:list")).content.decode()
    link = f'href="{reverse("events:list")}"'
    assert link in home
    assert f'{link} aria-current="page"' not in home
    assert f'{link} aria-current="page"' in events
