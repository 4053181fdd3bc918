"""The "referral rewarded" messages: when a referral is rewarded (loyalty.services_referrals), both sides get
an inbox entry and an email in their own words, once; a refused reward tells nobody."""

from __future__ import annotations

import pytest

from accounts.tests.factories import VerifiedUserFactory
from loyalty.services_referrals import referral_discount_apply
from loyalty.tests.factories import paid_order, priced_ticket_type
from loyalty.tests.referral_helpers import referred
from notifications import kinds
from notifications.emails import email_build
from notifications.models import Notification, OutboxEmail
from notifications.tests.outbox_helpers import html_of
from orders.models import Order
from orders.services import order_mark_paid
from orders.signals import order_paid
from orders.tests.factories import place_order

pytestmark = pytest.mark.django_db
KIND = kinds.REFERRAL_REWARDED.key


@pytest.fixture(autouse=True)
def _rewards(settings) -> None:
    settings.REFERRAL_REFERRER_POINTS = 500
    settings.REFERRAL_REFEREE_POINTS = 250
    settings.REFERRAL_REFEREE_REWARD = "points"
    settings.REFERRAL_REWARDS_PER_MONTH = 1
    settings.SITE_URL = "https://tickets.example"


def test_both_sides_are_told_once_in_their_own_words():
    ana = VerifiedUserFactory(email="ana@example.com", full_name="Ana Silva")
    bea, _ = referred(ana, email="bea@example.com", full_name="Bea Costa")

    order = paid_order(bea, priced_ticket_type("40.00"))
    order_paid.send(sender=Order, order=order)

    told = {n.user: n for n in Notification.objects.filter(kind=KIND)}
    assert set(told) == {ana, bea}
    assert told[ana].title == "500 points for inviting Bea"
    assert told[ana].link == "/account/loyalty/#referrals"
    assert told[bea].title == "Welcome reward: 250 points"
    assert told[bea].link == "/account/loyalty/"
    outbox = {o.to: o for o in OutboxEmail.objects.filter(kind=KIND)}
    assert set(outbox) == {"ana@example.com", "bea@example.com"}

    to_ana = email_build(outbox=outbox["ana@example.com"])
    assert to_ana.subject == "You earned 500 points: Bea joined Grasshopper"
    assert "Bea signed up with your invitation and their first order is paid" in to_ana.body
    assert "https://tickets.example/account/loyalty/#referrals" in to_ana.body
    to_bea = email_build(outbox=outbox["bea@example.com"])
    assert to_bea.subject == "Your welcome reward: 250 points"
    assert "Thanks for joining Grasshopper through Ana's invitation" in to_bea.body
    assert "invite-a-friend" in to_bea.body  # why they get it
    for message in (to_ana, to_bea):
        html = html_of(message)
        for text in (message.subject, message.body, html):
            assert "None" not in text
            assert "{{" not in text
        assert "<h1" in html
        assert "See your points" in html


def test_a_refused_reward_tells_nobody():
    ana = VerifiedUserFactory()
    tt = priced_ticket_type("20.00")
    (bea, _), (carla, _) = referred(ana), referred(ana)
    paid_order(bea, tt)

    paid_order(carla, tt)  # over the monthly limit of one

    assert set(Notification.objects.filter(kind=KIND).values_list("user", flat=True)) == {ana.pk, bea.pk}


def test_the_welcome_discount_message_names_the_order_and_the_amount(settings):
    settings.REFERRAL_REFEREE_REWARD = "discount"
    settings.REFERRAL_REFEREE_DISCOUNT = "5.00"
    ana = VerifiedUserFactory(full_name="Ana Silva")
    bea, _ = referred(ana, email="bea@example.com")
    order = place_order(priced_ticket_type("40.00"), 1, buyer=bea)
    referral_discount_apply(user=bea, order=order)

    order_mark_paid(order=Order.objects.get(pk=order.pk), provider="test", reference="t:1")

    mail = email_build(outbox=OutboxEmail.objects.get(kind=KIND, to="bea@example.com"))
    assert mail.subject == "Welcome to Grasshopper: your first order's discount"
    assert f"Your first order, {order.code}, had €5.00 off" in mail.body
    assert Notification.objects.get(kind=KIND, user=bea).title == "Your welcome discount"
