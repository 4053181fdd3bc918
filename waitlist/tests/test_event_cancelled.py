"""A cancelled event closes its waitlists in the cancelling transaction: live offers are withdrawn (their
orders cancelled through the normal cancel path, seats released), every entry ends ``closed`` with an
audit row, withheld seats go back, and the people who were in line are told (``entry_closed``; the emails:
notifications/tests/test_waitlist_closed_messages.py)."""

from __future__ import annotations

from typing import Any

import pytest

from events.models import Event, OrganizerMember, TicketType
from events.services import event_update
from events.tests.factories import OrganizerMemberFactory
from orders.models import Order, OrderEvent
from orders.services import order_cancel, order_mark_paid
from waitlist.exceptions import WaitlistClosed
from waitlist.models import Waitlist, WaitlistAction, WaitlistEntry, WaitlistOffer
from waitlist.services import entry_join, waitlist_close_for_event, waitlist_sweep
from waitlist.signals import entry_closed
from waitlist.tests.factories import audit_clean, counters, join, live_offer, sold_out

pytestmark = pytest.mark.django_db
E = WaitlistEntry.Status
O = WaitlistOffer.Status  # noqa: E741
A = WaitlistAction.Kind


@pytest.fixture
def closed_signals() -> Any:
    sent: list[WaitlistEntry] = []

    def receiver(sender: object, entry: WaitlistEntry, **kwargs: Any) -> None:
        sent.append(entry)

    entry_closed.connect(receiver, dispatch_uid="test.entry_closed")
    yield sent
    entry_closed.disconnect(dispatch_uid="test.entry_closed")


def cancel_event(event: Event) -> Event:
    """As the organizer does it (the API's and the admin's path: the event_cancelled signal)."""
    manager = OrganizerMemberFactory(organizer=event.organizer, role=OrganizerMember.Role.MANAGER).user
    return event_update(actor=manager, event=event, changes={"status": Event.Status.CANCELLED})


def line_with_an_offer_and_withheld_seats() -> tuple[TicketType, list[Order], list[WaitlistEntry]]:
    """Four seats held by pending orders of 2, 1 and 1; in line: A wants 2, B 1, C 2, and a guest who never
    confirmed. One order cancelled: B gets an offer (A does not fit). Another: the seat fits nobody
    waiting (A and C want 2), so it is withheld."""
    tt, (big, one, other) = sold_out(2, 1, 1)
    a, b, c = join(tt, 2), join(tt, 1), join(tt, 2)
    guest = entry_join(ticket_type=tt, quantity=1, user=None, email="guest@example.com")
    order_cancel(order=one, actor=None)
    order_cancel(order=other, actor=None)
    assert [e.status for e in _fresh(a, b, c, guest)] == [E.WAITING, E.OFFERED, E.WAITING, E.UNVERIFIED]
    assert counters(tt) == (0, 4, 1)  # big's 2, B's offer 1, withheld 1
    return tt, [big], [a, b, c, guest]


def _fresh(*entries: WaitlistEntry) -> list[WaitlistEntry]:
    for entry in entries:
        entry.refresh_from_db()
    return list(entries)


def test_cancelling_the_event_closes_the_line_withdraws_offers_and_releases_withheld_seats(
    closed_signals: list[WaitlistEntry],
) -> None:
    tt, [big], entries = line_with_an_offer_and_withheld_seats()
    a, b, c, guest = entries
    offer = live_offer(b)
    assert offer is not None

    cancel_event(tt.event)

    assert [e.status for e in _fresh(*entries)] == [E.CLOSED] * 4
    assert all(e.left_at is not None for e in entries)
    offer.refresh_from_db()
    assert offer.status == O.WITHDRAWN
    assert offer.decided_at is not None
    # The offer's order went through the normal cancel path: cancelled, seats released, audited.
    offer.order.refresh_from_db()
    assert offer.order.status == Order.Status.CANCELLED
    last = OrderEvent.objects.filter(order=offer.order).latest("id")
    assert (last.from_status, last.to_status) == (Order.Status.PENDING, Order.Status.CANCELLED)
    assert "waitlist offer withdrawn" in last.reason
    # Only the buyer's own pending order still holds seats; nothing is withheld; counters match the rows.
    assert counters(tt) == (0, 2, 0)
    assert audit_clean()
    big.refresh_from_db()
    assert big.status == Order.Status.PENDING  # not an offer: it lapses (or is refunded) the normal way

    # One audit row per entry (with its rank in line while waiting), one for the line with the seats.
    waitlist = Waitlist.objects.get(ticket_type=tt)
    rows = list(WaitlistAction.objects.filter(waitlist=waitlist, kind=A.CLOSE).order_by("id"))
    per_entry = {row.entry_id: row for row in rows if row.entry_id is not None}
    assert set(per_entry) == {a.pk, b.pk, c.pk, guest.pk}
    assert (per_entry[a.pk].from_position, per_entry[c.pk].from_position) == (1, 2)
    assert per_entry[b.pk].from_position is None
    [line] = [row for row in rows if row.entry_id is None]
    assert line.seats == 1
    assert line.reason == "the event was cancelled: 4 entries closed"
    # Told: those who were in line (A, B with the withdrawn offer, C), not the unconfirmed guest.
    assert sorted(e.pk for e in closed_signals) == sorted([a.pk, b.pk, c.pk])


def test_after_the_cancellation_nothing_reopens_the_line() -> None:
    tt, [big], _ = line_with_an_offer_and_withheld_seats()
    cancel_event(tt.event)
    actions = WaitlistAction.objects.count()

    assert waitlist_close_for_event(event=tt.event, actor=None) == []  # again: a no-op
    assert WaitlistAction.objects.count() == actions
    order_cancel(order=big, actor=None)  # freed seats: no round offers them
    assert waitlist_sweep() == 0
    assert not WaitlistOffer.objects.filter(status=O.LIVE).exists()
    with pytest.raises(WaitlistClosed):
        join(tt, 1)
    assert counters(tt) == (0, 0, 0)


def test_an_offer_paid_before_the_cancellation_stays_accepted() -> None:
    tt, _, (a, b, c, guest) = line_with_an_offer_and_withheld_seats()
    offer = live_offer(b)
    order_mark_paid(order=offer.order, provider="card", reference="pi_test_paid")

    cancel_event(tt.event)

    offer.refresh_from_db()
    assert offer.status == O.ACCEPTED  # its order is a paid one: refunded with the event's other orders
    assert [e.status for e in _fresh(a, b, c, guest)] == [E.CLOSED, E.ACCEPTED, E.CLOSED, E.CLOSED]


def test_only_a_cancelled_events_waitlists_are_closed() -> None:
    tt, _, entries = line_with_an_offer_and_withheld_seats()
    with pytest.raises(WaitlistClosed):
        waitlist_close_for_event(event=tt.event, actor=None)
    assert [e.status for e in _fresh(*entries)] == [E.WAITING, E.OFFERED, E.WAITING, E.UNVERIFIED]


def test_an_event_without_waitlists_is_cancelled_without_waitlist_rows(
    closed_signals: list[WaitlistEntry],
) -> None:
    tt, _ = sold_out(1)
    cancel_event(tt.event)
    assert not Waitlist.objects.exists()
    assert closed_signals == []
