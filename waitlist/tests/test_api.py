"""The waitlist API: join (POST /api/v1/waitlist/), mine with positions and live offers (GET), leave
(DELETE /api/v1/waitlist/{id}/); the stable error codes of the waitlist's services."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.models import User
from accounts.tests.factories import UserFactory
from events.models import Event, TicketType
from orders.services import order_cancel, order_mark_paid
from waitlist.models import WaitlistEntry
from waitlist.tests.factories import join, live_offer, sold_out, state

pytestmark = pytest.mark.django_db

WAITLIST = "/api/v1/waitlist/"
PROBLEM = "application/problem+json"
E = WaitlistEntry.Status


def api(user: User | None = None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["code"] == code, body
    return body


def test_join_puts_the_user_in_line_and_answers_their_position() -> None:
    tt, _ = sold_out(1, max_per_order=3)
    join(tt)
    user = UserFactory()
    response = api(user).post(WAITLIST, {"ticket_type": tt.pk, "quantity": 2}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    entry = WaitlistEntry.objects.get(user=user)
    assert body == {
        "id": entry.pk,
        "ticket_type": tt.pk,
        "ticket_type_name": tt.name,
        "event": tt.event.slug,
        "event_title": tt.event.title,
        "starts_at": body["starts_at"],
        "quantity": 2,
        "status": "waiting",
        "position": 2,
        "lottery_pending": False,
        "joined_at": body["joined_at"],
        "offer": None,
    }
    assert body["joined_at"] is not None


@pytest.mark.parametrize(
    ("setup", "payload", "status", "code"),
    [
        ("again", {"quantity": 1}, 409, "waitlist_already_joined"),
        ("sold_out", {"quantity": 5}, 400, "waitlist_quantity_invalid"),
        ("on_sale", {"quantity": 1}, 409, "waitlist_not_sold_out"),
        ("ended", {"quantity": 1}, 409, "waitlist_closed"),
        ("sold_out", {"quantity": 0}, 400, "validation_error"),
        ("unknown", {"quantity": 1}, 400, "ticket_type_unknown"),
        ("draft", {"quantity": 1}, 400, "ticket_type_unknown"),
    ],
)
def test_join_refusals_have_stable_codes(setup: str, payload: dict[str, int], status: int, code: str) -> None:
    tt, _ = sold_out(1, max_per_order=4)
    user = UserFactory()
    ticket_type_id = tt.pk
    if setup == "again":
        mine = join(tt, user=user)
    elif setup == "on_sale":
        TicketType.objects.filter(pk=tt.pk).update(capacity=3)
    elif setup == "ended":
        Event.objects.filter(pk=tt.event_id).update(status=Event.Status.CANCELLED)
    elif setup == "draft":
        Event.objects.filter(pk=tt.event_id).update(status=Event.Status.DRAFT)
    elif setup == "unknown":
        ticket_type_id = 10**12
    before = WaitlistEntry.objects.count()
    response = api(user).post(WAITLIST, {"ticket_type": ticket_type_id, **payload}, format="json")
    body = problem(response, status, code)
    assert WaitlistEntry.objects.count() == before
    if setup == "again":
        assert body["entry_id"] == mine.pk
    if code == "waitlist_quantity_invalid":
        assert body["max_per_order"] == 4


def test_anonymous_clients_are_refused() -> None:
    tt, _ = sold_out(1)
    problem(
        api().post(WAITLIST, {"ticket_type": tt.pk, "quantity": 1}, format="json"), 401, "not_authenticated"
    )
    problem(api().get(WAITLIST), 401, "not_authenticated")


def test_mine_lists_my_active_entries_with_positions_and_live_offers() -> None:
    user = UserFactory()
    waiting_tt, _ = sold_out(1)
    join(waiting_tt)
    waiting = join(waiting_tt, 2, user=user)
    offered_tt, orders = sold_out(2)
    offered = join(offered_tt, 2, user=user)
    order_cancel(order=orders[0], actor=None)
    offer = live_offer(offered)
    assert offer is not None
    other_tt, _ = sold_out(1)
    join(other_tt)  # somebody else's
    left = join(other_tt, user=user)
    api(user).delete(f"{WAITLIST}{left.pk}/")

    body = api(user).get(WAITLIST).json()
    results = {item["id"]: item for item in body["results"]}
    assert list(results) == [offered.pk, waiting.pk]  # newest first, only active ones
    assert (results[waiting.pk]["position"], results[waiting.pk]["offer"]) == (2, None)
    assert results[offered.pk]["status"] == "offered"
    assert results[offered.pk]["position"] is None
    assert results[offered.pk]["offer"] == {
        "order": offer.order.code,
        "quantity": 2,
        "expires_at": results[offered.pk]["offer"]["expires_at"],
        "checkout_url": f"/orders/{offer.order.code}/checkout/",
    }


def test_mine_costs_the_same_queries_for_one_entry_or_many() -> None:
    user = UserFactory()
    client = api(user)
    tt, orders = sold_out(1)
    join(tt, user=user)
    with CaptureQueriesContext(connection) as one:
        client.get(WAITLIST)
    for _ in range(5):
        other, _ = sold_out(1)
        join(other, user=user)
    order_cancel(order=orders[0], actor=None)
    with CaptureQueriesContext(connection) as many:
        response = client.get(WAITLIST)
    assert len(response.json()["results"]) == 6
    assert len(many.captured_queries) <= len(one.captured_queries)


def test_leave_takes_me_out_of_line_and_moves_the_others_up() -> None:
    tt, _ = sold_out(1)
    user = UserFactory()
    mine = join(tt, user=user)
    behind = join(tt)
    response = api(user).delete(f"{WAITLIST}{mine.pk}/")
    assert response.status_code == 204
    assert state(mine) == (E.LEFT, None)
    assert state(behind) == (E.WAITING, 1)
    assert api(user).delete(f"{WAITLIST}{mine.pk}/").status_code == 204  # again: nothing to do


def test_leaving_with_a_live_offer_declines_it_and_the_next_gets_the_seats() -> None:
    tt, orders = sold_out(1)
    user = UserFactory()
    mine = join(tt, user=user)
    behind = join(tt)
    order_cancel(order=orders[0], actor=None)
    assert live_offer(mine) is not None
    assert api(user).delete(f"{WAITLIST}{mine.pk}/").status_code == 204
    assert state(mine)[0] == E.DECLINED
    assert live_offer(behind) is not None


def test_leave_refuses_somebody_elses_entry_and_a_finished_one() -> None:
    tt, orders = sold_out(1)
    user = UserFactory()
    other = join(tt)
    problem(api(user).delete(f"{WAITLIST}{other.pk}/"), 404, "waitlist_entry_not_found")
    problem(api(user).delete(f"{WAITLIST}abc/"), 404, "not_found")
    assert state(other) == (E.WAITING, 1)

    order_cancel(order=orders[0], actor=None)
    offer = live_offer(other)
    assert offer is not None
    order_mark_paid(order=offer.order, provider="card", reference="pi_test_waitlist")
    body = problem(api(other.user).delete(f"{WAITLIST}{other.pk}/"), 409, "waitlist_entry_not_active")
    assert body["entry_status"] == "accepted"
