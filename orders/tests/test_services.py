"""order_create, payment, cancel, expiry, hold extension, late payment, the audit: one process, real
PostgreSQL (each test in a rolled-back transaction)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from accounts.tests.factories import UserFactory
from events.models import Event, TicketType
from events.tests.factories import EventFactory, TicketTypeFactory
from orders.exceptions import (
    HoldExpired,
    HoldExtensionUsed,
    IdempotencyKeyReused,
    IllegalTransition,
    MaxPerOrderExceeded,
    MixedEvents,
    OrderNotCancellable,
    QuantityInvalid,
    SalesClosed,
    SoldOut,
    TicketTypeUnknown,
)
from orders.models import Order, OrderEvent, Ticket
from orders.services import (
    OrderLineInput,
    order_cancel,
    order_create,
    order_expire,
    order_extend_hold,
    order_mark_paid,
    orders_expire_due,
)
from orders.tasks import orders_expire_due_task
from orders.tests.factories import place_order, ticket_type_on_sale

pytestmark = pytest.mark.django_db

S = Order.Status


def counters(tt: TicketType) -> tuple[int, int]:
    tt.refresh_from_db()
    return tt.sold, tt.held


def audit(*args: str) -> str:
    from io import StringIO

    out = StringIO()
    call_command("inventory_audit", *args, stdout=out)
    return out.getvalue()


# --- Create ------------------------------------------------------------------------------------------


def test_create_holds_seats_copies_prices_and_sets_the_expiry() -> None:
    tt = ticket_type_on_sale(capacity=10, price="20.00", fee="3.00")
    now = timezone.now()
    order = place_order(tt, 3, now=now, buyer_name="Ana")
    assert order.status == S.PENDING
    assert order.expires_at == now + timedelta(minutes=15)
    assert order.total == order.subtotal == Decimal("69.00")
    line = order.lines.get()
    assert (line.quantity, line.unit_price, line.unit_fee) == (3, Decimal("23.00"), Decimal("3.00"))
    assert counters(tt) == (0, 3)
    assert list(order.history.values_list("from_status", "to_status")) == [("", S.PENDING)]
    assert audit().startswith("No drift in 1 ticket types.")


def test_several_lines_of_one_event_and_duplicates_are_merged() -> None:
    a = ticket_type_on_sale(capacity=5)
    b = TicketTypeFactory(event=a.event, name="Balcony", capacity=5)
    order = order_create(
        lines=[
            OrderLineInput(ticket_type_id=b.pk, quantity=1),
            OrderLineInput(ticket_type_id=a.pk, quantity=1),
            OrderLineInput(ticket_type_id=b.pk, quantity=2),
        ],
        buyer=None,
        email="g@example.com",
        event_id=a.event_id,
    )
    assert dict(order.lines.values_list("ticket_type_id", "quantity")) == {a.pk: 1, b.pk: 3}
    assert counters(a) == (0, 1)
    assert counters(b) == (0, 3)


def _assert_nothing_written(tt: TicketType, before: tuple[int, int]) -> None:
    assert Order.objects.count() == 0
    assert OrderEvent.objects.count() == 0
    assert counters(tt) == before


@pytest.mark.parametrize("quantity", [0, -1])
def test_quantity_invalid(quantity: int) -> None:
    tt = ticket_type_on_sale()
    with pytest.raises(QuantityInvalid) as caught:
        place_order(tt, quantity)
    assert caught.value.code == "quantity_invalid"
    _assert_nothing_written(tt, (0, 0))


def test_no_lines_is_quantity_invalid() -> None:
    with pytest.raises(QuantityInvalid):
        order_create(lines=[], buyer=None, email="g@example.com")


def test_max_per_order_exceeded() -> None:
    tt = ticket_type_on_sale(max_per_order=4)
    with pytest.raises(MaxPerOrderExceeded) as caught:
        place_order(tt, 5)
    assert caught.value.code == "max_per_order_exceeded"
    assert caught.value.extra["max_per_order"] == 4
    _assert_nothing_written(tt, (0, 0))


def test_sold_out_reports_what_is_left_and_writes_nothing() -> None:
    tt = ticket_type_on_sale(capacity=5)
    place_order(tt, 3)
    with pytest.raises(SoldOut) as caught:
        place_order(tt, 3)
    assert (caught.value.code, caught.value.status) == ("sold_out", 409)
    assert caught.value.extra["available"] == 2
    assert Order.objects.count() == 1
    assert counters(tt) == (0, 3)


def test_second_line_sold_out_rolls_back_the_first_lines_hold() -> None:
    a = ticket_type_on_sale(capacity=5)
    b = TicketTypeFactory(event=a.event, name="Balcony", capacity=1)
    with pytest.raises(SoldOut):
        order_create(
            lines=[
                OrderLineInput(ticket_type_id=a.pk, quantity=2),
                OrderLineInput(ticket_type_id=b.pk, quantity=2),
            ],
            buyer=None,
            email="g@example.com",
        )
    _assert_nothing_written(a, (0, 0))
    assert counters(b) == (0, 0)


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        ({"sales_start": timedelta(hours=1)}, "not_started"),
        ({"sales_start": timedelta(days=-2), "sales_end": timedelta(hours=-1)}, "ended"),
        ({"starts_at": timedelta(hours=-1)}, "event_started"),
        ({"status": Event.Status.CANCELLED}, "not_published"),
        ({"status": Event.Status.POSTPONED}, "not_published"),
        # In the members' presale, a buyer who is not a member (here: a guest) is refused; members:
        # loyalty/tests/test_membership_presale.py.
        ({"sales_start": timedelta(hours=1), "member_presale_start": timedelta(hours=-1)}, "members_only"),
        ({"sales_start": timedelta(hours=2), "member_presale_start": timedelta(hours=1)}, "not_started"),
    ],
)
def test_sales_closed(setup: dict[str, object], reason: str) -> None:
    now = timezone.now()
    event_kwargs: dict[str, object] = {}
    tt_kwargs: dict[str, object] = {}
    for name, value in setup.items():
        if name == "status":
            event_kwargs["status"] = value
        elif name == "starts_at":
            assert isinstance(value, timedelta)
            event_kwargs.update(
                starts_at=now + value, ends_at=now + value + timedelta(hours=3), doors_at=None
            )
        else:
            assert isinstance(value, timedelta)
            tt_kwargs[name] = now + value
    tt = TicketTypeFactory(event=EventFactory(**event_kwargs), **tt_kwargs)
    with pytest.raises(SalesClosed) as caught:
        place_order(tt, 1, now=now)
    assert caught.value.code == "sales_closed"
    assert caught.value.extra["reason"] == reason
    _assert_nothing_written(tt, (0, 0))


@pytest.mark.parametrize("case", ["missing", "hidden", "draft", "other_event"])
def test_ticket_type_unknown(case: str) -> None:
    tt = ticket_type_on_sale()
    event_id = None
    ticket_type_id = tt.pk
    if case == "missing":
        ticket_type_id = tt.pk + 1000
    elif case == "hidden":
        TicketType.objects.filter(pk=tt.pk).update(is_visible=False)
    elif case == "draft":
        Event.objects.filter(pk=tt.event_id).update(status=Event.Status.DRAFT)
    else:
        event_id = EventFactory().pk
    with pytest.raises(TicketTypeUnknown) as caught:
        order_create(
            event_id=event_id,
            lines=[OrderLineInput(ticket_type_id=ticket_type_id, quantity=1)],
            buyer=None,
            email="g@example.com",
        )
    assert caught.value.code == "ticket_type_unknown"
    _assert_nothing_written(tt, (0, 0))


def test_mixed_events() -> None:
    a, b = ticket_type_on_sale(), ticket_type_on_sale()
    with pytest.raises(MixedEvents) as caught:
        order_create(
            lines=[
                OrderLineInput(ticket_type_id=a.pk, quantity=1),
                OrderLineInput(ticket_type_id=b.pk, quantity=1),
            ],
            buyer=None,
            email="g@example.com",
        )
    assert caught.value.code == "mixed_events"
    _assert_nothing_written(a, (0, 0))
    assert counters(b) == (0, 0)


# --- Idempotency (sequential; the concurrent case is in test_concurrency) -------------------------------


def test_same_key_and_fingerprint_returns_the_same_order_without_new_seats() -> None:
    tt = ticket_type_on_sale(capacity=5)
    buyer = UserFactory()
    first = place_order(tt, 2, buyer=buyer, idempotency_key="k1", request_fingerprint="f1")
    again = place_order(tt, 2, buyer=buyer, idempotency_key="k1", request_fingerprint="f1")
    assert again.pk == first.pk
    assert counters(tt) == (0, 2)
    with pytest.raises(IdempotencyKeyReused) as caught:
        place_order(tt, 3, buyer=buyer, idempotency_key="k1", request_fingerprint="f2")
    assert (caught.value.code, caught.value.status) == ("idempotency_key_reused", 422)
    # Another buyer's key space is their own.
    other = place_order(tt, 1, buyer=UserFactory(), idempotency_key="k1", request_fingerprint="f2")
    assert other.pk != first.pk
    assert counters(tt) == (0, 3)


# --- Free and paid ----------------------------------------------------------------------------------------


def test_free_order_is_paid_at_once_with_tickets() -> None:
    tt = ticket_type_on_sale(capacity=5, price="0.00", fee="0.00")
    order = place_order(tt, 2, holder_names=["Ana", "Rui"])
    assert order.status == S.PAID
    assert order.payment_provider == "free"
    assert sorted(order.tickets.values_list("holder_name", flat=True)) == ["Ana", "Rui"]
    assert counters(tt) == (2, 0)
    assert list(order.history.values_list("to_status", "seats_delta")) == [(S.PENDING, 0), (S.PAID, 2)]
    assert "No drift" in audit()


def test_paid_order_stays_pending_until_confirmed() -> None:
    tt = ticket_type_on_sale(capacity=5)
    order = place_order(tt, 2)
    assert order.status == S.PENDING
    assert not order.tickets.exists()
    paid = order_mark_paid(order=order, provider="card", reference="pi_1")
    assert paid.status == S.PAID
    assert paid.paid_at is not None
    assert paid.tickets.count() == 2
    assert counters(tt) == (2, 0)
    event = paid.history.last()
    assert event is not None
    assert (event.money_delta, event.seats_delta) == (Decimal("55.00"), 2)


def test_mark_paid_twice_issues_tickets_once() -> None:
    tt = ticket_type_on_sale(capacity=5)
    order = place_order(tt, 3)
    order_mark_paid(order=order, provider="card", reference="pi_1")
    again = order_mark_paid(order=order, provider="card", reference="pi_1")
    assert again.status == S.PAID
    assert Ticket.objects.filter(order=order).count() == 3
    assert order.history.filter(to_status=S.PAID).count() == 1
    assert counters(tt) == (3, 0)


def test_ticket_secrets_are_unique_and_long() -> None:
    tt = ticket_type_on_sale(capacity=5)
    order = order_mark_paid(order=place_order(tt, 4), provider="card", reference="pi")
    secrets = list(order.tickets.values_list("secret", flat=True))
    assert len(set(secrets)) == 4
    assert all(len(s) >= 43 for s in secrets)


# --- Expiry -----------------------------------------------------------------------------------------------


def test_expired_holds_are_reclaimed_by_the_next_buyer_without_any_job() -> None:
    tt = ticket_type_on_sale(capacity=3)
    old = place_order(tt, 3)
    with pytest.raises(SoldOut):
        place_order(tt, 1)
    with time_machine.travel(old.expires_at + timedelta(seconds=1), tick=False):
        new = place_order(tt, 2)
    assert new.status == S.PENDING
    old.refresh_from_db()
    assert old.status == S.EXPIRED
    assert old.history.filter(from_status=S.PENDING, to_status=S.EXPIRED, reason="hold expired").count() == 1
    assert counters(tt) == (0, 2)
    assert "No drift" in audit()


def test_reserve_does_not_reclaim_live_holds() -> None:
    tt = ticket_type_on_sale(capacity=2)
    old = place_order(tt, 2)
    with time_machine.travel(old.expires_at - timedelta(seconds=1), tick=False), pytest.raises(SoldOut):
        place_order(tt, 1)
    old.refresh_from_db()
    assert old.status == S.PENDING


def test_expire_due_sweep_and_task() -> None:
    tt = ticket_type_on_sale(capacity=10)
    now = timezone.now()
    due = [place_order(tt, 1, now=now - timedelta(minutes=20)) for _ in range(2)]
    live = place_order(tt, 1, now=now)
    assert orders_expire_due(now=now) == 2
    assert orders_expire_due(now=now) == 0
    assert {o.status for o in Order.objects.filter(pk__in=[o.pk for o in due])} == {S.EXPIRED}
    live.refresh_from_db()
    assert live.status == S.PENDING
    assert counters(tt) == (0, 1)
    with time_machine.travel(live.expires_at + timedelta(seconds=1), tick=False):
        assert orders_expire_due_task.delay().get() == 1
    assert counters(tt) == (0, 0)


def test_expire_before_the_hold_lapses_is_a_noop() -> None:
    order = place_order(ticket_type_on_sale())
    assert order_expire(order=order).status == S.PENDING
    assert order.history.count() == 1


# --- Late payment -----------------------------------------------------------------------------------------


def test_late_payment_is_paid_when_seats_remain() -> None:
    tt = ticket_type_on_sale(capacity=3)
    order = place_order(tt, 2)
    later = order.expires_at + timedelta(minutes=1)
    orders_expire_due(now=later)
    paid = order_mark_paid(order=order, provider="card", reference="pi", now=later)
    assert paid.status == S.PAID
    assert paid.tickets.count() == 2
    assert counters(tt) == (2, 0)
    assert list(paid.history.values_list("to_status", flat=True)) == [S.PENDING, S.EXPIRED, S.PAID]
    assert "No drift" in audit()


def test_late_payment_without_seats_is_unfulfillable_and_untickted() -> None:
    from orders.signals import order_unfulfillable

    tt = ticket_type_on_sale(capacity=3)
    a = TicketTypeFactory(event=tt.event, name="Balcony", capacity=5)
    order = order_create(
        lines=[
            OrderLineInput(ticket_type_id=a.pk, quantity=1),
            OrderLineInput(ticket_type_id=tt.pk, quantity=2),
        ],
        buyer=None,
        email="g@example.com",
    )
    later = order.expires_at + timedelta(minutes=1)
    place_order(tt, 2, now=later)  # reclaims the expired hold
    received: list[Order] = []

    def receiver(sender: object, order: Order, **kwargs: object) -> None:
        received.append(order)

    order_unfulfillable.connect(receiver, dispatch_uid="test-unfulfillable")
    try:
        result = order_mark_paid(order=order, provider="card", reference="pi", now=later)
    finally:
        order_unfulfillable.disconnect(dispatch_uid="test-unfulfillable")
    assert result.status == S.PAID_UNFULFILLABLE
    assert [o.pk for o in received] == [order.pk]
    assert not result.tickets.exists()
    assert counters(tt) == (0, 2)
    assert counters(a) == (0, 0)  # the first line's direct sale was rolled back with the savepoint
    last = result.history.last()
    assert last is not None
    assert (last.money_delta, last.seats_delta) == (result.total, 0)
    assert order_mark_paid(order=order, provider="card", reference="pi").status == S.PAID_UNFULFILLABLE
    assert "No drift" in audit()


# --- Cancel, extend ---------------------------------------------------------------------------------------


def test_cancel_releases_the_hold_once() -> None:
    tt = ticket_type_on_sale(capacity=3)
    buyer = UserFactory()
    order = place_order(tt, 2, buyer=buyer)
    cancelled = order_cancel(order=order, actor=buyer, reason="changed my mind")
    assert cancelled.status == S.CANCELLED
    assert counters(tt) == (0, 0)
    assert order_cancel(order=order, actor=buyer).status == S.CANCELLED
    assert cancelled.history.filter(to_status=S.CANCELLED, actor=buyer).count() == 1


def test_cancel_of_a_paid_order_is_refused_here() -> None:
    order = order_mark_paid(order=place_order(ticket_type_on_sale()), provider="card", reference="pi")
    with pytest.raises(OrderNotCancellable) as caught:
        order_cancel(order=order, actor=None)
    assert caught.value.code == "order_not_cancellable"


def test_payment_for_a_cancelled_order_is_illegal() -> None:
    order = place_order(ticket_type_on_sale())
    order_cancel(order=order, actor=None)
    with pytest.raises(IllegalTransition):
        order_mark_paid(order=order, provider="card", reference="pi")


def test_hold_extends_once() -> None:
    now = timezone.now()
    order = place_order(ticket_type_on_sale(), now=now)
    extended = order_extend_hold(order=order, now=now + timedelta(minutes=14))
    assert extended.hold_extended
    assert extended.expires_at == now + timedelta(minutes=20)
    with pytest.raises(HoldExtensionUsed) as caught:
        order_extend_hold(order=order, now=now + timedelta(minutes=15))
    assert (caught.value.code, caught.value.status) == ("hold_extension_used", 409)


def test_a_lapsed_hold_cannot_be_extended() -> None:
    order = place_order(ticket_type_on_sale())
    assert order.expires_at is not None
    with pytest.raises(HoldExpired):
        order_extend_hold(order=order, now=order.expires_at)


# --- Audit ------------------------------------------------------------------------------------------------


def test_audit_reports_drift_and_can_be_scoped_to_an_event() -> None:
    tt = ticket_type_on_sale(capacity=10)
    clean = ticket_type_on_sale(capacity=10)
    place_order(clean, 2)
    TicketType.objects.filter(pk=tt.pk).update(sold=4)  # what the demo seed does: sold without orders
    out = audit_failing()
    assert f"DRIFT ticket type {tt.pk}" in out
    assert f"ticket type {clean.pk}" not in out
    assert audit("--event", clean.event.slug).startswith("No drift in 1 ticket types.")


def audit_failing() -> str:
    from io import StringIO

    out = StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("inventory_audit", stdout=out)
    assert caught.value.returncode == 1
    assert "Drift in 1 of 2 ticket types." in str(caught.value)
    return out.getvalue()
