"""In lottery mode, the seats people registered for before sales open are kept back from the public until
the first round after sales open (the beat sweep, up to a minute later) draws the lottery and offers them:
sales opening must not let a fast public buyer take them in between."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from events.models import Event
from orders.exceptions import SoldOut
from orders.tests.factories import place_order, ticket_type_on_sale
from waitlist.models import Waitlist, WaitlistEntry
from waitlist.services import entry_leave, waitlist_sweep
from waitlist.tests.factories import audit_clean, counters, join, live_offer

pytestmark = pytest.mark.django_db
E = WaitlistEntry.Status


def test_registered_seats_are_withheld_before_sales_open_and_offered_in_the_draw() -> None:
    opens = timezone.now() + timedelta(hours=1)
    tt = ticket_type_on_sale(capacity=4, max_per_order=4, sales_start=opens)
    Event.objects.filter(pk=tt.event_id).update(waitlist_lottery=True)
    tt.refresh_from_db()

    a, b = join(tt, 2), join(tt, 1)
    assert counters(tt) == (0, 3, 3)  # sold, held, withheld: what the registered want
    c = join(tt, 3)
    assert counters(tt) == (0, 4, 4)  # never more than there are seats
    entry_leave(entry=c, actor=None)
    assert counters(tt) == (0, 3, 3)  # and no more than is still wanted
    assert audit_clean()

    with time_machine.travel(opens + timedelta(seconds=1), tick=False):
        # Sales are open, the sweep has not run yet: the public gets the seat nobody registered for only.
        with pytest.raises(SoldOut):
            place_order(tt, 2)
        place_order(tt, 1)
        assert counters(tt) == (0, 4, 3)

        waitlist_sweep()  # the first round: the lottery is drawn, the kept seats offered in its order

    assert Waitlist.objects.get(ticket_type=tt).lottery_drawn_at is not None
    assert live_offer(a) is not None
    assert live_offer(b) is not None
    assert counters(tt) == (0, 4, 0)
    assert audit_clean()
