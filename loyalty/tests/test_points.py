"""The points ledger through its services and the orders app's facts: earning, reversal on refunds,
redemption at checkout (caps, give-back), expiry, tiers, staff adjustments, the audit."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from accounts.models import Membership
from loyalty import services
from loyalty.exceptions import (
    AdjustReasonRequired,
    PointsBalanceNegative,
    PointsInsufficient,
    PointsOverLimit,
    RedemptionOrderInvalid,
)
from loyalty.models import LedgerEntry, LoyaltyAccount
from loyalty.selectors import ledger_audit, loyalty_summary
from loyalty.signals import tier_changed
from loyalty.tests.factories import balance, buyer_with_points, paid_order, priced_ticket_type, rows
from orders.exceptions import OrderNotAdjustable
from orders.models import Order
from orders.services import order_cancel, order_expire, order_mark_paid
from orders.services_payments import order_refund
from orders.signals import order_paid
from orders.tests.factories import place_order

pytestmark = pytest.mark.django_db
K = LedgerEntry.Kind


@pytest.fixture(autouse=True)
def _rates(settings) -> None:
    settings.LOYALTY_POINTS_PER_UNIT = 10
    settings.LOYALTY_TIER_THRESHOLDS = {"silver": 1000, "gold": 3000}
    settings.LOYALTY_TIER_MULTIPLIERS = {"bronze": 1.0, "silver": 1.5, "gold": 2.0}
    settings.LOYALTY_MEMBER_MULTIPLIER = 1.5
    settings.LOYALTY_POINT_VALUE = "0.01"
    settings.LOYALTY_REDEEM_MAX_SHARE = "0.5"
    settings.LOYALTY_POINTS_EXPIRE_MONTHS = 12


@pytest.fixture
def tier_events():
    seen: list[tuple[str, str]] = []

    def receiver(sender, user, old, new, **kwargs):
        seen.append((old, new))

    tier_changed.connect(receiver, dispatch_uid="test.tier_events")
    yield seen
    tier_changed.disconnect(dispatch_uid="test.tier_events")


def _card_paid(order: Order) -> Order:
    """Paid "by card": a succeeded Payment row, so that it can be refunded."""
    from orders.models import Payment

    Payment.objects.create(
        order=order,
        kind=Payment.Kind.CHECKOUT,
        status=Payment.Status.SUCCEEDED,
        amount=order.total,
        currency=order.currency,
        idempotency_key=f"test:{order.code}",
    )
    return order_mark_paid(order=order, provider="stripe", reference=f"cs_{order.code}")


# --- Earning ---------------------------------------------------------------------------------------------


def test_paid_order_earns_points_per_unit_paid():
    buyer = buyer_with_points()
    order = paid_order(buyer, priced_ticket_type("40.00"), 2)

    assert balance(buyer) == 800  # 80.00 x 10
    (earned,) = rows(buyer, K.EARN)
    assert earned.source == f"order:{order.code}"
    assert earned.remaining == 800
    assert earned.expires_at.date() == (earned.created + timedelta(days=365)).date()


def test_order_paid_twice_earns_once():
    buyer = buyer_with_points()
    order = paid_order(buyer, priced_ticket_type("40.00"))

    order_paid.send(sender=Order, order=order)
    order_mark_paid(order=order, provider="test", reference="again")

    assert balance(buyer) == 400
    assert len(rows(buyer, K.EARN)) == 1


def test_guest_and_free_orders_earn_nothing():
    guest_order = place_order(priced_ticket_type("40.00"))
    order_mark_paid(order=guest_order, provider="test", reference="x")
    buyer = buyer_with_points()
    place_order(priced_ticket_type("0.00"), buyer=buyer)  # free: paid at once

    assert LedgerEntry.objects.count() == 0


def test_tier_and_membership_multiply_earnings():
    buyer = buyer_with_points()
    services.account_ensure(user=buyer)
    LoyaltyAccount.objects.filter(user=buyer).update(tier="silver")
    Membership.objects.create(user=buyer, status=Membership.Status.ACTIVE)

    paid_order(buyer, priced_ticket_type("10.00"))

    assert balance(buyer) == 225  # 100 x 1.5 (silver) x 1.5 (member)


# --- Reversal on refunds -----------------------------------------------------------------------------------


def test_partial_refund_reverses_the_refunded_share_and_full_refund_the_rest():
    buyer = buyer_with_points()
    tt = priced_ticket_type("30.00")
    order = _card_paid(place_order(tt, 3, buyer=buyer))
    assert balance(buyer) == 900

    first = order.tickets.order_by("id").first()
    order_refund(order=order, actor=None, tickets=[first])
    assert balance(buyer) == 600
    (reversed_,) = rows(buyer, K.REVERSE)
    assert reversed_.points == -300

    order_refund(order=Order.objects.get(pk=order.pk), actor=None)
    assert balance(buyer) == 0
    assert sum(r.points for r in rows(buyer, K.REVERSE)) == -900
    assert LedgerEntry.objects.get(kind=K.EARN).remaining == 0


def test_reversal_of_spent_points_goes_negative_and_blocks_redemption():
    buyer = buyer_with_points()
    tt = priced_ticket_type("50.00")
    order = _card_paid(place_order(tt, 1, buyer=buyer))  # +500
    second = place_order(tt, 1, buyer=buyer)
    services.points_redeem(user=buyer, order=second, points=500)  # spends them
    assert balance(buyer) == 0

    order_refund(order=order, actor=None)

    assert balance(buyer) == -500
    third = place_order(tt, 1, buyer=buyer)
    with pytest.raises(PointsBalanceNegative):
        services.points_redeem(user=buyer, order=third, points=1)
    # The debt is paid from the next points earned.
    services.points_adjust(user=buyer, points=600, reason="Goodwill", actor=None)
    assert balance(buyer) == 100
    assert sum(r.remaining for r in rows(buyer) if r.points > 0) == 100
    assert ledger_audit() == []


def test_refund_gives_back_the_points_that_paid_for_the_refunded_part():
    buyer = buyer_with_points(1000)
    tt = priced_ticket_type("20.00")
    order = place_order(tt, 2, buyer=buyer)  # 40.00
    order = services.points_redeem(user=buyer, order=order, points=1000)  # -10.00
    assert order.total == Decimal("30.00")
    order = _card_paid(order)  # earns 300
    assert balance(buyer) == 300

    order_refund(order=order, actor=None)  # everything

    assert balance(buyer) == 1000  # the 300 earned reversed, the 1000 spent given back
    assert ledger_audit() == []


# --- Redemption --------------------------------------------------------------------------------------------


def test_redeem_becomes_a_discount_and_leaves_the_balance():
    buyer = buyer_with_points(1500)
    order = place_order(priced_ticket_type("40.00"), buyer=buyer)

    order = services.points_redeem(user=buyer, order=order, points=1500)

    assert order.total == Decimal("25.00")
    assert order.discount_total == Decimal("15.00")
    (adjustment,) = order.adjustments.all()
    assert (adjustment.source, adjustment.description) == ("loyalty", "1500 loyalty points")
    assert balance(buyer) == 0
    assert order.history.filter(reason__startswith="discount loyalty").exists()


def test_redeem_is_capped_at_the_share_of_the_total_and_at_the_balance():
    rich = buyer_with_points(5000)
    order = place_order(priced_ticket_type("40.00"), buyer=rich)
    with pytest.raises(PointsOverLimit) as error:
        services.points_redeem(user=rich, order=order, points=2001)  # 20.01 of 40.00
    assert error.value.extra["max_points"] == 2000
    services.points_redeem(user=rich, order=order, points=2000)
    assert Order.objects.get(pk=order.pk).total == Decimal("20.00")

    poor = buyer_with_points(300)
    other = place_order(priced_ticket_type("40.00"), buyer=poor)
    with pytest.raises(PointsOverLimit) as error:
        services.points_redeem(user=poor, order=other, points=301)
    assert error.value.extra["max_points"] == 300
    assert balance(poor) == 300
    assert Order.objects.get(pk=other.pk).total == Decimal("40.00")


def test_redeem_again_replaces_and_zero_removes():
    buyer = buyer_with_points(1000)
    order = place_order(priced_ticket_type("40.00"), buyer=buyer)

    services.points_redeem(user=buyer, order=order, points=600)
    order = services.points_redeem(user=buyer, order=order, points=1000)
    assert order.total == Decimal("30.00")
    assert balance(buyer) == 0

    order = services.points_redeem(user=buyer, order=order, points=0)
    assert order.total == Decimal("40.00")
    assert order.adjustments.count() == 0
    assert balance(buyer) == 1000
    assert ledger_audit() == []


def test_redeem_refuses_someone_elses_or_a_finished_order():
    buyer = buyer_with_points(1000)
    stranger = buyer_with_points(1000)
    order = place_order(priced_ticket_type("40.00"), buyer=buyer)
    with pytest.raises(RedemptionOrderInvalid):
        services.points_redeem(user=stranger, order=order, points=100)

    order_cancel(order=order, actor=buyer)
    with pytest.raises(OrderNotAdjustable):
        services.points_redeem(user=buyer, order=order, points=100)
    assert balance(buyer) == 1000


@pytest.mark.parametrize("end", ["expire", "cancel"])
def test_points_come_back_when_the_order_does_not_go_ahead(end):
    buyer = buyer_with_points(1000)
    now = timezone.now()
    order = place_order(priced_ticket_type("40.00"), buyer=buyer, now=now)
    services.points_redeem(user=buyer, order=order, points=800, now=now)
    assert balance(buyer) == 200

    if end == "expire":
        order_expire(order=order, now=now + timedelta(hours=1))
    else:
        order_cancel(order=order, actor=buyer)

    assert balance(buyer) == 1000
    (returned,) = rows(buyer, K.REDEEM_RETURN)
    assert returned.points == 800
    # Sent again (a second sweep, a retried task): nothing more.
    services.points_return_for_order(order=order)
    assert balance(buyer) == 1000
    assert ledger_audit() == []


def test_late_payment_after_give_back_takes_the_points_again():
    buyer = buyer_with_points(1000)
    now = timezone.now()
    order = place_order(priced_ticket_type("40.00"), buyer=buyer, now=now)
    services.points_redeem(user=buyer, order=order, points=1000, now=now)
    order_expire(order=order, now=now + timedelta(hours=1))
    assert balance(buyer) == 1000

    order = order_mark_paid(order=order, provider="test", reference="late", now=now + timedelta(hours=2))

    assert order.status == Order.Status.PAID
    assert order.total == Decimal("30.00")
    assert balance(buyer) == 300  # the 1000 spent again, 300 earned on 30.00
    assert ledger_audit() == []


# --- Expiry ------------------------------------------------------------------------------------------------


def test_points_expire_after_twelve_months_oldest_first():
    start = timezone.now()
    buyer = buyer_with_points()
    with time_machine.travel(start, tick=False):
        services.points_adjust(user=buyer, points=100, reason="Old", actor=None)
    with time_machine.travel(start + timedelta(days=200), tick=False):
        services.points_adjust(user=buyer, points=50, reason="Newer", actor=None)
        services.points_adjust(user=buyer, points=-30, reason="Spent some", actor=None)  # from the oldest

    summary = loyalty_summary(user=buyer, now=start + timedelta(days=300))
    assert (summary.next_expiry.points, summary.next_expiry.soon) == (70, False)

    assert services.points_expire_due(now=start + timedelta(days=364)) == 0
    assert services.points_expire_due(now=start + timedelta(days=366)) == 70
    assert services.points_expire_due(now=start + timedelta(days=367)) == 0  # safe to run twice
    assert balance(buyer) == 50
    (expired,) = rows(buyer, K.EXPIRE)
    assert expired.points == -70
    assert ledger_audit() == []


# --- Tiers -------------------------------------------------------------------------------------------------


def test_tier_rises_with_points_earned_and_falls_when_they_leave_the_window(tier_events):
    start = timezone.now()
    buyer = buyer_with_points()
    tt = priced_ticket_type("60.00", capacity=50)
    with time_machine.travel(start, tick=False):
        paid_order(buyer, tt, 2)  # 1200: silver
    assert LoyaltyAccount.objects.get(user=buyer).tier == "silver"
    assert tier_events == [("bronze", "silver")]
    assert loyalty_summary(user=buyer, now=start).progress.points_to_next == 1800

    with time_machine.travel(start + timedelta(days=30), tick=False):
        paid_order(buyer, priced_ticket_type("60.00"), 2)  # 120.00 x 10 x 1.5 = 1800: 3000 earned, gold
    assert tier_events[-1] == ("silver", "gold")

    services.points_expire_due(now=start + timedelta(days=370))  # the first 1200 left the window
    assert LoyaltyAccount.objects.get(user=buyer).tier == "silver"
    assert tier_events[-1] == ("gold", "silver")


# --- Staff adjustments and the audit ----------------------------------------------------------------------


def test_adjust_needs_a_reason_and_cannot_overdraw():
    buyer = buyer_with_points(100)
    with pytest.raises(AdjustReasonRequired):
        services.points_adjust(user=buyer, points=10, reason=" ", actor=None)
    with pytest.raises(PointsInsufficient):
        services.points_adjust(user=buyer, points=-101, reason="Too much", actor=None)
    services.points_adjust(user=buyer, points=-100, reason="Duplicate account", actor=None)
    assert balance(buyer) == 0


def test_audit_finds_injected_drift_and_the_command_fails():
    buyer = buyer_with_points(100)
    out = StringIO()
    call_command("loyalty_audit", stdout=out)
    assert "consistent" in out.getvalue()

    LoyaltyAccount.objects.filter(user=buyer).update(balance=150)
    LedgerEntry.objects.filter(user=buyer).update(remaining=90)

    problems = [str(p) for p in ledger_audit()]
    assert any("cached balance 150 but the ledger sums to 100" in p for p in problems)
    assert any("unspent points add up to 90" in p for p in problems)
    with pytest.raises(SystemExit) as exit_:
        call_command("loyalty_audit", stdout=StringIO(), stderr=StringIO())
    assert exit_.value.code == 1


# --- One ledger write -------------------------------------------------------------------------------------


def test_every_kind_of_movement_goes_through_the_one_ledger_write(monkeypatch):
    """Each service moves points through ``services._entry`` (the row and the cached balance together): a
    movement that built its own row would leave a row this count does not see."""
    written: list[tuple[str, int]] = []
    entry = services._entry

    def counting(account, **kwargs):
        written.append((kwargs["kind"], kwargs["points"]))
        return entry(account, **kwargs)

    monkeypatch.setattr(services, "_entry", counting)
    start = timezone.now()
    buyer = buyer_with_points(1000)  # adjust +
    tt = priced_ticket_type("20.00")
    order = place_order(tt, 2, buyer=buyer)
    order = services.points_redeem(user=buyer, order=order, points=600)  # redeem
    order = services.points_redeem(user=buyer, order=order, points=400)  # redeem_return + redeem
    order_refund(order=_card_paid(order), actor=None)  # earn; reverse + redeem_return
    second = place_order(tt, 1, buyer=buyer)
    services.points_redeem(user=buyer, order=second, points=100)  # redeem
    order_cancel(order=second, actor=None)  # redeem_return
    services.points_adjust(user=buyer, points=-10, reason="Typo", actor=None)  # adjust -
    friend = buyer_with_points()
    services.points_award(user=friend, points=50, kind=K.REFERRAL, source="referral:1", description="Hi")
    services.points_take_back(user=friend, kind=K.REFERRAL, source="referral:1", description="Bye")
    services.points_award(user=friend, points=5, kind=K.REFERRAL, source="referral:2", description="Hi")
    services.points_expire_due(now=start + timedelta(days=400))  # expire

    kinds = {kind for kind, _ in written}
    assert kinds == {K.ADJUST, K.REDEEM, K.REDEEM_RETURN, K.EARN, K.REVERSE, K.REFERRAL, K.EXPIRE}
    assert sorted(written) == sorted(LedgerEntry.objects.values_list("kind", "points"))
    assert ledger_audit() == []
