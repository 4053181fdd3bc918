"""Staff moves (reorder with audit, remove, pause, resume, release to the public) and the lottery draw."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from accounts.tests.factories import SuperuserFactory
from events.models import TicketType
from orders.models import Order
from orders.services import order_cancel
from orders.tests.factories import place_order
from waitlist.exceptions import WaitlistEntryNotActive, WaitlistPositionInvalid
from waitlist.lottery import lottery_shuffle
from waitlist.models import Waitlist, WaitlistAction, WaitlistEntry
from waitlist.selectors import waitlist_lottery_replay
from waitlist.services import (
    entry_move,
    entry_remove,
    waitlist_lottery_draw,
    waitlist_pause,
    waitlist_release_to_public,
    waitlist_resume,
    waitlist_sweep,
)
from waitlist.tests.factories import audit_clean, counters, join, live_offer, sold_out, state

pytestmark = pytest.mark.django_db
E = WaitlistEntry.Status
A = WaitlistAction.Kind


def ranks(*entries: WaitlistEntry) -> list[int | None]:
    return [state(e)[1] for e in entries]


def test_staff_move_an_entry_and_the_move_is_audited() -> None:
    tt, _ = sold_out(1)
    staff = SuperuserFactory()
    a, b, c, d = join(tt), join(tt), join(tt), join(tt)
    entry_move(entry=d, to_position=1, actor=staff, reason="venue's access request")
    assert ranks(a, b, c, d) == [2, 3, 4, 1]
    entry_move(entry=a, to_position=4, actor=staff, reason="asked to wait")
    assert ranks(a, b, c, d) == [4, 2, 3, 1]
    later = join(tt)  # newcomers still queue at the back
    assert ranks(later) == [5]
    moves = list(WaitlistAction.objects.filter(kind=A.REORDER).order_by("id"))
    assert [(m.entry_id, m.from_position, m.to_position, m.actor_id) for m in moves] == [
        (d.pk, 4, 1, staff.pk),
        (a.pk, 2, 4, staff.pk),
    ]
    assert moves[0].reason == "venue's access request"
    with pytest.raises(WaitlistPositionInvalid):
        entry_move(entry=a, to_position=6, actor=staff)
    # The next freed seat follows the new order.
    order_cancel(order=Order.objects.get(), actor=None)
    assert live_offer(d) is not None


def test_only_waiting_entries_move() -> None:
    tt, (order,) = sold_out(1)
    a = join(tt)
    order_cancel(order=order, actor=None)
    with pytest.raises(WaitlistEntryNotActive):
        entry_move(entry=a, to_position=1, actor=None)


def test_staff_remove_an_entry_with_a_live_offer_and_the_seat_passes_on() -> None:
    tt, (order,) = sold_out(1)
    staff = SuperuserFactory()
    a, b = join(tt), join(tt)
    order_cancel(order=order, actor=None)
    entry_remove(entry=a, actor=staff, reason="duplicate account")
    assert state(a)[0] == E.DECLINED
    assert live_offer(b) is not None
    (removal,) = WaitlistAction.objects.filter(kind=A.REMOVE)
    assert (removal.entry_id, removal.actor_id, removal.reason) == (a.pk, staff.pk, "duplicate account")


def test_a_paused_waitlist_lets_freed_seats_go_to_the_public_and_resuming_offers_again() -> None:
    tt, (first, second, _third) = sold_out(1, 1, 1)
    a = join(tt, 2)
    order_cancel(order=first, actor=None)
    assert counters(tt)[2] == 1  # withheld for A
    waitlist_pause(ticket_type=tt, actor=None, reason="box office check")
    order_cancel(order=second, actor=None)
    assert counters(tt) == (0, 2, 1)  # the newly freed seat is public, the withheld one stays
    assert live_offer(a) is None
    assert waitlist_sweep() == 0  # the sweep respects the pause
    waitlist_resume(ticket_type=tt, actor=None)
    assert live_offer(a).quantity == 2
    assert counters(tt) == (0, 3, 0)
    kinds = list(WaitlistAction.objects.order_by("id").values_list("kind", flat=True))
    assert kinds == [A.PAUSE, A.RESUME]
    assert audit_clean()


def test_releasing_withheld_seats_to_the_public_pauses_and_is_audited() -> None:
    tt, (first, _) = sold_out(1, 1)
    join(tt, 2)
    order_cancel(order=first, actor=None)
    staff = SuperuserFactory()
    assert waitlist_release_to_public(ticket_type=tt, actor=staff, reason="show tonight") == 1
    assert counters(tt) == (0, 1, 0)
    assert Waitlist.objects.get(ticket_type=tt).paused
    (release,) = WaitlistAction.objects.filter(kind=A.RELEASE)
    assert (release.seats, release.actor_id) == (1, staff.pk)
    assert place_order(tt, 1).status == Order.Status.PENDING
    assert audit_clean()


# --- lottery ----------------------------------------------------------------------------------------------


def lottery_ticket_type() -> tuple[TicketType, list[Order]]:
    tt, orders = sold_out(1)
    tt.sales_start = timezone.now() + timedelta(hours=24)
    tt.save(update_fields=["sales_start"])
    tt.event.waitlist_lottery = True
    tt.event.save(update_fields=["waitlist_lottery"])
    return tt, orders


def test_the_lottery_is_drawn_when_sales_open_reproducibly_from_its_recorded_seed() -> None:
    tt, (order,) = lottery_ticket_type()
    early = [join(tt) for _ in range(8)]
    assert ranks(*early) == [None] * 8  # not drawn yet
    opened = tt.sales_start + timedelta(minutes=1)
    with time_machine.travel(opened, tick=False):
        late = join(tt)  # joins after sales opened: behind everyone who registered before
        waitlist_sweep()
    waitlist = Waitlist.objects.get(ticket_type=tt)
    assert waitlist.lottery_drawn_at == opened
    assert waitlist.lottery_cutoff == tt.sales_start
    assert waitlist.lottery_candidates == sorted(e.pk for e in early)
    assert waitlist.lottery_actor is None
    drawn = waitlist.lottery_order
    assert sorted(drawn) == sorted(e.pk for e in early)
    # Anyone can replay it from the recorded seed.
    assert lottery_shuffle(entry_ids=list(reversed(drawn)), seed=waitlist.lottery_seed) == drawn
    assert waitlist_lottery_replay(waitlist=waitlist)
    # The line follows the draw; the late joiner comes after.
    by_id = {e.pk: e for e in early}
    assert ranks(*(by_id[pk] for pk in drawn)) == list(range(1, 9))
    assert ranks(late) == [9]
    (draw,) = WaitlistAction.objects.filter(kind=A.LOTTERY_DRAW)
    assert str(waitlist.lottery_seed) in draw.reason
    # A seat freed now goes to the first one drawn.
    with time_machine.travel(opened + timedelta(minutes=20), tick=False):
        order_cancel(order=order, actor=None)
    assert live_offer(by_id[drawn[0]]) is not None


def test_the_same_seed_gives_the_same_draw_and_a_tampered_record_is_caught() -> None:
    assert lottery_shuffle(entry_ids=[5, 3, 9, 1, 7], seed=42) == lottery_shuffle(
        entry_ids=[1, 3, 5, 7, 9], seed=42
    )
    orders = {lottery_tuple(seed) for seed in range(20)}
    assert len(orders) > 1  # the seed matters
    tt, _ = lottery_ticket_type()
    for _ in range(6):
        join(tt)
    with time_machine.travel(tt.sales_start + timedelta(seconds=1), tick=False):
        waitlist = waitlist_lottery_draw(ticket_type=tt, actor=SuperuserFactory(), seed=1234)
    assert waitlist.lottery_seed == 1234
    assert waitlist.lottery_order == lottery_shuffle(entry_ids=waitlist.lottery_candidates, seed=1234)
    # Drawn once: a second draw changes nothing.
    again = waitlist_lottery_draw(ticket_type=tt, actor=None, seed=99)
    assert (again.lottery_seed, again.lottery_order) == (1234, waitlist.lottery_order)
    Waitlist.objects.filter(pk=waitlist.pk).update(lottery_order=list(reversed(waitlist.lottery_order)))
    waitlist.refresh_from_db()
    assert not waitlist_lottery_replay(waitlist=waitlist)


def lottery_tuple(seed: int) -> tuple[int, ...]:
    return tuple(lottery_shuffle(entry_ids=list(range(10)), seed=seed))
