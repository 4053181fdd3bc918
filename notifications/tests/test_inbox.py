"""The inbox pages: /account/notifications/ (list, mark read, mark all read, pagination, the preference
form) and the bell in the header, with its fragment endpoint. A user only ever sees their own."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from accounts.tests.factories import UserFactory
from notifications.models import Notification, Preference
from notifications.services_inbox import NotificationIdsInvalid, notifications_mark_read
from notifications.tests.inbox_helpers import inbox_add, inbox_fill
from orders.tests.htmlquery import soup

pytestmark = pytest.mark.django_db

INBOX = "/account/notifications/"
MARK_READ = "/account/notifications/read/"
BELL = "/account/notifications/bell/"
PREFERENCES = "/account/notifications/preferences/"


@pytest.fixture
def alice() -> User:
    return UserFactory(email="alice@example.com")


@pytest.fixture
def bob() -> User:
    return UserFactory(email="bob@example.com")


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def titles(html: bytes) -> list[str]:
    return [
        node.get_text(strip=True)
        for node in soup(html).select(".inbox-item .inbox-item-title a, .inbox-item .inbox-item-title strong")
    ]


def bell_label(html: bytes) -> str:
    link = soup(html).select_one("#notification-bell-link")
    assert link is not None, "no bell"
    return link["aria-label"]


# --- The page and the bell: only one's own --------------------------------------------------------------


def test_urls_are_where_the_contract_says() -> None:
    assert reverse("notifications:inbox") == INBOX
    assert reverse("notifications:mark_read") == MARK_READ
    assert reverse("notifications:bell") == BELL


def test_inbox_needs_sign_in() -> None:
    response = Client().get(INBOX)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_inbox_lists_own_notifications_newest_first_with_unread_marked(alice: User, bob: User) -> None:
    now = timezone.now()
    inbox_add(alice, "Your tickets for Linda Martini", read=True, created=now - timedelta(hours=2))
    inbox_add(alice, "Refund issued", link="/orders/ABCD234567/", created=now - timedelta(hours=1))
    inbox_add(bob, "Bob's secret order", created=now)

    response = signed_in(alice).get(INBOX)

    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")  # never_cache: private data
    assert titles(response.content) == ["Refund issued", "Your tickets for Linda Martini"]
    assert b"Bob&#x27;s secret order" not in response.content
    assert b"secret order" not in response.content
    page = soup(response.content)
    items = page.select(".inbox-item")
    # Unread: visibly (class, label) and for screen readers (the label's text starts the title).
    assert "is-unread" in items[0]["class"]
    assert "is-unread" not in items[1]["class"]
    assert items[0].select_one(".unread-label").get_text(strip=True) == "Unread:"
    assert items[1].select_one(".unread-label") is None
    assert items[0].select_one("a")["href"] == "/orders/ABCD234567/"
    # Only the unread one has a "Mark as read" button; the page offers "Mark all as read".
    assert len(items[0].select("form button")) == 1
    assert items[1].select("form button") == []
    assert page.select_one("#mark-all-read") is not None
    assert page.select_one("#inbox-summary").get_text(strip=True) == "1 unread"
    assert bell_label(response.content) == "Notifications, 1 unread"


def test_a_link_off_site_is_not_rendered_as_a_link(alice: User) -> None:
    inbox_add(alice, "Odd", link="//evil.example/phish")
    inbox_add(alice, "Odder", link="javascript:alert(1)")
    page = soup(signed_in(alice).get(INBOX).content)
    assert page.select(".inbox-item a") == []
    assert titles(signed_in(alice).get(INBOX).content) == ["Odder", "Odd"]


def test_empty_inbox_says_so(alice: User, bob: User) -> None:
    inbox_add(bob, "Not yours")
    page = soup(signed_in(alice).get(INBOX).content)
    assert page.select(".inbox-item") == []
    assert "No notifications yet." in page.select_one(".inbox-empty").get_text()
    assert page.select_one("#mark-all-read") is None


def test_inbox_pages_20_at_a_time_newest_first(alice: User) -> None:
    inbox_fill(alice, 25)
    client = signed_in(alice)

    first = client.get(INBOX)
    second = client.get(INBOX, {"page": 2})

    assert titles(first.content) == [f"Item {i}" for i in range(25, 5, -1)]
    assert titles(second.content) == [f"Item {i}" for i in range(5, 0, -1)]
    pager = soup(first.content).select_one("nav.inbox-pager")
    assert pager is not None
    assert "Page 1 of 2" in pager.get_text()
    assert pager.select_one("a[rel=next]")["href"] == "?page=2"
    # A page past the end shows the last page, not an error.
    assert titles(client.get(INBOX, {"page": 99}).content) == titles(second.content)


def test_inbox_page_query_count_does_not_grow_with_rows(alice: User) -> None:
    client = signed_in(alice)
    inbox_fill(alice, 2)
    with CaptureQueriesContext(connection) as few:
        assert client.get(INBOX).status_code == 200
    inbox_fill(alice, 20)
    with CaptureQueriesContext(connection) as many:
        assert client.get(INBOX).status_code == 200
    assert len(many) == len(few)


def test_bell_in_header_for_signed_in_users_only(alice: User) -> None:
    inbox_fill(alice, 3)

    anonymous = Client().get("/events/")
    mine = signed_in(alice).get("/events/")

    assert b"notification-bell" not in anonymous.content
    assert bell_label(mine.content) == "Notifications, 3 unread"
    bell = soup(mine.content).select_one("#notification-bell")
    assert bell["hx-get"] == BELL
    assert "every 60s" in bell["hx-trigger"]
    assert "notifications-changed" in bell["hx-trigger"]
    assert soup(mine.content).select_one("#notification-bell-link")["href"] == INBOX
    assert soup(mine.content).select_one(".bell-badge").get_text() == "3"


def test_bell_fragment_counts_only_own_unread(alice: User, bob: User) -> None:
    inbox_fill(alice, 2)
    inbox_add(alice, "Seen", read=True)
    inbox_fill(bob, 5)

    mine = signed_in(alice).get(BELL)
    his = signed_in(bob).get(BELL)

    assert mine.status_code == 200
    assert "no-cache" in mine["Cache-Control"]
    assert bell_label(mine.content) == "Notifications, 2 unread"
    assert bell_label(his.content) == "Notifications, 5 unread"
    assert soup(mine.content).select_one(".bell-badge").get_text() == "2"


def test_bell_fragment_with_nothing_unread_has_no_badge(alice: User) -> None:
    inbox_add(alice, "Seen", read=True)
    response = signed_in(alice).get(BELL)
    assert bell_label(response.content) == "Notifications, 0 unread"
    assert soup(response.content).select_one(".bell-badge") is None


def test_bell_badge_caps_at_99(alice: User) -> None:
    Notification.objects.bulk_create(
        [Notification(user=alice, kind="k", reference=str(i), title="t") for i in range(120)]
    )
    response = signed_in(alice).get(BELL)
    assert bell_label(response.content) == "Notifications, 120 unread"
    assert soup(response.content).select_one(".bell-badge").get_text() == "99+"


def test_bell_fragment_for_a_signed_out_browser_is_empty() -> None:
    response = Client().get(BELL)
    assert response.status_code == 204
    assert response.content == b""


# --- Mark read, mark all read ---------------------------------------------------------------------------


def test_mark_one_read_without_javascript(alice: User) -> None:
    older, newer = inbox_fill(alice, 2)
    client = signed_in(alice)

    response = client.post(MARK_READ, {"id": older.pk})

    assert response.status_code == 302
    assert response["Location"] == INBOX
    older.refresh_from_db()
    newer.refresh_from_db()
    assert older.read_at is not None
    assert newer.read_at is None
    page = client.get(INBOX)
    assert bell_label(page.content) == "Notifications, 1 unread"
    assert "Notification marked as read." in page.content.decode()


def test_mark_one_read_keeps_the_page(alice: User) -> None:
    items = inbox_fill(alice, 25)
    response = signed_in(alice).post(MARK_READ, {"id": items[0].pk, "page": "2"})
    assert response["Location"] == f"{INBOX}?page=2"


def test_cannot_mark_someone_elses_notification(alice: User, bob: User) -> None:
    theirs = inbox_add(bob, "Bob's")
    mine = inbox_add(alice, "Alice's")
    client = signed_in(alice)

    response = client.post(MARK_READ, {"id": theirs.pk}, follow=True)

    theirs.refresh_from_db()
    mine.refresh_from_db()
    assert theirs.read_at is None
    assert mine.read_at is None
    assert "Some of these notifications do not exist." in response.content.decode()


def test_mark_all_read_marks_only_own(alice: User, bob: User) -> None:
    inbox_fill(alice, 3)
    inbox_fill(bob, 2)
    client = signed_in(alice)

    response = client.post(MARK_READ, {"all": "on"}, follow=True)

    assert Notification.objects.filter(user=alice, read_at__isnull=True).count() == 0
    assert Notification.objects.filter(user=bob, read_at__isnull=True).count() == 2
    assert bell_label(response.content) == "Notifications, 0 unread"
    assert "All notifications are marked as read." in response.content.decode()
    assert soup(response.content).select(".inbox-item.is-unread") == []
    assert soup(response.content).select_one("#inbox-summary").get_text(strip=True) == "All read"


def test_mark_read_needs_one_or_all(alice: User) -> None:
    item = inbox_add(alice, "Still unread")
    client = signed_in(alice)
    for data in ({}, {"id": item.pk, "all": "on"}, {"id": "abc"}):
        response = client.post(MARK_READ, data, follow=True)
        assert "Choose a notification to mark as read." in response.content.decode()
    item.refresh_from_db()
    assert item.read_at is None


def test_mark_read_needs_post_and_sign_in(alice: User) -> None:
    item = inbox_add(alice)
    assert signed_in(alice).get(MARK_READ).status_code == 405
    response = Client().post(MARK_READ, {"all": "on"})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    item.refresh_from_db()
    assert item.read_at is None


def test_mark_read_needs_the_csrf_token(alice: User) -> None:
    item = inbox_add(alice)
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.post(MARK_READ, {"all": "on"}).status_code == 403
    item.refresh_from_db()
    assert item.read_at is None


def test_mark_all_read_with_htmx_swaps_the_list_and_tells_the_bell(alice: User) -> None:
    inbox_fill(alice, 2)

    response = signed_in(alice).post(MARK_READ, {"all": "on"}, headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert response["HX-Trigger"] == "notifications-changed"
    page = soup(response.content)
    assert page.select_one("section#inbox") is not None
    assert page.select(".inbox-item.is-unread") == []
    # Focus goes to the heading; the message is swapped into the page's live region.
    assert page.select_one("#inbox-title").has_attr("autofocus")
    messages = page.select_one("#messages")
    assert messages["hx-swap-oob"] == "innerHTML"
    assert "All notifications are marked as read." in messages.get_text()
    assert b"<html" not in response.content  # a fragment, not the page


def test_mark_one_read_with_htmx_focuses_the_item(alice: User) -> None:
    older, newer = inbox_fill(alice, 2)
    response = signed_in(alice).post(MARK_READ, {"id": older.pk}, headers={"HX-Request": "true"})
    page = soup(response.content)
    assert page.select_one(f"#notification-{older.pk}").has_attr("autofocus")
    assert not page.select_one(f"#notification-{newer.pk}").has_attr("autofocus")
    assert [n["id"] for n in page.select(".inbox-item.is-unread")] == [f"notification-{newer.pk}"]


def test_mark_read_service_refuses_foreign_ids_and_marks_nothing(alice: User, bob: User) -> None:
    mine = inbox_add(alice)
    theirs = inbox_add(bob)
    with pytest.raises(NotificationIdsInvalid) as error:
        notifications_mark_read(user=alice, ids=[mine.pk, theirs.pk, 10**12])
    assert error.value.extra == {"ids": sorted([theirs.pk, 10**12])}
    assert Notification.objects.filter(read_at__isnull=False).count() == 0


def test_mark_read_again_keeps_the_first_read_time(alice: User) -> None:
    item = inbox_add(alice)
    first = timezone.now() - timedelta(days=1)
    assert notifications_mark_read(user=alice, ids=[item.pk], now=first) == 0
    assert notifications_mark_read(user=alice, ids=[item.pk]) == 0
    item.refresh_from_db()
    assert item.read_at == first


# --- The marketing-email preference --------------------------------------------------------------------


def test_preference_form_switches_marketing_off_and_on(alice: User) -> None:
    client = signed_in(alice)
    checkbox = soup(client.get(INBOX).content).select_one("input#id_marketing_email")
    assert checkbox.has_attr("checked")  # on until the user says otherwise

    response = client.post(PREFERENCES, {})  # an unchecked box sends nothing
    assert response.status_code == 302
    assert response["Location"] == f"{INBOX}#email-preferences"
    assert Preference.objects.get(user=alice).marketing_email is False
    page = client.get(INBOX)
    assert not soup(page.content).select_one("input#id_marketing_email").has_attr("checked")
    assert "You will no longer get news and offers by email." in page.content.decode()

    client.post(PREFERENCES, {"marketing_email": "on"})
    assert Preference.objects.get(user=alice).marketing_email is True
    assert soup(client.get(INBOX).content).select_one("input#id_marketing_email").has_attr("checked")


def test_preference_form_changes_only_own_preference(alice: User, bob: User) -> None:
    signed_in(alice).post(PREFERENCES, {})
    assert Preference.objects.get(user=alice).marketing_email is False
    assert not Preference.objects.filter(user=bob).exists()


def test_preference_form_is_labelled_and_explains_transactional_email(alice: User) -> None:
    page = soup(signed_in(alice).get(INBOX).content)
    label = page.select_one("label[for=id_marketing_email]")
    assert "Email me news and offers" in label.get_text()
    help_id = page.select_one("#id_marketing_email")["aria-describedby"]
    assert "always sent" in page.select_one(f"#{help_id}").get_text()


def test_preference_form_needs_sign_in(alice: User) -> None:
    response = Client().post(PREFERENCES, {})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert not Preference.objects.exists()
