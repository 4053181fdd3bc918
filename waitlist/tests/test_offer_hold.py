"""A waitlist offer's order is held until the offer's own expiry, and no longer: the checkout's one hold
extension ("extend once", ``orders.services.order_extend_hold``) cannot carry it past the offer, because
the next person in line waits for those seats. The rule lives here (``waitlist.selectors.offer_hold_limit``)
and reaches orders through ``orders.holds``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from orders import holds
from orders.exceptions import HoldNotExtendable
from orders.models import Order, OrderEvent
from orders.services import order_cancel, order_expire, order_extend_hold
from orders.tests.factories import place_order, ticket_type_on_sale
from orders.tests.htmlquery import soup
from waitlist.models import WaitlistOffer
from waitlist.services import waitlist_sweep
from waitlist.tests.factories import join, live_offer, sold_out

pytestmark = pytest.mark.django_db


def _offer() -> WaitlistOffer:
    tt, (order,) = sold_out(1)
    entry = join(tt, 1)
    order_cancel(order=order, actor=None)
    offer = live_offer(entry)
    assert offer is not None
    assert offer.order.expires_at == offer.expires_at
    return offer


def test_an_offers_hold_cannot_be_extended_past_the_offer() -> None:
    offer = _offer()
    events = OrderEvent.objects.filter(order=offer.order).count()

    with pytest.raises(HoldNotExtendable) as refused:
        order_extend_hold(order=offer.order)

    assert "offered to you from the waitlist" in refused.value.message
    assert refused.value.extra == {"until": offer.expires_at.isoformat()}
    order = Order.objects.get(pk=offer.order.pk)
    assert (order.expires_at, order.hold_extended) == (offer.expires_at, False)
    assert OrderEvent.objects.filter(order=order).count() == events  # nothing written
    # When the offer ends, the order lapses with it and the seats move on.
    later = offer.expires_at + timedelta(seconds=1)
    waitlist_sweep(now=later)
    offer.refresh_from_db()
    assert offer.status == WaitlistOffer.Status.LAPSED


def test_an_ordinary_order_still_extends_once() -> None:
    order = place_order(ticket_type_on_sale(), 1)
    before = order.expires_at
    extended = order_extend_hold(order=order)
    assert extended.expires_at == before + timedelta(minutes=5)
    assert extended.hold_extended


def test_a_limit_later_than_the_hold_caps_the_extension(monkeypatch: Any) -> None:
    order = place_order(ticket_type_on_sale(), 1)
    until = order.expires_at + timedelta(minutes=2)
    monkeypatch.setitem(holds._RULES, "test.cap", lambda o: holds.HoldLimit(until=until, message="Capped."))

    extended = order_extend_hold(order=order)

    assert extended.expires_at == until  # capped, not refused: 2 of the 5 minutes
    assert extended.hold_extended
    assert order_expire(order=extended, now=until + timedelta(seconds=1)).status == Order.Status.EXPIRED


def test_the_checkout_page_says_why_an_offer_has_no_extension() -> None:
    offer = _offer()
    client = Client()
    client.force_login(offer.entry.user)
    page = soup(client.get(reverse("orders:checkout", kwargs={"code": offer.order.code})).content)
    assert page.select_one("form.hold-extend") is None
    assert "this hold cannot be extended" in page.select_one("#hold").get_text(" ", strip=True)
    warning = page.select_one("#hold-warning").get_text(" ", strip=True)
    assert "Extend your hold once" not in warning

    # Posting anyway (an old tab): refused with the reason, nothing changed.
    response = client.post(reverse("orders:extend", kwargs={"code": offer.order.code}), follow=True)
    messages = [li.get_text(" ", strip=True) for li in soup(response.content).select("#messages li")]
    assert any("offered to you from the waitlist" in m for m in messages)
    offer.order.refresh_from_db()
    assert offer.order.expires_at == offer.expires_at
    assert offer.order.expires_at > timezone.now()
