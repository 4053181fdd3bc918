"""The waitlist on the event page and under /waitlist/: joining (signed in at once, a guest by email and a
confirmation link), the place in line, leaving in one click, "waitlist active", live offers with their Pay
link, and one visitor's state never showing in another visitor's page."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import UserFactory
from events.models import Event, TicketType
from orders.models import Order
from orders.services import order_cancel
from orders.tests.factories import ticket_type_on_sale
from orders.tests.htmlquery import soup
from waitlist.models import WaitlistEntry
from waitlist.services import entry_join, entry_verify, waitlist_pause
from waitlist.signing import LEAVE, VERIFY, entry_token_make
from waitlist.tests.factories import join, live_offer, sold_out, state

pytestmark = pytest.mark.django_db
E = WaitlistEntry.Status


def event_url(tt: TicketType) -> str:
    return reverse("events:detail", kwargs={"slug": tt.event.slug})


def text(node: Any) -> str:
    return " ".join(node.get_text(" ", strip=True).split()) if node is not None else ""


def waitlist_block(client: Client, tt: TicketType) -> str:
    """What the event page's waitlist block for ``tt`` says to this client ("" when there is none)."""
    response = client.get(event_url(tt))
    assert response.status_code == 200
    return text(soup(response.content).select_one(f"#waitlist-tt-{tt.pk}"))


def post_join(client: Client, tt: TicketType, quantity: int = 1, **data: Any) -> Any:
    return client.post(
        reverse("waitlist:join"), {"ticket_type": tt.pk, "quantity": quantity, "next": event_url(tt), **data}
    )


@pytest.fixture
def sent(django_capture_on_commit_callbacks: Any) -> Any:
    return lambda: django_capture_on_commit_callbacks(execute=True)


def verify_link(message: Any) -> str:
    found = re.search(r"https?://[^/\s]+(/waitlist/confirm/[^/\s]+/)", message.body)
    assert found, message.body
    return found[1]


# --- signed in ---------------------------------------------------------------------------------------


def test_a_signed_in_fan_joins_a_sold_out_ticket_type_and_sees_their_place(client: Client) -> None:
    tt, _ = sold_out(2, max_per_order=3)
    join(tt)  # somebody is ahead
    user = UserFactory()
    client.force_login(user)

    block = waitlist_block(client, tt)
    assert "Join the waitlist" in block
    select = soup(client.get(event_url(tt)).content).select_one(f"#waitlist-qty-{tt.pk}")
    assert [option["value"] for option in select.select("option")] == ["1", "2", "3"]  # up to max_per_order

    response = post_join(client, tt, 2)
    assert response.status_code == 302
    assert response.url == f"{event_url(tt)}#waitlist-tt-{tt.pk}"
    entry = WaitlistEntry.objects.get(user=user)
    assert (entry.status, entry.quantity) == (E.WAITING, 2)
    block = waitlist_block(client, tt)
    assert "You are 2nd in line for 2 tickets" in block
    assert "Leave the waitlist" in block
    assert "Join the waitlist" not in block


def test_leaving_is_one_click_and_the_join_form_comes_back(client: Client) -> None:
    tt, _ = sold_out(2)
    user = UserFactory()
    client.force_login(user)
    first = join(tt, user=user)
    behind = join(tt)

    response = client.post(reverse("waitlist:leave", kwargs={"entry_id": first.pk}), {"next": event_url(tt)})
    assert response.status_code == 302
    assert state(first) == (E.LEFT, None)
    assert state(behind) == (E.WAITING, 1)
    page = client.get(response.url)
    assert f"You left the waitlist for {tt.name}." in text(soup(page.content).select_one("#messages"))
    assert "Join the waitlist" in waitlist_block(client, tt)


def test_htmx_join_and_leave_swap_the_block_with_the_new_state_and_the_message(client: Client) -> None:
    tt, _ = sold_out(1)
    user = UserFactory()
    client.force_login(user)
    htmx = {"HTTP_HX_REQUEST": "true"}

    response = client.post(reverse("waitlist:join"), {"ticket_type": tt.pk, "quantity": 1}, **htmx)
    assert response.status_code == 200
    html = soup(response.content)
    block = html.select_one(f"article#waitlist-tt-{tt.pk}")
    assert "You are 1st in line for 1 ticket" in text(block)
    assert block.select_one(".waitlist-state").has_attr("autofocus")  # the new state takes focus
    assert html.select_one("#messages")["hx-swap-oob"] == "innerHTML"
    assert f"You joined the waitlist for {tt.name}." in text(html.select_one("#messages"))

    entry = WaitlistEntry.objects.get(user=user)
    response = client.post(reverse("waitlist:leave", kwargs={"entry_id": entry.pk}), **htmx)
    assert "Join the waitlist" in text(soup(response.content).select_one(f"#waitlist-tt-{tt.pk}"))


def test_a_refused_join_says_why_and_writes_nothing(client: Client) -> None:
    tt = TicketType.objects.get(pk=sold_out(1, max_per_order=2)[0].pk)
    client.force_login(UserFactory())
    response = post_join(client, tt, 3)  # more than max_per_order
    page = client.get(response.url)
    assert "Choose 1 to 2 tickets." in text(soup(page.content).select_one("#messages"))
    assert not WaitlistEntry.objects.exists()
    # Nobody can join the waitlist of a ticket type that is on sale: no form either.
    on_sale, _ = sold_out(1)
    TicketType.objects.filter(pk=on_sale.pk).update(capacity=5)
    assert waitlist_block(client, on_sale) == ""
    post_join(client, on_sale)
    assert not WaitlistEntry.objects.filter(ticket_type=on_sale).exists()


def test_an_unknown_ticket_type_or_somebody_elses_entry_is_not_found(client: Client) -> None:
    tt, _ = sold_out(1)
    client.force_login(UserFactory())
    assert post_join(client, tt, ticket_type=10**12).status_code == 404
    other = join(tt)
    response = client.post(reverse("waitlist:leave", kwargs={"entry_id": other.pk}))
    assert response.status_code == 404
    assert state(other) == (E.WAITING, 1)


# --- guests ------------------------------------------------------------------------------------------


def test_a_guest_joins_by_email_confirms_by_the_link_and_sees_their_place(client: Client, sent: Any) -> None:
    tt, _ = sold_out(1)
    join(tt)
    block = waitlist_block(client, tt)
    assert "Your email" in block

    with sent():
        post_join(client, tt, 1, email="Fan@Example.com")
    entry = WaitlistEntry.objects.get(email="fan@example.com")
    assert entry.status == E.UNVERIFIED
    assert "Check your email. We sent a link to fan@example.com" in waitlist_block(client, tt)
    [message] = mail.outbox
    assert message.to == ["fan@example.com"]
    assert message.subject == f"Confirm your place on the waitlist for {tt.event.title}"

    # The link opens a page with one button: a mail scanner's GET confirms nothing.
    link = verify_link(message)
    page = client.get(link)
    assert page.status_code == 200
    assert page["Referrer-Policy"] == "same-origin"
    assert "Confirm my place" in text(soup(page.content).select_one("main"))
    assert state(entry) == (E.UNVERIFIED, None)

    response = client.post(link)
    assert response.status_code == 302
    assert state(entry) == (E.WAITING, 2)
    page = text(soup(client.get(response.url).content).select_one("main"))
    assert "Your place on the waitlist is confirmed." in page
    assert "You are 2nd in line for 1 ticket" in page
    # Back on the event page, this browser sees its place too.
    assert "You are 2nd in line" in waitlist_block(client, tt)


def test_a_confirmation_link_opened_in_another_browser_shows_the_place_there(client: Client) -> None:
    tt, _ = sold_out(1)
    entry = entry_join(ticket_type=tt, quantity=1, user=None, email="fan@example.com")
    phone = Client()
    phone.post(reverse("waitlist:verify", kwargs={"token": entry_token_make(entry=entry, purpose=VERIFY)}))
    assert "You are 1st in line" in waitlist_block(phone, tt)
    assert "in line" not in waitlist_block(client, tt)  # the browser that never had the link sees nothing


def test_a_bad_or_wrong_purpose_link_opens_nothing(client: Client) -> None:
    tt, _ = sold_out(1)
    entry = entry_join(ticket_type=tt, quantity=1, user=None, email="fan@example.com")
    leave_token = entry_token_make(entry=entry, purpose=LEAVE)
    for token in ("nonsense", leave_token):
        response = client.get(reverse("waitlist:verify", kwargs={"token": token}))
        assert response.status_code == 400
        assert "This link does not work" in response.content.decode()
        client.post(reverse("waitlist:verify", kwargs={"token": token}))
    assert state(entry) == (E.UNVERIFIED, None)


def test_a_guest_leaves_by_the_link_in_their_email(client: Client) -> None:
    tt, _ = sold_out(1)
    entry = entry_join(ticket_type=tt, quantity=1, user=None, email="fan@example.com")
    entry_verify(token=entry_token_make(entry=entry, purpose=VERIFY))
    url = reverse("waitlist:leave_by_token", kwargs={"token": entry_token_make(entry=entry, purpose=LEAVE)})
    page = client.get(url)
    assert "Leave the waitlist?" in page.content.decode()
    assert state(entry) == (E.WAITING, 1)  # a GET (a mail scanner) changes nothing
    response = client.post(url)
    assert state(entry) == (E.LEFT, None)
    page = text(soup(client.get(response.url).content).select_one("main"))
    assert "You left the waitlist" in page
    assert "You are not on this waitlist" in page


def test_a_guest_who_never_confirmed_can_leave_too(client: Client) -> None:
    tt, _ = sold_out(1)
    post_join(client, tt, email="fan@example.com")
    entry = WaitlistEntry.objects.get()
    client.post(reverse("waitlist:leave", kwargs={"entry_id": entry.pk}))
    assert state(entry) == (E.LEFT, None)
    assert "Join the waitlist" in waitlist_block(client, tt)


# --- one visitor's state is theirs alone ---------------------------------------------------------------


def test_a_visitors_place_never_shows_in_another_visitors_page(client: Client) -> None:
    tt, _ = sold_out(1)
    alice = UserFactory()
    client.force_login(alice)
    post_join(client, tt)
    guest = Client()
    post_join(guest, tt, email="guest-one@example.com")
    # Both pages are rendered (and the event page's parts cached) with their own state first...
    assert "You are 1st in line" in waitlist_block(client, tt)
    assert "guest-one@example.com" in waitlist_block(guest, tt)

    # ...then nobody else sees any of it: another guest, another signed-in user.
    bob = Client()
    bob.force_login(UserFactory())
    for other in (Client(), bob):
        html = other.get(event_url(tt)).content.decode()
        assert "in line" not in html
        assert "guest-one@example.com" not in html
        assert alice.email not in html
        assert "Join the waitlist" in html
    # And none of it is in the cache (the event page's shared parts, the waitlist's shared state).
    stored = list(cache.get_many(cache.keys("*")).values())  # django-redis
    assert any("Join the waitlist" in str(value) or "events.page" in str(value) for value in stored) or stored
    assert all("in line" not in str(value) and "guest-one" not in str(value) for value in stored)


def test_the_event_page_shows_waitlist_active_while_freed_seats_are_kept_for_the_line(client: Client) -> None:
    tt, orders = sold_out(1, 1, max_per_order=2)
    join(tt, 2)
    assert "Waitlist active" not in waitlist_block(client, tt)
    order_cancel(order=orders[0], actor=None)  # one seat freed, the entry wants two: withheld for the line
    tt.refresh_from_db()
    assert tt.withheld == 1
    cache.clear()  # the shared state is kept a few seconds, like the seats shown next to it
    assert "Waitlist active — freed seats go to the people waiting first." in waitlist_block(client, tt)


def test_a_live_offer_shows_with_a_pay_link_to_the_offer_orders_checkout(client: Client) -> None:
    tt, orders = sold_out(1, max_per_order=2)
    user = UserFactory()
    client.force_login(user)
    entry = join(tt, 1, user=user)
    order_cancel(order=orders[0], actor=None)
    offer = live_offer(entry)
    assert offer is not None

    html = soup(client.get(event_url(tt)).content)
    block = text(html.select_one(f"#waitlist-tt-{tt.pk}"))
    assert "Tickets are held for you: 1 \u00d7 General admission until" in block
    pay = html.select_one(f"#waitlist-tt-{tt.pk} a[role=button]")
    assert pay["href"] == reverse("orders:checkout", kwargs={"code": offer.order.code})
    assert "No thanks: leave the waitlist" in block

    mine = soup(client.get(reverse("waitlist:mine")).content)
    assert mine.select_one(".waitlist-entry a[role=button]")["href"] == pay["href"]
    assert client.get(pay["href"]).status_code == 200  # the buyer's checkout page opens


def test_a_guests_offer_links_to_the_signed_checkout(client: Client) -> None:
    tt, orders = sold_out(1)
    post_join(client, tt, email="fan@example.com")
    entry = WaitlistEntry.objects.get()
    client.post(reverse("waitlist:verify", kwargs={"token": entry_token_make(entry=entry, purpose=VERIFY)}))
    order_cancel(order=orders[0], actor=None)
    offer = live_offer(entry)
    assert offer is not None
    assert offer.order.buyer_id is None

    pay = soup(client.get(event_url(tt)).content).select_one(f"#waitlist-tt-{tt.pk} a[role=button]")
    assert pay["href"].startswith(f"/orders/{offer.order.code}/checkout/?t=")
    assert Client().get(pay["href"]).status_code == 200  # the signed link opens it anywhere


def test_a_paused_waitlist_takes_nobody_new(client: Client) -> None:
    tt, _ = sold_out(1)
    waitlist_pause(ticket_type=tt, actor=None)
    assert "The waitlist is paused" in waitlist_block(client, tt)


# --- /waitlist/ ----------------------------------------------------------------------------------------


def test_my_waitlists_lists_places_and_leaves_in_one_click(client: Client) -> None:
    user = UserFactory()
    client.force_login(user)
    first_tt, _ = sold_out(1)
    second_tt, _ = sold_out(1)
    join(first_tt)
    join(first_tt)
    mine_first = join(first_tt, 2, user=user)
    join(second_tt, user=user)

    page = soup(client.get(reverse("waitlist:mine")).content)
    entries = [text(node) for node in page.select(".waitlist-entry")]
    assert len(entries) == 2
    assert "You are 3rd in line for 2 tickets" in entries[1]  # newest first
    assert "You are 1st in line for 1 ticket" in entries[0]

    response = client.post(
        reverse("waitlist:leave", kwargs={"entry_id": mine_first.pk}), {"next": reverse("waitlist:mine")}
    )
    assert response.url == reverse("waitlist:mine")
    assert len(soup(client.get(response.url).content).select(".waitlist-entry")) == 1


def test_my_waitlists_shows_what_ended_lately_without_actions(client: Client) -> None:
    """A cancelled event's entry (and any ended entry) stays visible 30 days, so nobody finds it gone."""
    user = UserFactory()
    client.force_login(user)
    cancelled_tt, _ = sold_out(1)
    closed = join(cancelled_tt, 2, user=user)
    WaitlistEntry.objects.filter(pk=closed.pk).update(status=WaitlistEntry.Status.CLOSED)
    old_tt, _ = sold_out(1)
    old = join(old_tt, user=user)
    WaitlistEntry.objects.filter(pk=old.pk).update(
        status=WaitlistEntry.Status.LAPSED, modified=timezone.now() - timedelta(days=31)
    )
    left_tt, _ = sold_out(1)
    left = join(left_tt, user=user)
    WaitlistEntry.objects.filter(pk=left.pk).update(status=WaitlistEntry.Status.LEFT)
    others_tt, _ = sold_out(1)
    theirs = join(others_tt)
    WaitlistEntry.objects.filter(pk=theirs.pk).update(status=WaitlistEntry.Status.CLOSED)

    page = soup(client.get(reverse("waitlist:mine")).content)

    assert "You are not on any waitlist." not in text(page)
    assert "You are not waiting for any tickets now." in text(page)
    still_waiting_tt, _ = sold_out(1)
    join(still_waiting_tt, user=user)
    page = soup(client.get(reverse("waitlist:mine")).content)
    waiting = [node for node in page.select(".waitlist-entry") if "waitlist-entry-ended" not in node["class"]]
    assert len(waiting) == 1
    assert waiting[0].select("form.waitlist-leave button")  # an active entry keeps its Leave button
    assert text(page.select_one("#waitlist-ended-title")) == "Ended lately"
    ended = page.select(".waitlist-entry-ended")
    assert len(ended) == 1  # not the one ended 31 days ago, not the one left, not another user's
    assert "The event is cancelled: its waitlist is closed, and nothing was charged." in text(ended[0])
    assert "2 \u00d7 " in text(ended[0])
    assert not ended[0].select("form, button")


def test_my_waitlists_asks_to_sign_in_and_shows_an_empty_state(client: Client) -> None:
    response = client.get(reverse("waitlist:mine"))
    assert response.status_code == 302
    assert "/accounts/login/" in response.url
    client.force_login(UserFactory())
    assert "You are not on any waitlist." in client.get(reverse("waitlist:mine")).content.decode()


def test_my_waitlists_costs_the_same_queries_for_one_entry_or_many(
    client: Client, django_assert_max_num_queries: Any
) -> None:
    user = UserFactory()
    client.force_login(user)
    tt, orders = sold_out(1)
    join(tt, user=user)
    client.get(reverse("waitlist:mine"))  # warm the session
    with django_assert_max_num_queries(5) as one:
        client.get(reverse("waitlist:mine"))
    for _ in range(4):
        other, _ = sold_out(1)
        join(other, user=user)
    order_cancel(order=orders[0], actor=None)  # and one live offer
    with django_assert_max_num_queries(len(one.captured_queries)):
        response = client.get(reverse("waitlist:mine"))
    assert len(soup(response.content).select(".waitlist-entry")) == 5


def test_the_event_page_costs_no_query_for_the_waitlist_when_nothing_is_sold_out(
    client: Client, django_assert_num_queries: Any
) -> None:
    tt, _ = sold_out(1)
    TicketType.objects.filter(pk=tt.pk).update(capacity=10)
    client.get(event_url(tt))  # the page's parts are cached
    with django_assert_num_queries(0):
        assert client.get(event_url(tt)).status_code == 200


def test_the_sold_out_event_page_shares_the_waitlist_state_between_anonymous_visitors(
    client: Client, django_assert_num_queries: Any
) -> None:
    tt, _ = sold_out(1)
    client.get(event_url(tt))
    with django_assert_num_queries(0):
        html = Client().get(event_url(tt)).content.decode()
    assert "Join the waitlist" in html


def test_offers_are_paid_through_the_normal_checkout(client: Client) -> None:
    """Declining from the checkout page (its Cancel) is the same as leaving: the seats go to the next."""
    tt, orders = sold_out(1)
    user = UserFactory()
    client.force_login(user)
    entry = join(tt, user=user)
    behind = join(tt)
    order_cancel(order=orders[0], actor=None)
    offer = live_offer(entry)
    assert offer is not None
    client.post(reverse("orders:cancel", kwargs={"code": offer.order.code}))
    offer.order.refresh_from_db()
    assert offer.order.status == Order.Status.CANCELLED
    assert state(entry)[0] == E.DECLINED
    assert live_offer(behind) is not None


def test_in_lottery_mode_fans_join_before_sales_open_and_are_in_the_draw(client: Client) -> None:
    tt = ticket_type_on_sale(capacity=10, sales_start=timezone.now() + timedelta(days=2))
    Event.objects.filter(pk=tt.event_id).update(waitlist_lottery=True)
    client.force_login(UserFactory())
    block = waitlist_block(client, tt)
    assert "Join the waitlist before then to take part in the draw" in block
    post_join(client, tt, 2)
    assert (
        "You are in the draw for 2 tickets: your place in line is drawn when sales open."
        in waitlist_block(client, tt)
    )
