"""The people in line for a cancelled event's tickets are told their waitlist is closed, once each, after
the cancelling transaction commits: the event's cancellation broadcast only reaches ticket holders (paid
orders), and neither a waiting entry nor a withdrawn offer's cancelled order is one."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail

from notifications.models import Notification, OutboxEmail
from waitlist.models import WaitlistOffer
from waitlist.tests.test_event_cancelled import cancel_event, line_with_an_offer_and_withheld_seats

pytestmark = pytest.mark.django_db


def test_the_people_in_line_get_one_email_each_after_commit(django_capture_on_commit_callbacks: Any) -> None:
    tt, _, (a, b, c, _guest) = line_with_an_offer_and_withheld_seats()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        cancel_event(tt.event)
    closed = OutboxEmail.objects.filter(kind="waitlist_closed")
    assert sorted(closed.values_list("to", flat=True)) == sorted([a.email, b.email, c.email])
    messages = {m.to[0]: m for m in mail.outbox if "waitlist closed" in m.subject}
    assert set(messages) == {a.email, b.email, c.email}
    offer_order = WaitlistOffer.objects.get(entry=b).order.code
    assert f"The tickets held for you (order {offer_order}) were released" in messages[b.email].body
    assert "Nothing was charged." in messages[a.email].body
    assert "order" not in messages[a.email].body.split("Nothing was charged.")[0].lower()
    inbox = Notification.objects.get(user=b.user, kind="waitlist_closed")
    assert inbox.link == f"/events/{tt.event.slug}/"
    assert f"order {offer_order}" in inbox.body
    # The cancellation broadcast (ticket holders) has nobody to tell here: no order was paid.
    assert not OutboxEmail.objects.filter(kind="event_cancelled").exists()
