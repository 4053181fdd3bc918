"""Referrals through their services and the orders app's facts: linking at sign-up (once, never to
themselves, not for a mailbox that already has an account), both rewards when the referee's first order is
paid, each abuse rule (monthly limit, same card, same billing address; logged on ``security``), reversal
when that order is fully refunded, the welcome-discount variant, and both sides told."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from allauth.account.models import EmailAddress
from django.utils import timezone

from accounts.tests.factories import VerifiedUserFactory
from grasshopper.testing import run_threads
from loyalty.exceptions import ReferralDiscountInUse
from loyalty.models import LedgerEntry, Referral
from loyalty.services_referrals import (
    referral_discount_apply,
    referral_link,
    referral_order_paid,
    referrals_settle_waiting,
)
from loyalty.signals import referral_rewarded
from loyalty.tests.factories import balance, paid_order, priced_ticket_type
from loyalty.tests.referral_helpers import (
    code_of,
    paid_with_card_row,
    pay_by_card,
    referral_points,
    referred,
    security_log,
)
from orders.models import Order
from orders.services import order_cancel, order_mark_paid
from orders.services_payments import order_refund
from orders.signals import order_paid
from orders.tests.factories import place_order

pytestmark = pytest.mark.django_db
S = Referral.Status


@pytest.fixture(autouse=True)
def _referral_settings(settings) -> None:
    settings.LOYALTY_POINTS_PER_UNIT = 10
    settings.LOYALTY_TIER_THRESHOLDS = {"silver": 100000, "gold": 300000}
    settings.LOYALTY_TIER_MULTIPLIERS = {"bronze": 1.0, "silver": 1.0, "gold": 1.0}
    settings.REFERRAL_REFERRER_POINTS = 500
    settings.REFERRAL_REFEREE_REWARD = "points"
    settings.REFERRAL_REFEREE_POINTS = 250
    settings.REFERRAL_REFEREE_DISCOUNT = "5.00"
    settings.REFERRAL_REWARDS_PER_MONTH = 2
    settings.REFERRAL_CHARGE_WAIT_MINUTES = 60


@pytest.fixture
def security(caplog):
    return security_log(caplog)


@pytest.fixture
def rewarded():
    seen: list[int] = []

    def receiver(sender, referral, **kwargs):
        seen.append(referral.pk)

    referral_rewarded.connect(receiver, dispatch_uid="test.referral_rewarded")
    yield seen
    referral_rewarded.disconnect(dispatch_uid="test.referral_rewarded")


def refused(security, event: str) -> list[str]:
    return [e["reason"] for e in security() if e["event"] == event]


# --- Linking at sign-up --------------------------------------------------------------------------------


def test_a_new_account_is_linked_to_the_codes_owner_in_any_case():
    ana = VerifiedUserFactory(email="ana@example.com")
    bea = VerifiedUserFactory(email="bea@example.com")

    referral = referral_link(referee=bea, code=code_of(ana).lower())

    assert referral is not None
    assert (referral.referrer, referral.referee, referral.status) == (ana, bea, S.SIGNED_UP)


def test_own_code_is_refused_and_logged(security):
    ana = VerifiedUserFactory()

    assert referral_link(referee=ana, code=code_of(ana)) is None

    assert not Referral.objects.exists()
    assert refused(security, "referral_link_refused") == ["self_referral"]


def test_another_address_of_the_referrers_own_mailbox_is_self_referral(security):
    ana = VerifiedUserFactory(email="ana.b@gmail.com")
    alias = VerifiedUserFactory(email="anab+tickets@googlemail.com")

    assert referral_link(referee=alias, code=code_of(ana)) is None

    assert refused(security, "referral_link_refused") == ["self_referral"]


def test_a_second_referrer_is_refused_and_the_first_stays(security):
    ana, carla = VerifiedUserFactory(), VerifiedUserFactory()
    bea, first = referred(ana)

    assert referral_link(referee=bea, code=code_of(carla)) is None

    assert Referral.objects.get(referee=bea) == first
    assert first.referrer == ana
    assert refused(security, "referral_link_refused") == ["already_referred"]


def test_a_mailbox_that_already_has_an_account_is_refused(security):
    ana = VerifiedUserFactory()
    VerifiedUserFactory(email="zoe@example.com")
    zoe_again = VerifiedUserFactory(email="Zoe+second@example.com")
    # An address of an existing account that is not its login (allauth's secondary address) counts too.
    rui = VerifiedUserFactory(email="rui@example.com")
    EmailAddress.objects.create(user=rui, email="rui.work@example.org", verified=True)
    rui_work = VerifiedUserFactory(email="rui.work+x@example.org")

    assert referral_link(referee=zoe_again, code=code_of(ana)) is None
    assert referral_link(referee=rui_work, code=code_of(ana)) is None

    assert not Referral.objects.exists()
    assert refused(security, "referral_link_refused") == ["existing_account", "existing_account"]


def test_an_account_that_already_bought_is_not_new(security):
    ana, bea = VerifiedUserFactory(), VerifiedUserFactory()
    paid_order(bea, priced_ticket_type())

    assert referral_link(referee=bea, code=code_of(ana)) is None
    assert refused(security, "referral_link_refused") == ["not_new"]


def test_an_unknown_or_inactive_code_is_refused(security):
    bea = VerifiedUserFactory()
    gone = VerifiedUserFactory()
    code = code_of(gone)
    gone.is_active = False
    gone.save(update_fields=["is_active"])

    assert referral_link(referee=bea, code="NOPE2345") is None
    assert referral_link(referee=bea, code=code) is None
    assert refused(security, "referral_link_refused") == ["unknown_code", "unknown_code"]


# --- The rewards ---------------------------------------------------------------------------------------


def test_first_paid_order_rewards_both_once_and_announces_it_once(rewarded):
    ana = VerifiedUserFactory(email="ana@example.com", full_name="Ana Silva")
    bea, referral = referred(ana, email="bea@example.com", full_name="Bea Costa")
    tt = priced_ticket_type("40.00")

    order = paid_order(bea, tt)
    order_paid.send(sender=Order, order=order)  # delivered twice
    paid_order(bea, tt)  # a second order rewards nothing more

    referral.refresh_from_db()
    assert (referral.status, referral.order_code) == (S.REWARDED, order.code)
    assert referral.rewarded_at is not None
    assert referral_points(ana) == [500]
    assert referral_points(bea) == [250]
    assert balance(ana) == 500
    assert balance(bea) == 250 + 400 + 400  # the welcome points, and what both orders earned
    (entry,) = LedgerEntry.objects.filter(user=ana, kind="referral")
    assert (entry.source, entry.remaining) == (f"referral:{referral.pk}", 500)  # spendable, and expires
    assert entry.expires_at is not None
    assert rewarded == [referral.pk]  # notifications tells both sides (notifications/tests)


def test_free_tickets_are_not_the_first_order():
    ana = VerifiedUserFactory()
    bea, referral = referred(ana)

    place_order(priced_ticket_type("0.00"), 1, buyer=bea)  # free: paid at once
    referral.refresh_from_db()
    assert (referral.status, referral.order_code) == (S.SIGNED_UP, "")

    order = paid_order(bea, priced_ticket_type("20.00"))
    referral.refresh_from_db()
    assert (referral.status, referral.order_code) == (S.REWARDED, order.code)


def test_a_guest_or_unreferred_buyer_changes_nothing():
    assert referral_order_paid(order=place_order(priced_ticket_type(), 1)) is None
    assert referral_order_paid(order=paid_order(VerifiedUserFactory(), priced_ticket_type())) is None
    assert not LedgerEntry.objects.filter(kind="referral").exists()


# --- Abuse rules -----------------------------------------------------------------------------------------


def test_rewards_beyond_the_monthly_limit_are_refused_and_logged(security, rewarded):
    ana = VerifiedUserFactory()
    tt = priced_ticket_type("20.00")
    referrals = [referred(ana) for _ in range(4)]
    now = timezone.now()

    for referee, _ in referrals[:3]:
        order = place_order(tt, 1, buyer=referee, now=now)
        order_mark_paid(order=order, provider="test", reference=f"t:{order.code}", now=now)

    statuses = [Referral.objects.get(pk=r.pk) for _, r in referrals[:3]]
    assert [r.status for r in statuses] == [S.REWARDED, S.REWARDED, S.REJECTED]
    assert statuses[2].reason.startswith("monthly_limit")
    assert referral_points(ana) == [500, 500]
    assert referral_points(referrals[2][0]) == []  # the referee gets nothing either
    assert rewarded == [r.pk for r in statuses[:2]]  # nobody is told about a refused reward
    (logged,) = [e for e in security() if e["event"] == "referral_rejected"]
    assert (logged["reason"], logged["referral"], logged["rewarded_30_days"]) == (
        "monthly_limit",
        statuses[2].pk,
        2,
    )

    # 30 days on, the window has room again.
    later = now + timedelta(days=31)
    next_month = priced_ticket_type("20.00", event__starts_at=now + timedelta(days=60))
    order = place_order(next_month, 1, buyer=referrals[3][0], now=later)
    order_mark_paid(order=order, provider="test", reference=f"t:{order.code}", now=later)
    assert Referral.objects.get(pk=referrals[3][1].pk).status == S.REWARDED


def test_first_order_paid_with_the_referrers_card_is_refused(fake_stripe, stripe_deliver, security):
    ana = VerifiedUserFactory()
    bea, referral = referred(ana)
    tt = priced_ticket_type("30.00")
    pay_by_card(fake_stripe, stripe_deliver, place_order(tt, 1, buyer=ana), fingerprint="card-ana")

    pay_by_card(fake_stripe, stripe_deliver, place_order(tt, 1, buyer=bea), fingerprint="card-ana")

    referral.refresh_from_db()
    assert referral.status == S.REJECTED
    assert referral.reason.startswith("same_card")
    assert referral_points(ana) == []
    assert referral_points(bea) == []
    assert refused(security, "referral_rejected") == ["same_card"]


def test_a_card_already_used_by_another_referral_is_refused_a_new_card_is_rewarded(
    fake_stripe, stripe_deliver, security
):
    ana = VerifiedUserFactory()
    tt = priced_ticket_type("30.00")
    (bea, first), (carla, second), (dora, third) = referred(ana), referred(ana), referred(ana)

    pay_by_card(fake_stripe, stripe_deliver, place_order(tt, 1, buyer=bea), fingerprint="card-x")
    pay_by_card(fake_stripe, stripe_deliver, place_order(tt, 1, buyer=carla), fingerprint="card-x")
    pay_by_card(fake_stripe, stripe_deliver, place_order(tt, 1, buyer=dora), fingerprint="card-dora")

    statuses = [Referral.objects.get(pk=r.pk).status for r in (first, second, third)]
    assert statuses == [S.REWARDED, S.REJECTED, S.REWARDED]
    assert referral_points(ana) == [500, 500]
    assert refused(security, "referral_rejected") == ["same_card"]


def test_the_referrers_billing_address_with_another_card_is_refused(fake_stripe, stripe_deliver, security):
    ana = VerifiedUserFactory()
    bea, referral = referred(ana)
    tt = priced_ticket_type("30.00")
    home = {"line1": "Rua Augusta 12", "postal_code": "1100-048", "country": "PT"}
    pay_by_card(
        fake_stripe, stripe_deliver, place_order(tt, 1, buyer=ana), fingerprint="card-ana", address=home
    )

    same_home = {"line1": "  rua augusta   12 ", "postal_code": "1100-048", "country": "PT"}
    pay_by_card(
        fake_stripe, stripe_deliver, place_order(tt, 1, buyer=bea), fingerprint="card-bea", address=same_home
    )

    referral.refresh_from_db()
    assert (referral.status, referral.reason.split(":")[0]) == (S.REJECTED, "same_address")
    assert refused(security, "referral_rejected") == ["same_address"]


def test_a_stripe_first_order_waits_for_its_charge_then_is_decided(fake_stripe, stripe_deliver):
    ana = VerifiedUserFactory()
    bea, referral = referred(ana)
    order = place_order(priced_ticket_type("30.00"), 1, buyer=bea)

    held = pay_by_card(fake_stripe, stripe_deliver, order, fingerprint="card-bea", with_charge=False)

    referral.refresh_from_db()
    assert (referral.status, referral.order_code) == (S.SIGNED_UP, order.code)  # paid, card not known yet
    assert referral_points(ana) == []
    assert stripe_deliver(held[0]).status_code == 200  # charge.succeeded
    referral.refresh_from_db()
    assert referral.status == S.REWARDED


def test_a_charge_that_never_comes_is_decided_by_the_job_after_the_wait(fake_stripe, stripe_deliver):
    ana = VerifiedUserFactory()
    bea, referral = referred(ana)
    pay_by_card(
        fake_stripe,
        stripe_deliver,
        place_order(priced_ticket_type(), 1, buyer=bea),
        fingerprint="c",
        with_charge=False,
    )

    assert referrals_settle_waiting(now=timezone.now() + timedelta(minutes=30)) == 0
    assert referrals_settle_waiting(now=timezone.now() + timedelta(minutes=61)) == 1
    referral.refresh_from_db()
    assert referral.status == S.REWARDED
    assert referrals_settle_waiting(now=timezone.now() + timedelta(minutes=90)) == 0


# --- Reversal ----------------------------------------------------------------------------------------------


def test_full_refund_of_the_first_order_takes_both_rewards_back_partial_does_not():
    ana = VerifiedUserFactory()
    bea, referral = referred(ana)
    order = paid_with_card_row(bea, priced_ticket_type("20.00"), 2)
    assert Referral.objects.get(pk=referral.pk).status == S.REWARDED

    order_refund(order=order, actor=None, tickets=[order.tickets.order_by("id").first()])
    assert Referral.objects.get(pk=referral.pk).status == S.REWARDED
    assert referral_points(ana) == [500]

    order_refund(order=Order.objects.get(pk=order.pk), actor=None)

    referral.refresh_from_db()
    assert referral.status == S.REVERSED
    assert referral.reason.startswith("first_order_refunded")
    assert referral_points(ana) == [500, -500]
    assert referral_points(bea) == [250, -250]
    assert balance(ana) == 0


def test_reversal_of_spent_reward_points_leaves_a_negative_balance():
    ana = VerifiedUserFactory()
    bea, referral = referred(ana)
    order = paid_with_card_row(bea, priced_ticket_type("20.00"))
    # Ana spends her reward on an order of her own.
    from loyalty.services import points_redeem

    points_redeem(user=ana, order=place_order(priced_ticket_type("40.00"), 1, buyer=ana), points=500)
    assert balance(ana) == 0

    order_refund(order=order, actor=None)

    assert balance(ana) == -500
    assert Referral.objects.get(pk=referral.pk).status == S.REVERSED


def test_a_first_order_refunded_before_its_charge_arrived_ends_the_referral(fake_stripe, stripe_deliver):
    ana = VerifiedUserFactory()
    bea, referral = referred(ana)
    order = place_order(priced_ticket_type(), 1, buyer=bea)
    held = pay_by_card(fake_stripe, stripe_deliver, order, fingerprint="c", with_charge=False)

    order_refund(order=Order.objects.get(pk=order.pk), actor=None)
    stripe_deliver(held[0])

    referral.refresh_from_db()
    assert referral.status == S.REVERSED
    assert referral_points(ana) == []
    paid_order(bea, priced_ticket_type())  # a later order is not a first order
    assert Referral.objects.get(pk=referral.pk).status == S.REVERSED


# --- The welcome-discount variant ---------------------------------------------------------------------


def test_discount_variant_takes_money_off_the_first_order_and_gives_the_referee_no_points(settings):
    settings.REFERRAL_REFEREE_REWARD = "discount"
    ana = VerifiedUserFactory(full_name="Ana Silva")
    bea, referral = referred(ana)
    small = place_order(priced_ticket_type("6.00"), 1, buyer=bea)
    assert referral_discount_apply(user=bea, order=small).amount == Decimal("3.00")  # at most half
    order = place_order(priced_ticket_type("40.00"), 1, buyer=bea)
    assert referral_discount_apply(user=ana, order=order) is None  # not Ana's order
    with pytest.raises(ReferralDiscountInUse):  # one pending order at a time
        referral_discount_apply(user=bea, order=order)
    order_cancel(order=small, actor=bea)

    adjustment = referral_discount_apply(user=bea, order=order)

    order.refresh_from_db()
    assert (adjustment.amount, order.total) == (Decimal("5.00"), Decimal("35.00"))
    order = order_mark_paid(order=order, provider="test", reference="t:1")
    referral.refresh_from_db()
    assert referral.status == S.REWARDED
    assert referral_points(ana) == [500]
    assert referral_points(bea) == []
    assert referral_discount_apply(user=bea, order=small) is None  # used: the first order is paid


def test_discount_variant_paid_without_the_discount_gives_the_points_instead(settings):
    settings.REFERRAL_REFEREE_REWARD = "discount"
    ana = VerifiedUserFactory()
    bea, referral = referred(ana)

    paid_order(bea, priced_ticket_type("40.00"))

    assert Referral.objects.get(pk=referral.pk).status == S.REWARDED
    assert referral_points(bea) == [250]


# --- Concurrency -------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_orders_respect_the_monthly_limit(settings):
    settings.REFERRAL_REWARDS_PER_MONTH = 1
    ana = VerifiedUserFactory()
    tt = priced_ticket_type("20.00", capacity=10)
    pairs = [referred(ana) for _ in range(3)]
    orders = [place_order(tt, 1, buyer=referee) for referee, _ in pairs]
    results = run_threads(
        len(orders),
        lambda i: order_mark_paid(order=orders[i], provider="test", reference=f"t:{orders[i].code}"),
    )

    assert [r for r in results if isinstance(r, BaseException)] == []
    statuses = sorted(Referral.objects.filter(referrer=ana).values_list("status", flat=True))
    assert statuses == [S.REJECTED, S.REJECTED, S.REWARDED]
    assert referral_points(ana) == [500]
