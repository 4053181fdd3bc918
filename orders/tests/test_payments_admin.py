"""The orders admin: a staff refund of chosen tickets (void, seats back, order partially refunded, Stripe
asked), a full refund, refusals as messages, organizer isolation, the staff queue, the refunds list, query
counts, and the event admin's "Refund all paid orders" of a cancelled event with its progress."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import User
from accounts.tests.factories import SuperuserFactory, VerifiedUserFactory
from events.models import Event, OrganizerMember, TicketType
from events.services_admin import organizer_member_grant_staff
from events.tests.factories import OrganizerMemberFactory
from orders.models import Order, Refund, Ticket
from orders.services_payments import event_refund_job_set
from orders.stripe_fake import FakeStripe
from orders.tests.factories import place_order, ticket_type_on_sale
from orders.tests.htmlquery import Node, soup
from orders.tests.payments_helpers import Deliver, audit_clean, buy_and_pay, counters, stripe_calls

pytestmark = pytest.mark.django_db
S = Order.Status


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def staff_member(organizer: Any, role: str = OrganizerMember.Role.MANAGER) -> User:
    """An organizer's member with the admin access a membership grants (as production makes them)."""
    member = OrganizerMemberFactory(organizer=organizer, role=role, user=VerifiedUserFactory())
    organizer_member_grant_staff(member=member, actor=None)
    return member.user


def refund_url(order: Order) -> str:
    return reverse("admin:orders_order_refund_order", args=[order.pk])


def change_url(order: Order) -> str:
    return reverse("admin:orders_order_change", args=[order.pk])


def admin_messages(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def _soup(response: Any) -> Node:
    return soup(response.content)


@pytest.fixture
def tt() -> TicketType:
    return ticket_type_on_sale(capacity=10)


@pytest.fixture
def paid(fake_stripe: FakeStripe, stripe_deliver: Deliver, tt: TicketType) -> Order:
    """Three tickets bought and paid by card."""
    return buy_and_pay(fake_stripe, stripe_deliver, tt, 3)


@pytest.fixture
def staff() -> User:
    return SuperuserFactory()


# --- refunding one order ----------------------------------------------------------------------------------


def test_staff_refund_two_of_three_tickets(
    fake_stripe: FakeStripe, paid: Order, tt: TicketType, staff: User, django_capture_on_commit_callbacks: Any
) -> None:
    client = client_for(staff)
    tickets = list(paid.tickets.order_by("id"))
    assert counters(tt) == (3, 0)

    page = client.get(refund_url(paid))
    assert page.status_code == 200
    boxes = _soup(page).select('input[name="tickets"]')
    assert sorted(int(box["value"]) for box in boxes) == [t.pk for t in tickets]

    with django_capture_on_commit_callbacks(execute=True):  # the task asking Stripe, after commit
        response = client.post(
            refund_url(paid),
            {
                "scope": "tickets",
                "tickets": [tickets[0].pk, tickets[1].pk],
                "reason": "Two friends cannot come",
            },
            follow=True,
        )

    assert response.redirect_chain[-1][0] == change_url(paid)
    assert any("Refunded 55.00 EUR for 2 tickets" in m for m in admin_messages(response))
    paid.refresh_from_db()
    assert paid.status == S.PARTIALLY_REFUNDED
    statuses = [t.status for t in Ticket.objects.filter(order=paid).order_by("id")]
    assert statuses == [Ticket.Status.VOID, Ticket.Status.VOID, Ticket.Status.VALID]
    assert counters(tt) == (1, 0)  # exactly two seats back on sale
    refund = Refund.objects.get(order=paid)
    assert (refund.amount, refund.source, refund.reason, refund.actor) == (
        55,
        Refund.Source.STAFF,
        "Two friends cannot come",
        staff,
    )
    assert sorted(refund.tickets.values_list("pk", flat=True)) == [tickets[0].pk, tickets[1].pk]
    (call,) = stripe_calls(fake_stripe, "POST", "/v1/refunds")  # Stripe asked to return the money
    assert call[2]["amount"] == "5500"
    assert audit_clean()
    # The order's page shows the refund, the void tickets and the move in its history.
    page = _soup(client.get(change_url(paid)))
    assert "Two friends cannot come" in page.get_text()
    assert "Partially refunded" in page.get_text()


def test_staff_refund_the_whole_order(paid: Order, tt: TicketType, staff: User) -> None:
    response = client_for(staff).post(
        refund_url(paid), {"scope": "all", "reason": "Asked by phone"}, follow=True
    )

    assert any("Refunded 82.50 EUR for 3 tickets" in m for m in admin_messages(response))
    paid.refresh_from_db()
    assert paid.status == S.REFUNDED
    assert counters(tt) == (0, 0)
    assert not Ticket.objects.filter(order=paid).exclude(status=Ticket.Status.VOID).exists()


def test_refusals_are_messages_and_change_nothing(
    fake_stripe: FakeStripe, tt: TicketType, staff: User
) -> None:
    pending = place_order(tt, 2)
    client = client_for(staff)

    response = client.post(refund_url(pending), {"scope": "all", "reason": "Test"}, follow=True)

    assert "This order cannot be refunded." in admin_messages(response)
    pending.refresh_from_db()
    assert pending.status == S.PENDING
    assert not Refund.objects.exists()


def test_choosing_tickets_without_any_or_without_a_reason_is_a_form_error(paid: Order, staff: User) -> None:
    client = client_for(staff)

    response = client.post(refund_url(paid), {"scope": "tickets", "tickets": [], "reason": ""})

    assert response.status_code == 200
    text = _soup(response).get_text()
    assert "Choose at least one ticket, or refund the whole order." in text
    assert "This field is required." in text
    assert not Refund.objects.exists()
    paid.refresh_from_db()
    assert paid.status == S.PAID


def test_another_organizers_staff_can_neither_see_nor_refund_the_order(paid: Order, tt: TicketType) -> None:
    other_event = ticket_type_on_sale().event
    outsider = client_for(staff_member(other_event.organizer))

    changelist = outsider.get(reverse("admin:orders_order_changelist"))
    assert changelist.status_code == 200
    assert paid not in changelist.context["cl"].result_list
    assert outsider.get(change_url(paid)).status_code in (302, 404)  # Django: "doesn't exist" -> index
    assert outsider.get(refund_url(paid)).status_code in (403, 404)
    assert outsider.post(refund_url(paid), {"scope": "all", "reason": "x"}).status_code in (403, 404)
    paid.refresh_from_db()
    assert paid.status == S.PAID
    assert counters(tt) == (3, 0)


def test_the_events_own_staff_see_the_order_managers_refund_box_office_only_looks(
    paid: Order, tt: TicketType
) -> None:
    organizer = paid.event.organizer
    box_office = client_for(staff_member(organizer, role=OrganizerMember.Role.BOX_OFFICE))
    manager = client_for(staff_member(organizer))

    assert box_office.get(change_url(paid)).status_code == 200
    assert "Refund" not in [
        a.get_text(strip=True) for a in _soup(box_office.get(change_url(paid))).select("a")
    ]
    assert box_office.post(refund_url(paid), {"scope": "all", "reason": "x"}).status_code == 403
    paid.refresh_from_db()
    assert paid.status == S.PAID

    page = manager.get(change_url(paid))
    assert refund_url(paid) in page.content.decode()
    response = manager.post(refund_url(paid), {"scope": "all", "reason": "Organizer goodwill"})
    assert response.status_code == 302
    paid.refresh_from_db()
    assert paid.status == S.REFUNDED


# --- the staff queue and the lists ------------------------------------------------------------------------


def test_the_needs_attention_filter_lists_flagged_orders_with_the_reason(
    paid: Order, tt: TicketType, staff: User
) -> None:
    flagged = place_order(tt, 1)
    Order.objects.filter(pk=flagged.pk).update(
        needs_attention="Late payment, no seats left: find seats or refund"
    )
    client = client_for(staff)

    response = client.get(reverse("admin:orders_order_changelist"), {"attention": "yes"})

    assert [o.pk for o in response.context["cl"].result_list] == [flagged.pk]
    assert "Late payment, no seats left: find seats or refund" in response.content.decode()
    everything = client.get(reverse("admin:orders_order_changelist"))
    assert {o.pk for o in everything.context["cl"].result_list} == {flagged.pk, paid.pk}


def test_the_order_list_costs_the_same_queries_for_more_orders(
    fake_stripe: FakeStripe, stripe_deliver: Deliver, tt: TicketType, staff: User
) -> None:
    client = client_for(staff)
    url = reverse("admin:orders_order_changelist")
    buy_and_pay(fake_stripe, stripe_deliver, tt, 1)
    client.get(url)  # warm the session and the content types
    with CaptureQueriesContext(connection) as one:
        client.get(url)
    for _ in range(4):
        buy_and_pay(fake_stripe, stripe_deliver, tt, 1)
    with CaptureQueriesContext(connection) as five:
        response = client.get(url)
    assert len(response.context["cl"].result_list) == 5
    assert len(five) == len(one)


def test_the_refunds_list_shows_refunds_to_their_organizer_only(paid: Order, staff: User) -> None:
    client_for(staff).post(refund_url(paid), {"scope": "all", "reason": "Asked by email"})
    url = reverse("admin:orders_refund_changelist")

    mine = client_for(staff_member(paid.event.organizer)).get(url)
    theirs = client_for(staff_member(ticket_type_on_sale().event.organizer)).get(url)

    assert [r.order_id for r in mine.context["cl"].result_list] == [paid.pk]
    assert "Asked by email" in mine.content.decode()
    assert list(theirs.context["cl"].result_list) == []


# --- refunding every paid order of a cancelled event ------------------------------------------------------


def _cancel(event: Event) -> None:
    Event.objects.filter(pk=event.pk).update(status=Event.Status.CANCELLED)


def test_refund_all_paid_orders_of_a_cancelled_event_and_see_the_progress(
    fake_stripe: FakeStripe,
    stripe_deliver: Deliver,
    tt: TicketType,
    staff: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    first = buy_and_pay(fake_stripe, stripe_deliver, tt, 2)
    second = buy_and_pay(fake_stripe, stripe_deliver, tt, 1)
    pending = place_order(tt, 1)
    event = tt.event
    _cancel(event)
    client = client_for(staff)
    changelist = reverse("admin:events_event_changelist")
    selected = {"action": "refund_all_paid_orders", "_selected_action": [event.pk]}

    confirm = client.post(changelist, selected)

    assert confirm.status_code == 200
    assert "2 paid orders" in _soup(confirm).get_text()
    for order in (first, second):
        order.refresh_from_db()
        assert order.status == S.PAID  # nothing happens before "Yes"

    with django_capture_on_commit_callbacks(execute=True):  # the Celery job (eager in tests) starts
        done = client.post(changelist, {**selected, "post": "yes"}, follow=True)

    assert any("refunding its paid orders in the background" in m for m in admin_messages(done))
    for order in (first, second):
        order.refresh_from_db()
        assert order.status == S.REFUNDED
    pending.refresh_from_db()
    assert pending.status == S.PENDING
    assert counters(tt) == (0, 1)
    panel = _soup(client.get(reverse("admin:events_event_change", args=[event.pk]))).select_one("#refund-job")
    assert panel.get_text(strip=True) == "Done: 2 of 2 paid orders processed."
    assert not panel.has_attr("hx-get")  # finished: no more polling


def test_a_running_refund_job_shows_its_progress_and_polls(tt: TicketType, staff: User) -> None:
    event = tt.event
    _cancel(event)
    event_refund_job_set(event_id=event.pk, done=1, total=3)
    client = client_for(staff)

    panel = _soup(client.get(reverse("admin:events_event_change", args=[event.pk]))).select_one("#refund-job")

    assert panel.get_text(strip=True) == "Refunding: 1 of 3 paid orders processed…"
    progress = reverse("admin:events_event_refund_progress", args=[event.pk])
    assert (panel["hx-get"], panel["hx-trigger"], panel["role"]) == (progress, "every 2s", "status")
    event_refund_job_set(event_id=event.pk, done=3, total=3, finished=True)
    fragment = client.get(progress)
    assert fragment.status_code == 200
    assert "Done: 3 of 3 paid orders processed." in fragment.content.decode()
    outsider = client_for(staff_member(ticket_type_on_sale().event.organizer))
    assert outsider.get(progress).status_code == 404


def test_refund_all_skips_events_that_are_not_cancelled_or_not_yours(
    fake_stripe: FakeStripe, stripe_deliver: Deliver, tt: TicketType
) -> None:
    order = buy_and_pay(fake_stripe, stripe_deliver, tt, 1)
    other_tt = ticket_type_on_sale()
    other = buy_and_pay(fake_stripe, stripe_deliver, other_tt, 1)
    _cancel(other_tt.event)
    manager = client_for(staff_member(tt.event.organizer))  # tt's event is published, not cancelled

    response = manager.post(
        reverse("admin:events_event_changelist"),
        {"action": "refund_all_paid_orders", "_selected_action": [tt.event.pk], "post": "yes"},
        follow=True,
    )

    assert any("skipped" in m for m in admin_messages(response))
    for paid in (order, other):
        paid.refresh_from_db()
        assert paid.status == S.PAID
