"""Hypothesis drives random sequences of reserve / pay / cancel / expire (time travel) / refund on small
ticket types and checks after every step that the constraint holds and the counters equal the rows."""

from __future__ import annotations

from datetime import datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from events.inventory import inventory_return
from events.models import TicketType
from orders.exceptions import IllegalTransition, OrderNotCancellable, SoldOut
from orders.models import Order
from orders.services import order_cancel, order_mark_paid, order_transition, orders_expire_due
from orders.tests.factories import place_order, ticket_type_on_sale

S = Order.Status


class InventoryMachine(RuleBasedStateMachine):
    tt: TicketType
    clock: datetime

    def __init__(self) -> None:
        super().__init__()
        self.orders: list[Order] = []

    @initialize(capacity=st.integers(min_value=1, max_value=6))
    def setup(self, capacity: int) -> None:
        self.tt = ticket_type_on_sale(capacity=capacity, max_per_order=3)
        self.clock = timezone.now()

    @rule(quantity=st.integers(min_value=1, max_value=3))
    def reserve(self, quantity: int) -> None:
        refusal: SoldOut | None = None
        try:
            self.orders.append(place_order(self.tt, quantity, now=self.clock))
        except SoldOut as error:
            refusal = error
        if refusal is not None:
            self.tt.refresh_from_db()
            free = self.tt.capacity - self.tt.sold - self.tt.held
            assert free <= refusal.extra["available"] < quantity

    @rule(data=st.data())
    def pay(self, data: st.DataObject) -> None:
        if self.orders:
            order = data.draw(st.sampled_from(self.orders))
            try:
                paid = order_mark_paid(
                    order=order, provider="card", reference=f"pi_{order.pk}", now=self.clock
                )
            except IllegalTransition:
                assert Order.objects.get(pk=order.pk).status == S.CANCELLED
                return
            assert paid.status in (S.PAID, S.PAID_UNFULFILLABLE, S.REFUNDED)
            if paid.status == S.PAID:
                assert paid.tickets.count() == sum(line.quantity for line in paid.lines.all())

    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        if self.orders:
            order = data.draw(st.sampled_from(self.orders))
            try:
                order_cancel(order=order, actor=None)
            except OrderNotCancellable:
                assert Order.objects.get(pk=order.pk).status not in (S.PENDING, S.CANCELLED)

    @rule(minutes=st.integers(min_value=1, max_value=20))
    def time_passes(self, minutes: int) -> None:
        self.clock += timedelta(minutes=minutes)

    @rule()
    def sweep(self) -> None:
        orders_expire_due(now=self.clock)

    @rule(data=st.data())
    def refund(self, data: st.DataObject) -> None:
        paid = [o for o in self.orders if Order.objects.get(pk=o.pk).status == S.PAID]
        if paid:
            order = data.draw(st.sampled_from(paid))
            seats = sum(line.quantity for line in order.lines.all())
            with transaction.atomic():
                order_transition(
                    order=order,
                    to=S.REFUNDED,
                    actor=None,
                    now=self.clock,
                    money_delta=-order.total,
                    seats_delta=-seats,
                )
                for line in order.lines.all():
                    inventory_return(ticket_type_id=line.ticket_type_id, quantity=line.quantity)

    @invariant()
    def counters_hold_and_match_the_rows(self) -> None:
        if not hasattr(self, "tt"):
            return
        self.tt.refresh_from_db()
        assert 0 <= self.tt.sold + self.tt.held <= self.tt.capacity
        out = StringIO()
        call_command("inventory_audit", "--event", self.tt.event.slug, stdout=out)
        assert "No drift in 1 ticket types." in out.getvalue()


@pytest.mark.django_db
def test_random_sequences_never_oversell_nor_drift() -> None:
    run_state_machine_as_test(
        InventoryMachine,
        settings=settings(
            max_examples=40,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
