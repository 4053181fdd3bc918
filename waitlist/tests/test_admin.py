"""The staff admin: waitlists with counts, the line and offers, pause / resume / release / draw behind a
confirmation, moving an entry with an audit row, and organizer isolation."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from accounts.tests.factories import SuperuserFactory, VerifiedUserFactory
from events.models import OrganizerMember
from events.services_admin import organizer_member_grant_staff
from events.tests.factories import OrganizerMemberFactory
from orders.services import order_cancel, order_mark_paid
from waitlist.models import Waitlist, WaitlistAction, WaitlistEntry
from waitlist.tests.factories import counters, join, live_offer, sold_out, state

pytestmark = pytest.mark.django_db
A = WaitlistAction.Kind


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def staff_member(organizer: Any, role: str = OrganizerMember.Role.MANAGER) -> User:
    member = OrganizerMemberFactory(organizer=organizer, role=role, user=VerifiedUserFactory())
    organizer_member_grant_staff(member=member, actor=None)
    return member.user


def busy_waitlist() -> tuple[Any, list[WaitlistEntry]]:
    """Three orders of one seat; four people waiting (2, 1, 1, 1); one offer paid, one live, one withheld."""
    tt, (first, second, _third) = sold_out(1, 1, 1)
    entries = [join(tt, 2), join(tt, 1), join(tt, 1), join(tt, 1)]
    order_cancel(order=first, actor=None)  # 1 seat: entry 2 gets it
    order_mark_paid(order=live_offer(entries[1]).order, provider="card", reference="pi_a")
    order_cancel(order=second, actor=None)  # 1 seat: entry 3
    return tt, entries


def test_the_list_shows_counts_and_conversions(django_assert_max_num_queries: Any) -> None:
    tt, _ = busy_waitlist()
    for _ in range(3):  # more waitlists cost no more queries
        other, _ = sold_out(1)
        join(other)
    client = client_for(SuperuserFactory())
    url = reverse("admin:waitlist_waitlist_changelist")
    with django_assert_max_num_queries(12):
        response = client.get(url)
    assert response.status_code == 200
    assert "Converted (paid)" in response.content.decode()
    (shown,) = [w for w in response.context["cl"].result_list if w.ticket_type_id == tt.pk]
    # Entries 1 (wants 2) and 4 wait; entry 3 has a live offer; entry 2 paid hers.
    assert (shown.waiting, shown.offers_live, shown.offers_accepted, shown.offers_lapsed) == (2, 1, 1, 0)


def test_the_waitlist_page_shows_the_line_offers_and_the_rule() -> None:
    tt, entries = busy_waitlist()
    waitlist = Waitlist.objects.get(ticket_type=tt)
    response = client_for(SuperuserFactory()).get(
        reverse("admin:waitlist_waitlist_change", args=[waitlist.pk])
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert entries[0].email in html
    assert entries[3].email in html
    assert live_offer(entries[2]).order.code in html
    assert "keeps its place" in html  # the partial-fit rule, spelled out


def test_pause_asks_first_then_pauses_with_an_audit_row() -> None:
    tt, _ = busy_waitlist()
    waitlist = Waitlist.objects.get(ticket_type=tt)
    staff = SuperuserFactory()
    client = client_for(staff)
    url = reverse("admin:waitlist_waitlist_pause", args=[waitlist.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert "Pause the waitlist" in page.content.decode()
    waitlist.refresh_from_db()
    assert not waitlist.paused  # a GET changes nothing
    response = client.post(url, {"reason": "sound check"})
    assert response.status_code == 302
    waitlist.refresh_from_db()
    assert waitlist.paused
    (pause,) = WaitlistAction.objects.filter(kind=A.PAUSE)
    assert (pause.actor_id, pause.reason) == (staff.pk, "sound check")
    client.post(reverse("admin:waitlist_waitlist_resume", args=[waitlist.pk]), {"reason": ""})
    waitlist.refresh_from_db()
    assert not waitlist.paused


def test_release_to_the_public_from_the_admin() -> None:
    tt, (first, _) = sold_out(1, 1)
    join(tt, 2)
    order_cancel(order=first, actor=None)
    waitlist = Waitlist.objects.get(ticket_type=tt)
    client = client_for(SuperuserFactory())
    response = client.post(reverse("admin:waitlist_waitlist_release_to_public", args=[waitlist.pk]), {})
    assert response.status_code == 302
    assert counters(tt) == (0, 1, 0)
    messages = [m.message for m in response.wsgi_request._messages]
    assert messages == ["1 withheld seats are on public sale; the waitlist is paused."]


def test_staff_move_an_entry_from_its_page_with_a_reason() -> None:
    tt, _ = sold_out(1)
    a, b, c = join(tt), join(tt), join(tt)
    staff = SuperuserFactory()
    client = client_for(staff)
    url = reverse("admin:waitlist_waitlistentry_move", args=[c.pk])
    assert client.get(url).status_code == 200
    missing_reason = client.post(url, {"position": 1, "reason": ""})
    assert missing_reason.status_code == 200  # the form again, nothing moved
    assert state(c)[1] == 3
    response = client.post(url, {"position": 1, "reason": "wheelchair space"})
    assert response.status_code == 302
    assert [state(e)[1] for e in (a, b, c)] == [2, 3, 1]
    (move,) = WaitlistAction.objects.filter(kind=A.REORDER)
    assert (move.actor_id, move.from_position, move.to_position, move.reason) == (
        staff.pk,
        3,
        1,
        "wheelchair space",
    )
    too_far = client.post(url, {"position": 9, "reason": "x"}, follow=True)
    assert "Choose a position between 1 and" in too_far.content.decode()


def test_another_organizers_staff_see_nothing_and_box_office_cannot_act() -> None:
    tt, (_order,) = sold_out(1)
    entry = join(tt)
    waitlist = Waitlist.objects.get(ticket_type=tt)
    outsider = client_for(staff_member(sold_out(1)[0].event.organizer))
    assert tt.event.title not in outsider.get(reverse("admin:waitlist_waitlist_changelist")).content.decode()
    assert outsider.get(reverse("admin:waitlist_waitlist_change", args=[waitlist.pk])).status_code in (
        302,
        404,
    )
    assert outsider.post(reverse("admin:waitlist_waitlistentry_move", args=[entry.pk]), {}).status_code in (
        403,
        404,
    )
    box_office = client_for(staff_member(tt.event.organizer, role=OrganizerMember.Role.BOX_OFFICE))
    assert box_office.get(reverse("admin:waitlist_waitlist_change", args=[waitlist.pk])).status_code == 200
    refused = box_office.post(reverse("admin:waitlist_waitlist_pause", args=[waitlist.pk]), {"reason": "x"})
    assert refused.status_code == 403
    waitlist.refresh_from_db()
    assert not waitlist.paused
    manager = client_for(staff_member(tt.event.organizer))
    assert manager.post(reverse("admin:waitlist_waitlist_pause", args=[waitlist.pk]), {}).status_code == 302


def test_the_line_button_lists_the_entries_in_order(django_assert_max_num_queries: Any) -> None:
    tt, _ = sold_out(1)
    entries = [join(tt) for _ in range(4)]
    other, _ = sold_out(1)
    stranger = join(other)
    waitlist = Waitlist.objects.get(ticket_type=tt)
    client = client_for(SuperuserFactory())
    response = client.get(reverse("admin:waitlist_waitlist_show_line", args=[waitlist.pk]))
    assert response.status_code == 302
    with django_assert_max_num_queries(12):
        listing = client.get(response["Location"])
    assert listing.status_code == 200
    shown = list(listing.context["cl"].result_list)
    assert [e.pk for e in shown] == [e.pk for e in entries]
    assert [e.rank for e in shown] == [1, 2, 3, 4]
    assert stranger.email not in listing.content.decode()
