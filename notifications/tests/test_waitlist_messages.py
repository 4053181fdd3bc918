"""The waitlist's messages: joined (a guest's confirmation link), an offer (email + inbox, a link straight
to the offer's checkout, the expiry in the event's time zone), an offer lapsing. All written with the
waitlist's transaction and sent after it commits; none for a rolled-back one."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.db import transaction
from django.test import Client

from accounts.tests.factories import UserFactory
from notifications.emails import email_build
from notifications.models import Notification, OutboxEmail
from notifications.tests.outbox_helpers import event_at, html_of
from orders.services import order_cancel, order_expire
from orders.tests.htmlquery import soup
from waitlist.models import WaitlistEntry
from waitlist.services import entry_join, entry_verify
from waitlist.signing import VERIFY, entry_token_make
from waitlist.tests.factories import join, live_offer, sold_out, state

pytestmark = pytest.mark.django_db

NOW = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)
STARTS = datetime(2030, 7, 13, 23, 30, tzinfo=UTC)  # 19:30 in New York
E = WaitlistEntry.Status


@pytest.fixture(autouse=True)
def _pinned_time() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def event() -> Any:
    return event_at(STARTS, timezone="America/New_York", title="Big Thief at Webster Hall")


def kinds_sent() -> list[tuple[str, str]]:
    return [(row.kind, row.to) for row in OutboxEmail.objects.order_by("id")]


def test_a_guests_confirmation_link_is_sent_after_commit_and_not_for_a_rollback(
    event: Any, django_capture_on_commit_callbacks: Any
) -> None:
    tt, _ = sold_out(1, event=event)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        entry_join(ticket_type=tt, quantity=2, user=None, email="fan@example.com")
        assert kinds_sent() == [("waitlist_joined", "fan@example.com")]  # written with the entry...
        assert mail.outbox == []  # ...sent only once it commits
    for callback in callbacks:
        callback()
    [message] = mail.outbox
    assert message.subject == "Confirm your place on the waitlist for Big Thief at Webster Hall"
    assert "2 x General admission" in message.body
    assert re.search(r"Confirm my place: https?://\S+/waitlist/confirm/\S+/\n", message.body), message.body
    assert "/waitlist/confirm/" in html_of(message)
    assert not Notification.objects.exists()  # a guest has no inbox

    # A join that rolls back writes and sends nothing.
    other, _ = sold_out(1, event=event)

    def join_then_fail() -> None:
        with transaction.atomic():
            entry_join(ticket_type=other, quantity=1, user=None, email="gone@example.com")
            raise RuntimeError("something later in the same transaction failed")

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        join_then_fail()
    assert [to for _, to in kinds_sent()] == ["fan@example.com"]
    assert len(mail.outbox) == 1


def test_a_guest_asking_again_gets_the_link_again_but_not_every_second(
    event: Any, django_capture_on_commit_callbacks: Any
) -> None:
    tt, _ = sold_out(1, event=event)
    with django_capture_on_commit_callbacks(execute=True):
        entry_join(ticket_type=tt, quantity=1, user=None, email="fan@example.com")
        entry_join(ticket_type=tt, quantity=2, user=None, email="fan@example.com")
    assert len(mail.outbox) == 1
    with (
        time_machine.travel(NOW + timedelta(minutes=6), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        entry_join(ticket_type=tt, quantity=2, user=None, email="fan@example.com")
    assert len(mail.outbox) == 2


def test_a_signed_in_fan_is_told_their_place_by_email_and_inbox(
    event: Any, django_capture_on_commit_callbacks: Any
) -> None:
    tt, _ = sold_out(1, event=event)
    join(tt)
    user = UserFactory()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        join(tt, 1, user=user)
    [message] = [m for m in mail.outbox if m.to == [user.email]]
    assert message.subject == "You are on the waitlist for Big Thief at Webster Hall"
    assert "you are 2nd in line" in message.body
    inbox = Notification.objects.get(user=user)
    assert (inbox.kind, inbox.link) == ("waitlist_joined", "/waitlist/")


def test_an_offer_is_emailed_with_a_link_straight_to_payment_and_its_expiry_in_event_time(
    event: Any, django_capture_on_commit_callbacks: Any
) -> None:
    tt, orders = sold_out(1, event=event)
    user = UserFactory()
    entry = join(tt, user=user)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        order_cancel(order=orders[0], actor=None)
    offer = live_offer(entry)
    assert offer is not None
    [message] = [m for m in mail.outbox if "held for you" in m.subject]
    assert message.to == [user.email]
    # 12:30 UTC is 08:30 in New York (EDT).
    assert message.subject == "Tickets for Big Thief at Webster Hall are held for you until Sat 1 Jun, 08:30"
    assert "held for you until Saturday 1 June, 08:30 (New York time)" in message.body
    assert re.search(rf"Pay now: https?://\S+/orders/{offer.order.code}/checkout/\n", message.body)
    inbox = Notification.objects.get(user=user, kind="waitlist_offer")
    assert inbox.link == f"/orders/{offer.order.code}/checkout/"
    assert "until Saturday 1 June 2030, 08:30" in inbox.body


def test_a_guests_offer_link_is_signed_and_opens_the_checkout(
    event: Any, django_capture_on_commit_callbacks: Any
) -> None:
    tt, orders = sold_out(1, event=event)
    entry = entry_join(ticket_type=tt, quantity=1, user=None, email="fan@example.com")
    entry_verify(token=entry_token_make(entry=entry, purpose=VERIFY))
    with django_capture_on_commit_callbacks(execute=True):
        order_cancel(order=orders[0], actor=None)
    offer = live_offer(entry)
    assert offer is not None
    [message] = [m for m in mail.outbox if "held for you" in m.subject]
    link = re.search(r"Pay now: \S+(/orders/\w+/checkout/\?t=\S+)\n", message.body)
    assert link, message.body
    assert Client().get(link[1]).status_code == 200
    assert "/waitlist/leave/" in message.body  # one click to say no


def test_a_lapsed_offer_is_told_once_instead_of_the_hold_expired_email_and_the_next_is_offered(
    event: Any, django_capture_on_commit_callbacks: Any
) -> None:
    tt, orders = sold_out(1, event=event)
    first = join(tt, user=UserFactory())
    second = join(tt, user=UserFactory())
    order_cancel(order=orders[0], actor=None)
    offer = live_offer(first)
    assert offer is not None
    mail.outbox.clear()
    OutboxEmail.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        order_expire(order=offer.order, now=offer.expires_at + timedelta(seconds=1))
    assert state(first)[0] == E.LAPSED
    assert live_offer(second) is not None
    assert sorted(kinds_sent()) == sorted(
        [("waitlist_offer_lapsed", first.email), ("waitlist_offer", second.email)]
    )
    [lapsed] = [m for m in mail.outbox if m.to == [first.email]]
    assert lapsed.subject == "Your waitlist offer for Big Thief at Webster Hall has lapsed"
    assert "not paid by 08:30 (New York time)" in lapsed.body


@pytest.mark.parametrize("guest", [True, False])
def test_every_waitlist_kind_renders_a_subject_text_and_html(event: Any, guest: bool) -> None:
    tt, orders = sold_out(1, event=event)
    user = None if guest else UserFactory()
    entry = entry_join(ticket_type=tt, quantity=1, user=user, email="fan@example.com")
    if guest:
        entry_verify(token=entry_token_make(entry=entry, purpose=VERIFY))
    order_cancel(order=orders[0], actor=None)
    offer = live_offer(entry)
    assert offer is not None
    contexts = {
        "waitlist_joined": {"entry_id": entry.pk},
        "waitlist_offer": {"order_id": offer.order_id, "offer_id": offer.pk},
        "waitlist_offer_lapsed": {"order_id": offer.order_id, "offer_id": offer.pk},
        "waitlist_closed": {"entry_id": entry.pk},
    }
    for key, context in contexts.items():
        outbox = OutboxEmail.objects.create(
            kind=key, reference=f"test:{key}", to="a@example.com", context=context
        )
        message = email_build(outbox=outbox)
        html = html_of(message)
        assert "Big Thief at Webster Hall" in message.subject, key
        assert "Big Thief at Webster Hall" in message.body, key
        for rendered in (message.subject, message.body, soup(html).get_text()):
            assert "None" not in rendered, (key, rendered)
            assert "{{" not in rendered, key
        assert soup(html).select_one("h1").get_text(strip=True), key
        # A guest's messages carry signed links; a user's point to their pages.
        leave = "/waitlist/leave/" if guest else "/waitlist/"
        if key == "waitlist_offer" or (key == "waitlist_joined" and not guest):
            assert leave in message.body, key
    # A guest who has not confirmed gets the confirmation link (nothing to leave yet).
    if guest:
        joined = email_build(outbox=OutboxEmail.objects.get(reference="test:waitlist_joined"))
        assert "/waitlist/confirm/" in joined.body
