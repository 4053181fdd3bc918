"""Hypothesis drives random sequences of joins, leaves, public purchases, payments, cancellations, hold
expiries and refunds on a small sold-out ticket type with a waitlist, and checks after every step:

- the counters equal the rows (``inventory_audit``, withheld seats included) and never oversell;
- while someone waits, the public can buy nothing, and the withheld seats fit nobody waiting (anything
  that fits someone has been offered);
- nobody waiting means nothing withheld;
- an entry is ``offered`` exactly when it has one live offer, whose order is pending.
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from events.models import TicketType
from grasshopper.lib.exceptions import ApplicationError
from orders.models import Order, Payment
from orders.services import order_cancel, order_mark_paid, orders_expire_due
from orders.services_payments import order_refund
from orders.tests.factories import place_order, ticket_type_on_sale
from waitlist.models import WaitlistEntry, WaitlistOffer
from waitlist.services import entry_join, entry_leave, waitlist_sweep

S = Order.Status
E = WaitlistEntry.Status
O = WaitlistOffer.Status  # noqa: E741


class WaitlistMachine(RuleBasedStateMachine):
    tt: TicketType
    clock: datetime

    def __init__(self) -> None:
        super().__init__()
        self.people = 0

    @initialize(capacity=st.integers(min_value=1, max_value=5))
    def setup(self, capacity: int) -> None:
        self.clock = timezone.now()
        self.tt = ticket_type_on_sale(capacity=capacity, max_per_order=3)
        for _ in range(capacity):  # sold out: every seat held by a public order
            place_order(self.tt, 1)

    def _at_clock(self) -> time_machine.travel:
        return time_machine.travel(self.clock, tick=False)

    def _orders(self, status: str) -> list[Order]:
        return list(Order.objects.filter(status=status, lines__ticket_type=self.tt).order_by("id"))

    @rule(quantity=st.integers(min_value=1, max_value=3))
    def join(self, quantity: int) -> None:
        self.people += 1
        with self._at_clock():
            try:
                entry_join(
                    ticket_type=self.tt, quantity=quantity, user=None, email=f"p{self.people}@example.com"
                )
            except ApplicationError:
                return
        # Guests confirm at once here (the link's service, without the email round trip).
        from waitlist.services import entry_verify
        from waitlist.signing import VERIFY, entry_token_make

        entry = WaitlistEntry.objects.get(ticket_type=self.tt, email=f"p{self.people}@example.com")
        with self._at_clock():
            entry_verify(token=entry_token_make(entry=entry, purpose=VERIFY))

    @rule(data=st.data())
    def leave(self, data: st.DataObject) -> None:
        active = list(
            WaitlistEntry.objects.filter(ticket_type=self.tt, status__in=(E.WAITING, E.OFFERED)).order_by(
                "id"
            )
        )
        if active:
            with self._at_clock():
                entry_leave(entry=data.draw(st.sampled_from(active)), actor=None)

    @rule(quantity=st.integers(min_value=1, max_value=3))
    def public_buys(self, quantity: int) -> None:
        with self._at_clock(), contextlib.suppress(ApplicationError):
            place_order(self.tt, quantity)

    @rule(data=st.data())
    def pay(self, data: st.DataObject) -> None:
        pending = self._orders(S.PENDING)
        if pending:
            order = data.draw(st.sampled_from(pending))
            with self._at_clock():
                paid = order_mark_paid(order=order, provider="card", reference=f"pi_{order.pk}")
            Payment.objects.create(
                order=paid,
                kind=Payment.Kind.INTENT,
                status=Payment.Status.SUCCEEDED,
                amount=paid.total,
                currency=paid.currency,
                idempotency_key=f"test:{paid.pk}",
                stripe_payment_intent_id=f"pi_{paid.pk}",
            )

    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        pending = self._orders(S.PENDING)
        if pending:
            with self._at_clock():
                order_cancel(order=data.draw(st.sampled_from(pending)), actor=None)

    @rule(data=st.data())
    def refund_one_ticket(self, data: st.DataObject) -> None:
        paid = self._orders(S.PAID) + self._orders(S.PARTIALLY_REFUNDED)
        if paid:
            order = data.draw(st.sampled_from(paid))
            ticket = order.tickets.exclude(status="void").first()
            with self._at_clock():
                order_refund(order=order, actor=None, tickets=[ticket])

    @rule(minutes=st.integers(min_value=5, max_value=35))
    def time_passes(self, minutes: int) -> None:
        self.clock += timedelta(minutes=minutes)

    @rule(which=st.sampled_from(["orders", "waitlist"]))
    def sweep(self, which: str) -> None:
        with self._at_clock():
            orders_expire_due() if which == "orders" else waitlist_sweep()

    @invariant()
    def counters_match_the_rows(self) -> None:
        if not hasattr(self, "tt"):
            return
        self.tt.refresh_from_db()
        assert 0 <= self.tt.withheld <= self.tt.held
        assert self.tt.sold + self.tt.held <= self.tt.capacity
        out = StringIO()
        call_command("inventory_audit", "--event", self.tt.event.slug, stdout=out)
        assert "No drift in 1 ticket types." in out.getvalue()

    @invariant()
    def freed_seats_go_to_the_line_first(self) -> None:
        if not hasattr(self, "tt"):
            return
        self.tt.refresh_from_db()
        waiting = list(
            WaitlistEntry.objects.filter(ticket_type=self.tt, status=E.WAITING).values_list(
                "quantity", flat=True
            )
        )
        free = self.tt.capacity - self.tt.sold - self.tt.held
        if waiting:
            assert free == 0, "seats on public sale while people wait"
            assert self.tt.withheld < min(waiting), "withheld seats that fit someone waiting"
        else:
            assert self.tt.withheld == 0, "seats withheld for nobody"

    @invariant()
    def offered_means_one_live_offer(self) -> None:
        if not hasattr(self, "tt"):
            return
        offered = WaitlistEntry.objects.filter(ticket_type=self.tt, status=E.OFFERED).values_list(
            "pk", flat=True
        )
        live = list(
            WaitlistOffer.objects.filter(ticket_type=self.tt, status=O.LIVE).values_list(
                "entry_id", "order__status"
            )
        )
        assert sorted(offered) == sorted(entry for entry, _ in live)
        assert all(status == S.PENDING for _, status in live)


@pytest.mark.django_db
def test_random_sequences_keep_the_line_first_and_the_counters_exact() -> None:
    run_state_machine_as_test(
        WaitlistMachine,
        settings=settings(
            max_examples=30,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
