"""Recompute every ticket type's ``sold`` and ``held`` from order rows and report drift (exit status 1).

sold = seats on lines of orders that are ``paid`` or ``partially_refunded``, less their void tickets (a
refund by ticket voids those tickets and returns exactly their seats);
held = seats on lines of ``pending`` orders, plus the seats the waitlist withholds for the people in line
(``TicketType.withheld``, held by no order; the constraint keeps ``withheld <= held``). Expired, cancelled,
refunded and ``paid_unfulfillable`` orders hold and sell nothing.

The demo data (``demo_setup``, ``seed_demo``) sells its seats through paid orders of demo buyers
(``orders.demo``), so a demo database audits clean too. ``--event <slug>`` (repeatable) audits some events.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Count, F, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from events.models import TicketType
from orders.models import Order, Ticket

SELLING = (Order.Status.PAID, Order.Status.PARTIALLY_REFUNDED)


class Command(BaseCommand):
    help = "Recompute sold/held counters from orders and report any drift (exit status 1 on drift)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--event", action="append", default=[], metavar="SLUG", help="Only this event (repeatable)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        ticket_types = TicketType.objects.select_related("event").order_by("event_id", "id")
        if options["event"]:
            ticket_types = ticket_types.filter(event__slug__in=options["event"])
        # A subquery, not a second join: joining tickets and lines together would multiply the sum.
        void = (
            Ticket.objects.filter(
                ticket_type=OuterRef("pk"), status=Ticket.Status.VOID, order__status__in=SELLING
            )
            .values("ticket_type")
            .annotate(n=Count("id"))
            .values("n")
        )
        rows = ticket_types.annotate(
            expected_sold=Coalesce(
                Sum("order_lines__quantity", filter=Q(order_lines__order__status__in=SELLING)), Value(0)
            )
            - Coalesce(Subquery(void), Value(0)),
            expected_held=Coalesce(
                Sum("order_lines__quantity", filter=Q(order_lines__order__status=Order.Status.PENDING)),
                Value(0),
            )
            + F("withheld"),
        )
        checked = 0
        drifted = 0
        for tt in rows:
            checked += 1
            if tt.sold != tt.expected_sold or tt.held != tt.expected_held:
                drifted += 1
                self.stdout.write(
                    f"DRIFT ticket type {tt.pk} ({tt.event.slug} / {tt.name}): "
                    f"sold {tt.sold} vs {tt.expected_sold} from orders, "
                    f"held {tt.held} vs {tt.expected_held} from orders and the {tt.withheld} withheld"
                )
        if drifted:
            raise CommandError(f"Drift in {drifted} of {checked} ticket types.", returncode=1)
        self.stdout.write(f"No drift in {checked} ticket types.")
