"""Joining, confirming, leaving, and the position each person sees."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from accounts.tests.factories import UserFactory
from waitlist.exceptions import (
    WaitlistAlreadyJoined,
    WaitlistClosed,
    WaitlistEmailRequired,
    WaitlistNotSoldOut,
    WaitlistPaused,
    WaitlistQuantityInvalid,
    WaitlistTokenInvalid,
)
from waitlist.models import WaitlistEntry
from waitlist.selectors import (
    entry_get_by_token,
    entry_get_for_user,
    entry_list_for_user,
    waitlist_page_state,
)
from waitlist.services import entry_join, entry_leave, entry_verify, waitlist_pause
from waitlist.signals import entry_joined, entry_verified
from waitlist.signing import LEAVE, VERIFY, entry_token_make
from waitlist.tests.factories import join, sold_out, state

pytestmark = pytest.mark.django_db
E = WaitlistEntry.Status


@pytest.fixture
def joined_signals() -> Any:
    sent: list[tuple[str, WaitlistEntry]] = []

    def on_joined(sender: object, entry: WaitlistEntry, **kwargs: Any) -> None:
        sent.append(("joined", entry))

    def on_verified(sender: object, entry: WaitlistEntry, **kwargs: Any) -> None:
        sent.append(("verified", entry))

    entry_joined.connect(on_joined, dispatch_uid="test.joined")
    entry_verified.connect(on_verified, dispatch_uid="test.verified")
    yield sent
    entry_joined.disconnect(dispatch_uid="test.joined")
    entry_verified.disconnect(dispatch_uid="test.verified")


def test_people_join_in_order_and_see_their_position() -> None:
    tt, _ = sold_out(2)
    first, second, third = join(tt, 1), join(tt, 2), join(tt, 1)
    assert [state(e) for e in (first, second, third)] == [(E.WAITING, 1), (E.WAITING, 2), (E.WAITING, 3)]
    assert first.joined_at is not None
    assert first.verified_at is not None


def test_leaving_is_one_call_and_moves_everyone_behind_up() -> None:
    tt, _ = sold_out(2)
    first, second, third = join(tt), join(tt), join(tt)
    left = entry_leave(entry=second, actor=second.user)
    assert (left.status, left.left_at is not None) == (E.LEFT, True)
    assert [state(e) for e in (first, second, third)] == [(E.WAITING, 1), (E.LEFT, None), (E.WAITING, 2)]
    # Leaving again changes nothing.
    assert entry_leave(entry=second, actor=second.user).status == E.LEFT


def test_one_entry_per_person_per_ticket_type_but_rejoining_after_leaving_goes_to_the_back() -> None:
    tt, _ = sold_out(2)
    user = UserFactory()
    entry = join(tt, user=user)
    with pytest.raises(WaitlistAlreadyJoined) as caught:
        join(tt, user=user)
    assert (caught.value.code, caught.value.extra["entry_id"]) == ("waitlist_already_joined", entry.pk)
    # A guest cannot take a second place with the same address either (whatever its case).
    with pytest.raises(WaitlistAlreadyJoined):
        entry_join(ticket_type=tt, quantity=1, user=None, email=f"  {user.email.upper()} ")
    other = join(tt)
    entry_leave(entry=entry, actor=user)
    again = join(tt, user=user)
    assert state(again) == (E.WAITING, 2)
    assert state(other) == (E.WAITING, 1)


def test_a_guest_is_in_line_only_after_confirming_the_email(joined_signals: list[Any]) -> None:
    tt, _ = sold_out(2)
    ahead = join(tt)
    guest = entry_join(ticket_type=tt, quantity=2, user=None, email="Fan@Example.com")
    assert (guest.status, guest.email, guest.position) == (E.UNVERIFIED, "fan@example.com", None)
    assert state(guest) == (E.UNVERIFIED, None)
    behind = join(tt)  # joins after the guest asked, but before the guest confirmed
    assert joined_signals[-2][1] == guest

    # Asking again before confirming: same entry, new quantity, the link is sent again.
    again = entry_join(ticket_type=tt, quantity=1, user=None, email="fan@example.com")
    assert again.pk == guest.pk
    assert again.quantity == 1
    assert [kind for kind, entry in joined_signals if entry.pk == guest.pk] == ["joined", "joined"]

    verified = entry_verify(token=entry_token_make(entry=guest, purpose=VERIFY))
    assert verified.status == E.WAITING
    assert verified.verified_at is not None
    assert joined_signals[-1] == ("verified", verified)
    assert [state(e)[1] for e in (ahead, behind, guest)] == [1, 2, 3]
    # The link works once; a second click changes nothing.
    assert entry_verify(token=entry_token_make(entry=guest, purpose=VERIFY)).position == verified.position


def test_links_are_signed_per_purpose() -> None:
    tt, _ = sold_out(1)
    guest = entry_join(ticket_type=tt, quantity=1, user=None, email="fan@example.com")
    leave_token = entry_token_make(entry=guest, purpose=LEAVE)
    with pytest.raises(WaitlistTokenInvalid):
        entry_verify(token=leave_token)
    with pytest.raises(WaitlistTokenInvalid):
        entry_verify(token=entry_token_make(entry=guest, purpose=VERIFY)[:-2] + "xx")
    assert entry_get_by_token(token=leave_token, purpose=LEAVE) == guest
    with pytest.raises(WaitlistTokenInvalid):
        entry_get_by_token(token=leave_token, purpose=VERIFY)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"quantity": 0}, WaitlistQuantityInvalid),
        ({"quantity": 5}, WaitlistQuantityInvalid),  # max_per_order is 4
        ({"quantity": 1, "user": None, "email": " "}, WaitlistEmailRequired),
    ],
)
def test_bad_requests_are_refused(kwargs: dict[str, Any], error: type[Exception]) -> None:
    tt, _ = sold_out(1)
    kwargs.setdefault("user", UserFactory())
    with pytest.raises(error):
        entry_join(ticket_type=tt, **kwargs)
    assert not WaitlistEntry.objects.exists()


def test_nobody_joins_while_tickets_are_on_sale_or_after_sales_or_while_paused() -> None:
    tt, _ = sold_out(1, 1)
    tt.capacity = 3
    tt.save(update_fields=["capacity"])
    with pytest.raises(WaitlistNotSoldOut) as caught:
        join(tt)
    assert caught.value.extra["available"] == 1
    tt.capacity = 2
    tt.save(update_fields=["capacity"])
    with pytest.raises(WaitlistClosed) as closed:
        join(tt, now=tt.event.starts_at + timedelta(minutes=1))
    assert closed.value.extra["reason"] == "event_started"
    waitlist_pause(ticket_type=tt, actor=None)
    with pytest.raises(WaitlistPaused):
        join(tt)
    assert not WaitlistEntry.objects.exists()


def test_lottery_events_take_registrations_before_sales_open() -> None:
    tt, _ = sold_out(1)
    tt.sales_start = timezone.now() + timedelta(days=1)
    tt.save(update_fields=["sales_start"])
    with pytest.raises(WaitlistClosed):
        join(tt)
    tt.event.waitlist_lottery = True
    tt.event.save(update_fields=["waitlist_lottery"])
    entry = join(tt)
    # Its place is drawn when sales open.
    assert state(entry) == (E.WAITING, None)
    assert entry_get_for_user(user=entry.user, entry_id=entry.pk).lottery_pending is True


def test_my_waitlists_list_positions_in_few_queries(django_assert_num_queries: Any) -> None:
    user = UserFactory()
    entries = []
    for n in range(3):
        tt, _ = sold_out(1)
        for _ in range(n):
            join(tt)
        entries.append(join(tt, user=user))
    with django_assert_num_queries(2):
        mine = list(entry_list_for_user(user=user))
        shown = [(e.ticket_type.event.title, e.rank, e.live_offer_list) for e in mine]
    assert [rank for _, rank, _ in shown] == [3, 2, 1]
    assert all(offers == [] for _, _, offers in shown)


def test_the_event_page_state_says_join_joined_on_sale_or_paused(django_assert_max_num_queries: Any) -> None:
    tt, _ = sold_out(1)
    on_sale, _ = sold_out(1)
    on_sale.capacity = 5
    on_sale.save(update_fields=["capacity"])
    paused, _ = sold_out(1)
    waitlist_pause(ticket_type=paused, actor=None)
    user = UserFactory()
    join(tt)
    entry = join(tt, user=user)
    ticket_types = [tt, on_sale, paused]
    with django_assert_max_num_queries(2):
        states = waitlist_page_state(ticket_types=ticket_types, user=user)
    assert (states[tt.pk].can_join, states[tt.pk].reason, states[tt.pk].entry) == (False, "joined", entry)
    assert states[tt.pk].entry.rank == 2
    assert (states[on_sale.pk].can_join, states[on_sale.pk].reason) == (False, "on_sale")
    assert (states[paused.pk].can_join, states[paused.pk].reason) == (False, "paused")
    anonymous = waitlist_page_state(ticket_types=ticket_types, user=None)
    assert (anonymous[tt.pk].can_join, anonymous[tt.pk].entry) == (True, None)
    assert not any(s.active for s in anonymous.values())


def test_signing_in_with_an_unconfirmed_guest_address_puts_that_entry_in_line() -> None:
    tt, _ = sold_out(1)
    user = UserFactory(email="fan@example.com")
    guest = entry_join(ticket_type=tt, quantity=2, user=None, email="fan@example.com")
    joined = join(tt, 1, user=user)
    assert joined.pk == guest.pk
    assert (joined.user_id, joined.quantity) == (user.pk, 1)
    assert state(joined) == (E.WAITING, 1)
    assert WaitlistEntry.objects.count() == 1
