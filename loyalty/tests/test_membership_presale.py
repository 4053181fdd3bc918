"""Members' presale: a ticket type with a ``member_presale_start`` is for members only from then until its
public ``sales_start``. The sales window is the only thing that changes for them: seats are taken by the same
guarded reserve, so members cannot oversell either. The event page says so honestly, to everyone."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership, User
from accounts.selectors import membership_active
from accounts.tests.factories import UserFactory, VerifiedUserFactory
from events.models import TicketType
from orders.exceptions import SalesClosed, SoldOut
from orders.models import Order
from orders.tests.factories import place_order, ticket_type_on_sale
from orders.tests.htmlquery import Node, soup
from orders.tests.payments_helpers import counters

pytestmark = pytest.mark.django_db
MS = Membership.Status


def _member(*, status: str = MS.ACTIVE, days_left: int = 20, user: User | None = None) -> User:
    user = user or VerifiedUserFactory()
    Membership.objects.create(
        user=user,
        status=status,
        stripe_subscription_id=f"sub_{user.pk}",
        current_period_end=timezone.now() + timedelta(days=days_left),
    )
    return user


def _presale(*, capacity: int = 10, opens_in: timedelta = timedelta(hours=-1), **kwargs: Any) -> TicketType:
    """A ticket type whose public sales start in two days; members' presale opens ``opens_in`` from now."""
    now = timezone.now()
    return ticket_type_on_sale(
        capacity=capacity,
        name="Presale standing",
        sales_start=now + timedelta(days=2),
        member_presale_start=now + opens_in,
        **kwargs,
    )


def test_only_active_members_buy_in_the_presale() -> None:
    tt = _presale()
    refused: dict[str, User | None] = {
        "guest": None,
        "not a member": UserFactory(),
        "cancelled": _member(status=MS.CANCELED),
        "past due": _member(status=MS.PAST_DUE),
        "incomplete": _member(status=MS.INCOMPLETE),
        "paid period over": _member(days_left=-1),
    }
    for who, buyer in refused.items():
        with pytest.raises(SalesClosed) as caught:
            place_order(tt, 1, buyer=buyer)
        assert caught.value.extra["reason"] == "members_only", who
        assert caught.value.message == "Only members can buy during the presale."
    assert counters(tt) == (0, 0)

    member = _member()
    order = place_order(tt, 2, buyer=member)
    assert order.status == Order.Status.PENDING
    assert counters(tt) == (0, 2)


def test_before_the_presale_opens_members_wait_too_and_after_sales_start_everyone_buys() -> None:
    member = _member()
    early = _presale(opens_in=timedelta(hours=1))
    with pytest.raises(SalesClosed) as caught:
        place_order(early, 1, buyer=member)
    assert caught.value.extra["reason"] == "not_started"

    public = early.sales_start + timedelta(minutes=1)
    assert place_order(early, 1, buyer=None, now=public).status == Order.Status.PENDING  # a guest, publicly


def test_members_cannot_oversell_the_presale() -> None:
    tt = _presale(capacity=2)
    first, second = _member(), _member()
    with pytest.raises(SoldOut):
        place_order(tt, 3, buyer=first)
    place_order(tt, 2, buyer=first)
    with pytest.raises(SoldOut):
        place_order(tt, 1, buyer=second)
    assert counters(tt) == (0, 2)


# --- the event page ---------------------------------------------------------------------------------------


def _page(client: Client, tt: TicketType) -> Node:
    response = client.get(reverse("events:detail", kwargs={"slug": tt.event.slug}))
    assert response.status_code == 200
    return soup(response.content)


def _text(node: Node) -> str:
    return " ".join(node.get_text(" ", strip=True).split())


def _badge(page: Node) -> str:
    return page.select_one(".ticket-type .badge").get_text(strip=True)


def _quantity_select(page: Node, tt: TicketType) -> Node | None:
    return page.select_one(f"form.buy-form select[name=qty_{tt.pk}]")


def test_the_event_page_tells_everyone_about_the_presale_and_only_members_get_the_select() -> None:
    tt = _presale()
    guest = _page(Client(), tt)
    assert _badge(guest).startswith("Members' presale — opens to everyone on ")
    assert _quantity_select(guest, tt) is None
    note = guest.select_one(".buy-presale")
    assert "Grasshopper Plus members can buy Presale standing now; everyone else when sales open" in _text(
        note
    )
    assert note.select_one("a")["href"] == reverse("membership:join")

    someone = Client()
    someone.force_login(VerifiedUserFactory())
    page = _page(someone, tt)
    assert _badge(page).startswith("Members' presale — opens to everyone on ")
    assert _quantity_select(page, tt) is None
    assert page.select_one(".buy-presale a") is not None

    member = _member()
    client = Client()
    client.force_login(member)
    page = _page(client, tt)
    # Not the shared "opens to everyone on …" of the cached part: what holds for them, above their select.
    assert _badge(page) == "10 left (members' presale)"
    assert _quantity_select(page, tt) is not None
    assert _badge(_page(Client(), tt)).startswith("Members' presale — opens to everyone on ")  # still shared
    assert "As a Grasshopper Plus member you can buy Presale standing now" in _text(
        page.select_one(".buy-presale")
    )
    assert page.select_one(".buy-presale a") is None

    response = client.post(reverse("orders:checkout_start"), {"event": tt.event.slug, f"qty_{tt.pk}": "2"})
    order = Order.objects.get(buyer=member)
    assert response.status_code == 302
    assert response["Location"] == reverse("orders:checkout", kwargs={"code": order.code})
    assert counters(tt) == (0, 2)


def test_a_non_member_posting_anyway_is_told_it_is_members_only() -> None:
    tt = _presale()
    client = Client()
    client.force_login(VerifiedUserFactory())
    response = client.post(
        reverse("orders:checkout_start"), {"event": tt.event.slug, f"qty_{tt.pk}": "1"}, follow=True
    )
    assert "Only members can buy during the presale." in response.content.decode()
    assert not Order.objects.exists()


def test_before_the_presale_the_page_gives_both_dates_and_after_sales_start_no_presale_note() -> None:
    tt = _presale(opens_in=timedelta(days=1), capacity=100)
    page = _page(Client(), tt)
    assert "; members from " in _badge(page)
    assert _badge(page).startswith("Sales start ")
    assert page.select_one(".buy-presale") is None

    TicketType.objects.filter(pk=tt.pk).update(
        sales_start=timezone.now() - timedelta(minutes=1),
        member_presale_start=timezone.now() - timedelta(days=1),
    )
    from django.core.cache import cache

    cache.clear()
    page = _page(Client(), tt)
    assert _badge(page) == "On sale"
    assert page.select_one(".buy-presale") is None
    assert _quantity_select(page, tt) is not None


def test_membership_active_is_false_for_anonymous_and_missing_rows() -> None:
    from django.contrib.auth.models import AnonymousUser

    assert not membership_active(user=AnonymousUser())
    assert not membership_active(user=None)
    assert not membership_active(user=UserFactory())
    member = _member(days_left=3)
    assert membership_active(user=member)
    assert not membership_active(user=member, now=timezone.now() + timedelta(days=4))
